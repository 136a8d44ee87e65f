"""Bulk loading with PostgreSQL ``COPY``, with the audit trail written set-based.

The history triggers of :func:`governance.models.audited` write one event row per inserted row,
inside the insert: right for the admin, the API and imports, but at millions of rows the
trigger call and the event insert cost more than the row itself. For a bulk load:

* :func:`copy_rows` streams rows into a table with ``COPY … FROM STDIN`` and an explicit
  column list (never the table's column order: a column added later, with a database
  default, is simply filled by its default);
* :func:`history_ignored` tells the pghistory triggers of the given models to do nothing
  for the rest of the block (``pgtrigger.ignore``: a transaction-local setting, so other
  sessions keep their triggers and nothing is changed in the schema);
* :func:`write_history` then writes the events those triggers would have written, with one
  ``INSERT … SELECT`` per table: the same columns, the same label, ``NOW()`` and the
  caller's pghistory context (:func:`context_id`);
* :func:`foreign_keys_rebuilt` drops a table's foreign keys for the block and adds them back
  at its end, which checks every row in one join instead of one lookup per row and
  constraint. All of it is transactional: a failure inside ``transaction.atomic`` leaves
  the schema and the data as they were.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

import pgtrigger
from django.db import connection, models
from pghistory import config as pghistory_config
from pghistory import runtime as pghistory_runtime

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value) -> str:
    """One value in ``COPY``'s text format: ``\\N`` for NULL, ``t``/``f``, escaped text."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int | Decimal | float):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).translate(_ESCAPES)


def copy_line(values: Sequence) -> str:
    """A row in ``COPY``'s text format (tab-separated, newline-terminated)."""
    return "\t".join(copy_text(v) for v in values) + "\n"


def columns_of(model: type[models.Model], names: Sequence[str]) -> list[str]:
    """The database columns of ``model``'s fields ``names`` (``"town"`` → ``"town_id"``)."""
    return [model._meta.get_field(name).column for name in names]


def copy_lines(
    table: str, columns: Sequence[str], lines: Iterable[str], *, chunk: int = 100_000
) -> int:
    """``COPY table (columns) FROM STDIN`` the pre-formatted ``lines``; returns their number.

    ``lines`` are :func:`copy_line` strings (or built the same way, faster, by the caller).
    They are sent ``chunk`` lines per ``COPY`` so that memory stays bounded whatever the size.
    """
    quote = connection.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    total = 0
    buffer: list[str] = []
    with connection.cursor() as cursor:
        for line in lines:
            buffer.append(line)
            if len(buffer) >= chunk:
                cursor.copy_expert(sql, io.StringIO("".join(buffer)))
                total += len(buffer)
                buffer = []
        if buffer:
            cursor.copy_expert(sql, io.StringIO("".join(buffer)))
            total += len(buffer)
    return total


