"""CSV for every list of the API (``?format=csv`` or ``Accept: text/csv``).

The renderer writes the very data the JSON response would carry, after the serializers have
dropped what the viewer may not see: the same filters, the same redaction, the same page.

* A list answers the **current page** (``page_size`` up to the API's maximum); the total and the
  neighbouring pages are in the ``X-Total-Count`` and ``Link`` headers, so a client walks the
  pages exactly as with JSON. The whole public dataset, in one file, is the data package
  (``/api/v1/export/datapackage.zip``).
* Nested values are flattened: ``{"region": {"slug": "brest"}}`` becomes a column
  ``region.slug``; a list of plain values is joined with ``"; "``; a list of objects is written
  as JSON text in one cell.
* Cells that a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return) are prefixed with ``'`` (OWASP "CSV injection"). A plain
  number such as ``-0.5`` is left alone: it is a value, not a formula.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer

from governance.access import Viewer, viewer_level
from governance.redaction import note_restricted_read, restricted_fields_shown

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# ASCII digits, to the very end (``$`` would accept a trailing newline): the data package
# writes its big tables with PostgreSQL (csos.exports.copy_csv), whose test must agree.
PLAIN_NUMBER_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_PLAIN_NUMBER = re.compile(PLAIN_NUMBER_PATTERN[:-1] + r"\Z")
LIST_SEPARATOR = "; "


def neutralise(value: str) -> str:
    """``value`` made safe to open in a spreadsheet (see the module docstring)."""
    if value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return neutralise(str(value))


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """One flat mapping of column name to cell value (see the module docstring)."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, prefix=f"{name}."))
        elif isinstance(value, list | tuple):
            if all(not isinstance(v, Mapping | list | tuple) for v in value):
                flat[name] = LIST_SEPARATOR.join(_cell(v) for v in value)
            else:
                flat[name] = json.dumps(value, ensure_ascii=False, default=str)
        else:
            flat[name] = value
    return flat


def rows_of(data: Any) -> list[Mapping[str, Any]]:
    """The records of a response: a page's ``results``, a plain list, or one object."""
    if isinstance(data, Mapping) and isinstance(data.get("results"), list):
        data = data["results"]
    if isinstance(data, Mapping):
        return [data]
    if isinstance(data, list):
        return [r if isinstance(r, Mapping) else {"value": r} for r in data]
    return [] if data is None else [{"value": data}]


def write_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV text of ``rows``: a header with every column seen, in order of first appearance."""
    flat_rows = [flatten(r) for r in rows]
    columns: dict[str, None] = {}
    for r in flat_rows:
        columns.update(dict.fromkeys(r))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in columns])
    for r in flat_rows:
        writer.writerow([_cell(r.get(c)) for c in columns])
    return out.getvalue()


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        renderer_context = renderer_context or {}
        response = renderer_context.get("response")
        if response is not None and isinstance(data, Mapping) and "results" in data:
            links = [
                f'<{data[rel]}>; rel="{rel}"'
                for rel in ("next", "previous")
                if isinstance(data.get(rel), str)
            ]
            if links and not response.has_header("Link"):  # the paginator's, if set
                response["Link"] = ", ".join(links)
            if isinstance(data.get("count"), int):
                response["X-Total-Count"] = str(data["count"])
        if response is not None and response.status_code < 400:
            view = renderer_context.get("view")
            name = getattr(view, "basename", None) or "data"
            response["Content-Disposition"] = f'inline; filename="{name}.csv"'
        return write_csv(rows_of(data)).encode(self.charset)


class ZipRenderer(BaseRenderer):
    """Passes a prebuilt zip file through; an error body (a dict) is written as JSON text."""

    media_type = "application/zip"
    format = "zip"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, bytes):
            return data
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data, default=str).encode("utf-8")


class AtlasBrowsableAPIRenderer(BrowsableAPIRenderer):
    """The browsable API, without forms for anyone who may not read every field of a record.

    DRF fills its HTML and raw-data forms from the *write* serializer, which holds every field
    (notes, person ids, contacts, sources) unredacted. So forms are drawn only for research-
    level viewers, who may read everything, and the restricted fields such a form shows are
    noted for the access log like any other read; every other viewer gets the page with the
    (redacted) response and no form at all.
    """

    def show_form_for_method(self, view, method, request, obj):
        if viewer_level(getattr(request, "user", None)) != Viewer.RESEARCH:
            return False
        shown = super().show_form_for_method(view, method, request, obj)
        if shown and isinstance(obj, models.Model):
            note_restricted_read(request, obj, restricted_fields_shown(obj, request.user))
        return shown
