"""Index types shared by the apps' models."""
from django.db import models
from django.db.models.expressions import OrderBy


class _SQLiteVariantIndex(models.Index):
    """An index created in another form on SQLite: subclasses say how in `for_sqlite`."""

    def for_sqlite(self, index: models.Index) -> None:
        raise NotImplementedError

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "sqlite":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        variant = self.clone()
        self.for_sqlite(variant)
        return super(_SQLiteVariantIndex, variant).create_sql(model, schema_editor, using=using, **kwargs)


class NullsLastIndex(_SQLiteVariantIndex):
    """An index ordered `DESC NULLS LAST` where the database allows it.

    SQLite refuses NULLS LAST in an index but sorts NULLs last in a descending order anyway, so there
    the same index is created with plain DESC and still serves the same ORDER BY.
    """

    def for_sqlite(self, index: models.Index) -> None:
        index.expressions = tuple(
            OrderBy(e.expression, descending=e.descending) if isinstance(e, OrderBy) else e for e in index.expressions
        )


class SparseIndex(_SQLiteVariantIndex):
    """An index of only the rows its `condition` keeps (say, a key that is set) where that pays.

    PostgreSQL proves `key = 'x'` implies `NOT key = ''` and uses the smaller index, whose entries are
    also written for fewer rows. SQLite's planner cannot prove that (3.40: a full scan instead), so
    there the same index is created whole.
    """

    def for_sqlite(self, index: models.Index) -> None:
        index.condition = None
