"""List rows written as JSON by PostgreSQL, byte for byte as the serializer and renderer would.

A page of the town list cost about 7 ms uncached at the scale data, against under 4 ms for the
same rows written by ``json_agg`` (issue 19, ``make bench``): Django built a model instance for
each town, its region and its district, and the serializer turned each into a dict for the
renderer to encode. Here the query that reads the page also writes each row's JSON text, and
Python only joins the texts into the page.

One definition for both: :func:`row_json` reads the serializer's own fields (their names,
order, sources and types) and writes each with the SQL that gives DRF's text for that type
(``governance/migrations/0010_json_text_functions.py``). A field type it does not know is
refused (:class:`NotRendered`), never guessed; a field that needs more than its column (a
property, an annotation) is given by the caller as an expression. ``tests/api/
test_rendered_rows.py`` holds the texts to the serializer and renderer, byte for byte, for every
town of the demo data and for edge values (white space of every kind, quotes and control
characters, whole and tiny numbers, timestamps with and without microseconds, empty values).

Only for serializers whose every field reads the row and its forward relations, the same for
every viewer (public place data); a redacting serializer (research records) is not rendered
here.
"""

from __future__ import annotations

import functools
import json
import zoneinfo

from django.db.models import Expression, F, Func, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from governance.api.etag import JSONTexts


class NotRendered(Exception):
    """The serializer has a field this module cannot write in SQL exactly as DRF does."""


class Joined(Func):
    """``a || b || …``: NULL when any part is NULL (Django's Concat makes NULL an empty text)."""

    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = TextField()


def _sql_func(name: str, *args) -> Func:
    return Func(*args, function=name, output_field=TextField())


def json_scalar(expression) -> Expression:
    """A string, whole number or boolean as JSON text (``null`` for NULL)."""
    return Coalesce(
        Cast(_sql_func("to_json", expression), TextField()),
        Value("null"),
        output_field=TextField(),
    )


def json_string(expression) -> Expression:
    """Any value as a JSON string of its text (``str(value)`` for DRF's CharField)."""
    return json_scalar(Cast(expression, TextField()))


def json_float(expression) -> Expression:
    """Python's ``repr`` of ``float(value)``; NULL (the row refused) for a non-finite one."""
    return Func(
        expression,
        template="atlas_json_float((%(expressions)s)::double precision)",
        output_field=TextField(),
    )


def json_datetime(expression, zone: str) -> Expression:
    """``isoformat()`` in ``zone`` with ``Z`` for UTC, as DRF's DateTimeField writes it."""
    return _sql_func("atlas_json_datetime", expression, Value(zone))


def json_lines(expression) -> Expression:
    """The non-blank lines of a text, each stripped, as a JSON array of strings."""
    return _sql_func("atlas_json_lines", expression)


def rendered_zone() -> str:
    """The name of the time zone DRF writes times in now (the request's), for
    :func:`row_json`; :class:`NotRendered` when PostgreSQL could not know it by that name."""
    zone = timezone.get_current_timezone()
    if not isinstance(zone, zoneinfo.ZoneInfo) or not zone.key or not zone_known(zone.key):
        raise NotRendered(f"time zone {zone!r} has no name PostgreSQL knows")
    return zone.key


@functools.cache
def zone_known(name: str) -> bool:
    """Whether PostgreSQL knows the time zone ``name`` (its zone data may be older or newer
    than Python's): asked once per process and name, so that a zone it does not know sends
    the lists the serializer's way instead of failing their query."""
    from django.db import DatabaseError, connection, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT now() AT TIME ZONE %s", [name])
    except DatabaseError:
        return False
    return True


def _path(field) -> str:
    if field.source == "*":
        raise NotRendered(f"{field.field_name}: a field of the whole row")
    return "__".join(field.source_attrs)


def _related(field, path: str, name: str) -> Expression:
    """``name`` of the row a forward foreign key ``path`` points at, as a subquery by its key
    (an index lookup; a join would also go into the list's count and keys)."""
    from django.db.models import OuterRef, Subquery

    if "__" in path:
        raise NotRendered(f"{field.field_name}: a relation of a relation")
    model = field.parent.Meta.model
    relation = model._meta.get_field(path)
    if not relation.many_to_one:
        raise NotRendered(f"{field.field_name}: not a forward foreign key")
    rows = relation.related_model._base_manager.order_by()
    return Subquery(rows.filter(pk=OuterRef(relation.attname)).values(name)[:1])


