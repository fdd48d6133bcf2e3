"""Statements the hot paths run often, prepared once per PostgreSQL connection (issue 13)."""
from __future__ import annotations

import functools

from django.db import IntegrityError, connection, connections, models, router, transaction
from django.db.models import signals
from django.db.transaction import TransactionManagementError

from webhooks.pipeline import cursor_for, execute_deferred, name_logged, next_id, row_changed


def fetch_prepared(db, sql: str, params: tuple) -> list[tuple]:
    """Rows of one statement prepared once per PostgreSQL connection (see execute_returning)."""
    with cursor_for(db) as cursor:
        cursor.execute(sql, params)
        name_logged(db, sql, params)
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


def execute_prepared(db, sql: str, params: tuple) -> int:
    """Run one statement prepared once per PostgreSQL connection; the number of rows it changed."""
    with cursor_for(db) as cursor:
        cursor.execute(sql, params)
        name_logged(db, sql, params)
        return cursor.rowcount


_NOT_SAVED = "Save with update_fields did not affect any rows."  # Django's words


def save_fields(obj: models.Model, fields) -> None:
    """`obj.save(update_fields=fields)`, on PostgreSQL as one statement prepared per model and field list.

    A drain saves a call leg about once per event: Django compiled each UPDATE anew, 0.39 ms of CPU
    against 0.10 ms for the prepared statement (measured, issue 25). The same values reach the row
    (each field's pre_save and get_db_prep_save); a model with its own save() or with save signals
    goes through Django's save as before, and so does every save on SQLite.
    """
    model = type(obj)
    db = connections[obj._state.db or router.db_for_write(model, instance=obj)]
    names = tuple(dict.fromkeys(fields))
    if not names:
        return
    if not _plain(model, db):
        obj.save(update_fields=list(names))
        return
    concrete = [model._meta.get_field(name) for name in names]
    params = tuple(field.get_db_prep_save(field.pre_save(obj, False), connection=db) for field in concrete)
    # In a drain's batch the UPDATE is pipelined (webhooks/pipeline.py): the drain goes on without its answer.
    execute_deferred(db, _update_sql(model, names), (*params, obj.pk), row_changed(_NOT_SAVED))


@functools.lru_cache(maxsize=512)
def _update_sql(model: type[models.Model], names: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(f"{quote(model._meta.get_field(name).column)} = %s" for name in names)
    return f"UPDATE {quote(model._meta.db_table)} SET {columns} WHERE {quote(model._meta.pk.column)} = %s"


def insert_row(obj: models.Model) -> None:
    """`obj.save(force_insert=True)` of a new row, on PostgreSQL as one INSERT prepared per model.

    Every column is written (as Django's insert does, each field's pre_save with add=True) and the
    primary key is read back. A drain inserts a leg, a participant or a queue stay for about one
    event in four; Django compiled each INSERT anew. Same fallbacks as save_fields.
    """
    model = type(obj)
    db = connections[obj._state.db or router.db_for_write(model, instance=obj)]
    if not _plain(model, db):
        obj.save(force_insert=True)
        return
    meta = model._meta
    if obj.pk is None and meta.auto_field is meta.pk and (pk := next_id(model)) is not None:
        # In a drain's batch: the id comes from the sequence beforehand, so the INSERT is pipelined too.
        setattr(obj, meta.pk.attname, pk)
        params = tuple(field.get_db_prep_save(field.pre_save(obj, True), connection=db) for field in meta.local_concrete_fields)
        execute_deferred(db, _insert_sql(model, tuple(field.name for field in meta.local_concrete_fields), returning=False), params)
    else:
        fields = [f for f in meta.local_concrete_fields if not (f is meta.auto_field and obj.pk is None)]
        params = tuple(field.get_db_prep_save(field.pre_save(obj, True), connection=db) for field in fields)
        ((pk,),) = fetch_prepared(db, _insert_sql(model, tuple(field.name for field in fields)), params)
        setattr(obj, meta.pk.attname, pk)
    obj._state.adding, obj._state.db = False, db.alias


def insert_unless_present(obj: models.Model, unique: str) -> bool:
    """Insert a new row unless one with its `unique` value is there already; True if inserted (`obj` is it).

    One statement where get_or_create sends four (its SELECT, a savepoint, the INSERT, the release):
    for a row several drains may create at once (a conference its participants name in every
    partition), `INSERT ... ON CONFLICT (<unique>) DO NOTHING` with the id from the sequence, answered
    at once. Where the row was there, the caller loads it. Outside PostgreSQL (or for a model with its
    own save or save signals), a savepoint around Django's insert.
    """
    model = type(obj)
    db = connections[obj._state.db or router.db_for_write(model, instance=obj)]
    meta = model._meta
    if not _plain(model, db) or meta.auto_field is not meta.pk or obj.pk is not None:
        given = obj.pk
        try:
            with transaction.atomic(using=db.alias):
                obj.save(force_insert=True)
        except IntegrityError:
            if not model._default_manager.using(db.alias).filter(**{unique: getattr(obj, unique)}).exists():
                raise  # another constraint failed, not the clash this asks about
            obj.pk, obj._state.adding = given, True
            return False
        return True
    conflict = f" ON CONFLICT ({connection.ops.quote_name(meta.get_field(unique).column)}) DO NOTHING"
    if (pk := next_id(model)) is not None:  # in a drain's batch: the id from the sequence, no RETURNING
        setattr(obj, meta.pk.attname, pk)
        fields = meta.local_concrete_fields
        params = tuple(field.get_db_prep_save(field.pre_save(obj, True), connection=db) for field in fields)
        inserted = execute_prepared(db, _insert_sql(model, tuple(f.name for f in fields), returning=False) + conflict, params) == 1
    else:
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
        params = tuple(field.get_db_prep_save(field.pre_save(obj, True), connection=db) for field in fields)
        names = tuple(f.name for f in fields)
        returned = fetch_prepared(db, f"{_insert_sql(model, names, returning=False)}{conflict} RETURNING {connection.ops.quote_name(meta.pk.column)}", params)
        inserted = bool(returned)
        if inserted:
            setattr(obj, meta.pk.attname, returned[0][0])
    if not inserted:
        setattr(obj, meta.pk.attname, None)
        return False
    obj._state.adding, obj._state.db = False, db.alias
    return True


def save_row(obj: models.Model) -> None:
    """`obj.save()`: a new row inserted, a loaded one's every column written (see insert_row, save_fields)."""
    if obj._state.adding:
        insert_row(obj)
    else:
        save_fields(obj, [f.name for f in obj._meta.local_concrete_fields if not f.primary_key])


def _plain(model: type[models.Model], db) -> bool:
    """Whether a save of `model` is only its statement: PostgreSQL, no save() of its own, no save signals."""
    return (db.vendor == "postgresql" and model.save is models.Model.save and not model._meta.parents
            and not signals.pre_save.has_listeners(model) and not signals.post_save.has_listeners(model))


@functools.lru_cache(maxsize=64)
def _insert_sql(model: type[models.Model], names: tuple[str, ...], *, returning: bool = True) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in names)
    values = ", ".join(["%s"] * len(names))
    pk = quote(model._meta.pk.column)
    insert = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({values})"
    return f"{insert} RETURNING {pk}" if returning else insert


