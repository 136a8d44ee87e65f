"""Fast bulk inserts that still go through PostgreSQL's triggers (so history is kept)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from django.db import connection, models


@contextlib.contextmanager
def immediate_constraints() -> Iterator[None]:
    """Check foreign keys row by row inside the block, instead of at commit.

    Django declares foreign keys ``DEFERRABLE INITIALLY DEFERRED``: each inserted row then
    queues its checks until commit, and PostgreSQL rescans that growing queue at the end of
    every statement, so tens of thousands of rows in one transaction slow down quadratically
    (a minute instead of seconds). Checking immediately keeps every statement equally fast.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def insert_rows(
    model: type[models.Model],
    template: models.Model,
    varying: Sequence[str],
    rows: Sequence[Sequence],
    *,
    chunk: int = 10_000,
    returning: bool = False,
) -> list[int]:
    """Insert ``rows`` (values of the ``varying`` fields, in order), otherwise like ``template``.

    One ``INSERT … SELECT … FROM unnest(arrays)`` per ``chunk`` rows instead of ``bulk_create``:
    building and compiling hundreds of thousands of model instances costs more than the
    database work. The columns come from the model's fields, each prepared by Django as
    ``save()`` would (defaults, ``auto_now``), so a field added later is filled too. The history
    triggers fire for every row as for any insert, and the caller's audit context applies.
    Returns the new primary keys, in row order, when ``returning``.
    """
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    by_name = {f.name: f for f in fields}
    varying_fields = [by_name[name] for name in varying]
    constant = [f for f in fields if f.name not in varying]
    quote = connection.ops.quote_name
    constants = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in constant]
    # Only identifiers and types from the model's own metadata are formatted in; every value
    # is a query parameter.
    sql = (  # noqa: S608
        "INSERT INTO {table} ({columns}) SELECT {constants}{sep}{varying} "
        "FROM unnest({arrays}) WITH ORDINALITY AS u({names}, ord) ORDER BY ord{returning}"
    ).format(
        table=quote(meta.db_table),
        columns=", ".join(quote(f.column) for f in [*constant, *varying_fields]),
        constants=", ".join(f"%s::{f.db_type(connection)}" for f in constant),
        sep=", " if constant else "",
        varying=", ".join(f"u.{quote(f.column)}" for f in varying_fields),
        arrays=", ".join(f"%s::{f.db_type(connection)}[]" for f in varying_fields),
        names=", ".join(quote(f.column) for f in varying_fields),
        returning=f" RETURNING {quote(meta.pk.column)}" if returning else "",
    )
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            columns = [list(column) for column in zip(*part, strict=True)]
            prepared = [
                [f.get_db_prep_save(v, connection) for v in column]
                for f, column in zip(varying_fields, columns, strict=True)
            ]
            cursor.execute(sql, [*constants, *prepared])
            if returning:
                ids.extend(row[0] for row in cursor.fetchall())
    return ids