def field_json(field, zone: str) -> Expression:
    """The SQL writing ``field`` of a row as DRF's JSON text (times in ``zone``)."""
    path = _path(field)
    kind = type(field)
    if kind is serializers.SlugRelatedField:
        return json_string(_related(field, path, field.slug_field))
    if kind is serializers.PrimaryKeyRelatedField:
        return json_scalar(F(path))
    if kind is serializers.ChoiceField:
        if not all(isinstance(key, str) for key in field.choices):
            raise NotRendered(f"{field.field_name}: choices that are not strings")
        return json_string(F(path))
    if kind in (
        serializers.CharField,
        serializers.SlugField,
        serializers.URLField,
        serializers.EmailField,
    ):
        return json_string(F(path))
    if kind in (serializers.IntegerField, serializers.BooleanField):
        return json_scalar(F(path))
    if kind is serializers.BigIntegerField:
        if getattr(field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING):
            raise NotRendered(f"{field.field_name}: a big integer written as a string")
        return json_scalar(F(path))
    if kind is serializers.FloatField:
        return json_float(F(path))
    if kind is serializers.DateTimeField:
        output = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if output != ISO_8601 or getattr(field, "timezone", None) is not None:
            raise NotRendered(f"{field.field_name}: a DateTimeField not in ISO 8601 as DRF's")
        return json_datetime(F(path), zone)
    raise NotRendered(f"{field.field_name}: {kind.__name__} is not written in SQL")


def row_json(
    serializer_class, *, zone: str, special: dict[str, Expression] | None = None
) -> Expression:
    """An expression writing a row as ``serializer_class`` and DRF's JSONRenderer would, for
    a queryset of the serializer's model, its times in ``zone`` (:func:`rendered_zone`);
    ``special`` gives the SQL of fields that read more than a column (e.g. a property), by
    field name."""
    special = special or {}
    fields = serializer_class().fields
    parts: list[Expression] = []
    for number, (name, field) in enumerate(fields.items()):
        if field.write_only:
            continue
        if any(c in name for c in '"\\') or any(ord(c) < 32 for c in name):
            raise NotRendered(f"{name!r}: a name JSON would escape")
        parts.append(Value(("{" if number == 0 else ",") + f'"{name}":'))
        parts.append(special[name] if name in special else field_json(field, zone))
    if not parts:
        raise NotRendered("a serializer without fields")
    parts.append(Value("}"))
    return Joined(*parts)


class RowTexts:
    """The JSON text of each row of a queryset, as one compiled annotation.

    Compiling the text's expression (tens of nested functions) costs more than PostgreSQL's
    writing of a page: it is compiled once, here, and given to each page's query as raw SQL
    (:attr:`annotation`). It reads the row's own columns and its related rows by key
    (subqueries: joins would also go into the list's count and keys), so it holds for any
    query whose rows are this model's table under its own name, as Django's are."""

    def __init__(self, model, expression: Expression, using: str = "default"):
        query = model._base_manager.order_by().annotate(atlas_json=expression)
        compiler = query.values("atlas_json").query.get_compiler(using)
        select, _, _ = compiler.get_select()
        joined = [alias for alias, count in compiler.query.alias_refcount.items() if count]
        if joined != [model._meta.db_table]:
            raise NotRendered(f"the text joins other tables: {joined}")
        sql, params = compiler.compile(select[0][0])
        self.sql, self.params = sql, tuple(params)

    @property
    def annotation(self) -> RawSQL:
        """``queryset.annotate(atlas_json=texts.annotation)``: each row with its text (None
        when PostgreSQL refused a value of the row: see :func:`rows_as_rendered`)."""
        # Compiled by Django from the expression above; its values are parameters.
        return RawSQL(self.sql, self.params, output_field=TextField())  # noqa: S611


class RenderedRows(JSONTexts):
    """Rows written as JSON text by PostgreSQL (:func:`row_json`, a town's series): the JSON
    renderer puts them in as they are, and the ETag hashes them as they are."""


def rows_as_rendered(texts) -> RenderedRows | None:
    """The texts of a page's rows (:attr:`RowTexts.annotation`), or None when PostgreSQL
    refused one (a value JSON cannot hold): the caller then takes the serializer's way, and
    its error."""
    rows = RenderedRows(texts)
    return None if None in rows else rows


class AtlasJSONRenderer(JSONRenderer):
    """DRF's JSON renderer, which also writes a body whose last member holds
    :class:`~governance.api.etag.JSONTexts` (rows already written as compact JSON): the rest
    is rendered as always and the texts are put in as they are (with U+2028 and U+2029
    escaped, as DRF escapes them in every body). Asked for another layout
    (``indent``, or settings that are not compact UTF-8), the texts are read and rendered the
    usual way."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        texts = None
        if isinstance(data, dict) and data:
            last = next(reversed(data))
            texts = data[last] if isinstance(data[last], JSONTexts) else None
        if texts is None:
            return super().render(data, accepted_media_type, renderer_context)
        as_is = (
            self.compact
            and not self.ensure_ascii
            and not self.get_indent(accepted_media_type, renderer_context or {})
        )
        if not as_is:
            rows = [json.loads(t) for t in texts]
            return super().render({**data, last: rows}, accepted_media_type, renderer_context)
        head = super().render({**data, last: []}, accepted_media_type, renderer_context)
        # As DRF's renderer does with the whole body: valid JSON, not valid JavaScript before
        # ES2019.
        joined = texts.joined().replace(b"\xe2\x80\xa8", b"\\u2028")
        joined = joined.replace(b"\xe2\x80\xa9", b"\\u2029")
        return head[:-3] + b"[" + joined + b"]}"
