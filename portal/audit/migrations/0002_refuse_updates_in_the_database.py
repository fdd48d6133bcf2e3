"""The database itself refuses to change an audit entry (raw SQL and other programs included).

Deletion stays possible: the retention purge removes old entries. PostgreSQL and SQLite both get a
BEFORE UPDATE trigger; other databases rely on the model and its queryset.
"""
from django.db import migrations

POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION audit_entry_refuse_update() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit entries cannot be changed'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
       FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_update()""",
]
POSTGRESQL_UNDO = [
    "DROP TRIGGER IF EXISTS audit_entry_no_update ON audit_auditentry",
    "DROP FUNCTION IF EXISTS audit_entry_refuse_update()",
]
SQLITE = ["""CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
             BEGIN SELECT RAISE(ABORT, 'audit entries cannot be changed'); END"""]
SQLITE_UNDO = ["DROP TRIGGER IF EXISTS audit_entry_no_update"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)
    return run


class Migration(migrations.Migration):

    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_UNDO, "sqlite": SQLITE_UNDO}),
        ),
    ]