def select_rows(model: type[models.Model], field: str, keys, *, lock: bool = False, no_key: bool = False) -> list[models.Model]:
    """`model.objects.filter(<field>__in=keys).order_by("pk")` (`select_for_update(no_key=no_key)` with `lock`), as objects.

    On PostgreSQL one SQL text per model, field and lock, built once, its rows made into objects as
    Django's iterator makes them (each field's converters, then `from_db`). A batch loads its legs this
    way: Django compiled the SELECT of the leg's ~50 columns anew for every batch (10 legs: 1.5 ms of
    CPU, 0.6-0.8 ms this way; measured, issue 25).
    """
    db = connections[router.db_for_write(model) if lock else router.db_for_read(model)]
    keys = list(keys)
    if db.vendor != "postgresql" or model._meta.parents:
        found = model._default_manager.using(db.alias).filter(**{f"{field}__in": keys}).order_by("pk")
        return list(found.select_for_update(no_key=no_key) if lock else found)
    if lock and db.get_autocommit():
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")  # Django's words
    # Bound on the client, not prepared: a prepared statement's generic plan, made while a table was small
    # (a fresh install, the bench's first minute), kept seq-scanning it as it grew, until the next ANALYZE.
    with db.cursor() as cursor:
        cursor.execute(_select_sql(model, field, ("FOR NO KEY UPDATE" if no_key else "FOR UPDATE") if lock else ""), [keys])
        return objects_from_rows(model, tuple(model._meta.concrete_fields), db, cursor.fetchall())


def objects_from_rows(model: type[models.Model], fields: tuple, db, rows) -> list[models.Model]:
    """Rows of `fields`' columns (in that order) as objects, as Django's iterator makes them: each field's
    converters, then `from_db` (the fields left out are deferred)."""
    names, converters = _shape(model, fields, db.alias)
    made = []
    for row in rows:
        values = list(row)
        for position, steps, column in converters:
            value = values[position]
            for step in steps:
                value = step(value, column, db)
            values[position] = value
        made.append(model.from_db(db.alias, names, values))
    return made


@functools.lru_cache(maxsize=64)
def _select_sql(model: type[models.Model], field: str, lock: str) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in model._meta.concrete_fields)
    sql = (f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.get_field(field).column)} = ANY(%s) "
           f"ORDER BY {quote(model._meta.pk.column)}")
    return f"{sql} {lock}" if lock else sql


@functools.lru_cache(maxsize=64)
def _shape(model: type[models.Model], fields: tuple, alias: str) -> tuple[list[str], list[tuple]]:
    """The attribute names `from_db` takes, and per column the converters Django's compiler would apply."""
    db = connections[alias]
    converters = []
    for position, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        steps = db.ops.get_db_converters(column) + column.get_db_converters(db)
        if steps:
            converters.append((position, tuple(steps), column))
    return [f.attname for f in fields], converters
