"""Statements the hot paths run often, prepared once per PostgreSQL connection (issue 13)."""
from __future__ import annotations

import psycopg


def fetch_prepared(db, sql: str, params: tuple) -> list[tuple]:
    """Rows of one statement prepared once per PostgreSQL connection (see execute_returning)."""
    db.ensure_connection()
    with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall() if cursor.description else []


def execute_returning(db, sql: str, params: tuple) -> bool:
    """Run one statement with RETURNING; True if it returned a row.

    On PostgreSQL through a server-side binding cursor, prepared once per connection: Django's default
    client-side binding quotes every parameter into the SQL text in Python and has the server parse
    and plan it again on every delivery (issue 13). Driver errors still surface as Django's.
    """
    if db.vendor == "postgresql":
        return bool(fetch_prepared(db, sql, params))
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None
