"""Index types shared by the apps' models."""
from django.db import models
from django.db.models.expressions import OrderBy


class NullsLastIndex(models.Index):
    """An index ordered `DESC NULLS LAST` where the database allows it.

    SQLite refuses NULLS LAST in an index but sorts NULLs last in a descending order anyway, so there
    the same index is created with plain DESC and still serves the same ORDER BY.
    """

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "sqlite":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        plain = self.clone()
        plain.expressions = tuple(
            OrderBy(e.expression, descending=e.descending) if isinstance(e, OrderBy) else e for e in self.expressions
        )
        return super(NullsLastIndex, plain).create_sql(model, schema_editor, using=using, **kwargs)