def copy_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence], **kwargs
) -> int:
    """``COPY`` ``rows`` (values of ``fields``, in that order) into ``model``'s table."""
    return copy_lines(
        model._meta.db_table, columns_of(model, fields), (copy_line(r) for r in rows), **kwargs
    )


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys from the table's own sequence (safe with concurrent writers),
    so that related rows can be written before or without reading the keys back."""
    if count <= 0:
        return []
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _history_triggers(model: type[models.Model], operation: str | None = None) -> list:
    """The pghistory triggers of ``model`` (those with an event model), for ``operation``."""
    return [
        trigger
        for trigger in getattr(model._meta, "triggers", [])
        if getattr(trigger, "event_model", None) is not None
        and (operation is None or str(trigger.operation) == operation)
    ]


@contextlib.contextmanager
def history_ignored(*tracked: type[models.Model]) -> Iterator[None]:
    """Silence the history triggers of ``tracked`` models until the block ends.

    ``pgtrigger.ignore`` keeps the list in a transaction-local setting that it refreshes before
    each statement Django runs; ``COPY`` goes straight to psycopg2, so the setting is refreshed
    here once (``SELECT 1``) before the block body runs. Statements of other sessions are
    not affected.
    """
    uris = [
        f"{model._meta.label}:{trigger.name}"
        for model in tracked
        for trigger in _history_triggers(model)
    ]
    with pgtrigger.ignore(*uris):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        yield
    # pgtrigger resets the setting when it leaves; make sure the reset reached the server
    # before the next raw COPY.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def context_id() -> str | None:
    """The id of the current ``pghistory.context`` row (created now if needed), or None.

    pghistory passes its context to the database only in front of writing statements, so
    it is passed here explicitly (the same two settings) before ``_pgh_attach_context()``
    upserts the context row, as the first trigger of the context would.
    """
    tracker = getattr(pghistory_runtime._tracker, "value", None)
    if tracker is None:
        return None
    metadata = json.dumps(tracker.metadata, cls=pghistory_config.json_encoder())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pghistory.context_id', %s, true), "
            "set_config('pghistory.context_metadata', %s, true)",
            [str(tracker.id), metadata],
        )
        cursor.execute("SELECT _pgh_attach_context()")
        value = cursor.fetchone()[0]
    return None if value is None else str(value)


def write_history(
    model: type[models.Model],
    *,
    operation: str = "INSERT",
    where: str,
    params: Sequence = (),
    context: str | None,
) -> int:
    """Write, set-based, the events ``model``'s ``operation`` trigger would have written.

    One event per row of ``model``'s table matched by ``where`` (SQL over the table's columns,
    with ``params``): the row's tracked columns, the trigger's label (``insert``,
    ``link.add`` …), ``NOW()`` and ``context``. Call it after the rows are in place for an
    insert, before they go for a delete.
    """
    quote = connection.ops.quote_name
    written = 0
    for trigger in _history_triggers(model, operation):
        event = trigger.event_model
        targets, sources, values = [], [], []
        for f in event._meta.concrete_fields:
            if f.name == "pgh_id":
                continue
            if f.name == "pgh_created_at":
                source = "NOW()"
            elif f.name == "pgh_label":
                source = "%s"
                values.append(trigger.label)
            elif f.name == "pgh_context":
                source = "%s::uuid"
                values.append(context)
            elif f.name == "pgh_obj":
                source = quote(model._meta.pk.column)
            else:
                source = quote(model._meta.get_field(f.name).column)
            targets.append(quote(f.column))
            sources.append(source)
        # Identifiers come from model metadata, ``where`` from the caller's code; values are
        # parameters.
        sql = (
            f"INSERT INTO {quote(event._meta.db_table)} ({', '.join(targets)}) "  # noqa: S608
            f"SELECT {', '.join(sources)} FROM {quote(model._meta.db_table)} WHERE {where}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*values, *params])
            written += cursor.rowcount
    return written


@contextlib.contextmanager
def foreign_keys_rebuilt(model: type[models.Model]) -> Iterator[None]:
    """Drop the foreign keys of ``model``'s table for the block, then add them back.

    Adding a foreign key checks every row with one join, instead of one lookup per inserted
    row and constraint (millions of trigger calls). The definitions are read back from
    ``pg_constraint``, so they come back exactly as they were (name, ``DEFERRABLE``).
    Needs an enclosing transaction: if the block fails, the rollback restores them. The
    table is locked against other sessions (``ACCESS EXCLUSIVE``) until the transaction ends.
    PostgreSQL refuses to alter a table with deferred checks pending, so the checks queued so
    far run first (``SET CONSTRAINTS ALL IMMEDIATE``, then back to ``DEFERRED``, Django's mode).
    """
    table = model._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [table],
        )
        keys = cursor.fetchall()
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, _definition in keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, definition in keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _estimated_rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass", [table]
        )
        return cursor.fetchone()[0]


#: Below this many rows, maintaining the indexes row by row is cheaper than rebuilding them.
REBUILD_INDEXES_FROM = 100_000


@contextlib.contextmanager
def bulk_load(model: type[models.Model], *, rows: int = 0) -> Iterator[None]:
    """Prepare ``model``'s table for a large ``COPY`` of about ``rows`` rows, inside a transaction.

    * its history triggers are disabled (``ALTER TABLE … DISABLE TRIGGER``, by name: other
      triggers, e.g. statement-level ones, keep firing) — the caller writes the events with
      :func:`write_history`;
    * the statement triggers the model names in ``BULK_DEFERRED_TRIGGERS`` (triggers that keep
      derived figures, too costly to run per ``COPY`` chunk) are disabled too, and its
      ``BULK_AFTER_SQL`` recomputes what they keep once, at the end, after the indexes;
    * its foreign keys are dropped and added back (:func:`foreign_keys_rebuilt`);
    * when the load is large (``rows`` ≥ :data:`REBUILD_INDEXES_FROM`) and at least the size of
      the table, its plain secondary indexes (not the primary key, not unique ones, so every
      constraint is still checked row by row) are dropped and built again at the end from
      their own definitions: one sort per index instead of millions of random inserts.

    Everything is DDL inside the caller's transaction: a failure rolls it back. The table and
    the tables it refers to are locked (``ACCESS EXCLUSIVE``) until the transaction ends.
    """
    table = model._meta.db_table
    quote = connection.ops.quote_name
    triggers = [trigger.get_pgid(model) for trigger in _history_triggers(model)]
    triggers += list(getattr(model, "BULK_DEFERRED_TRIGGERS", ()))
    indexes: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name in triggers:
            cursor.execute(f"ALTER TABLE {quote(table)} DISABLE TRIGGER {quote(name)}")
        if rows >= REBUILD_INDEXES_FROM and rows >= _estimated_rows(table):
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
                "AND NOT i.indisunique AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conindid = i.indexrelid) ORDER BY 1",
                [table],
            )
            indexes = cursor.fetchall()
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {name}")
    with foreign_keys_rebuilt(model):
        yield
        with connection.cursor() as cursor:
            if indexes:
                cursor.execute("SELECT current_setting('maintenance_work_mem')")
                memory = cursor.fetchone()[0]
                cursor.execute("SET maintenance_work_mem = '256MB'")
                for _name, definition in indexes:
                    cursor.execute(definition)
                cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [memory])
    with connection.cursor() as cursor:
        if getattr(model, "BULK_AFTER_SQL", None):
            cursor.execute(model.BULK_AFTER_SQL)
        for name in triggers:
            cursor.execute(f"ALTER TABLE {quote(table)} ENABLE TRIGGER {quote(name)}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
