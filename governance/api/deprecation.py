"""Deprecation of API fields and parameters (docs/api.md, "Versions, changes, deprecation").

Within ``/api/v1/`` nothing a client relies on is removed or changes type without warning.
Something that is going is listed in ``settings.API_DEPRECATIONS`` first, for at least six
months, each entry a dict:

* ``path``: a regular expression of the API paths concerned (``^/api/v1/towns/``);
* ``component`` and ``field`` (or ``parameter``): what goes, marked ``deprecated: true`` in
  the OpenAPI schema (:func:`deprecation_schema_hook`);
* ``deprecated``: the day it was deprecated, and ``sunset``: the day it goes (ISO dates);
* ``note``: what to use instead (in the changelog).

Every answer under a matching path then carries ``Deprecation: @<seconds>`` (RFC 9745),
``Sunset: <HTTP date>`` (RFC 8594) and ``Link: </api/v1/schema/>; rel="deprecation"`` (the
schema marks what goes), so a client's logs say so long before anything breaks.
"""

from __future__ import annotations

import datetime
import re
from email.utils import format_datetime

from django.conf import settings

from governance.api.schema import schema_operations

#: Where a client reads what is deprecated: the schema, which marks it (an entry's ``link``
#: may name a page of its own).
SCHEMA_LINK = "/api/v1/schema/"


def _day(text: str) -> datetime.datetime:
    return datetime.datetime.combine(
        datetime.date.fromisoformat(text), datetime.time(), datetime.UTC
    )


def deprecation_headers(path: str) -> dict[str, str]:
    """The headers of the deprecations that concern ``path`` (the earliest dates win)."""
    found = [entry for entry in settings.API_DEPRECATIONS if re.search(entry["path"], path)]
    if not found:
        return {}
    deprecated = min(_day(entry["deprecated"]) for entry in found)
    sunset = min(_day(entry["sunset"]) for entry in found)
    return {
        "Deprecation": f"@{int(deprecated.timestamp())}",
        "Sunset": format_datetime(sunset, usegmt=True),
        "Link": ", ".join(
            sorted({f'<{entry.get("link", SCHEMA_LINK)}>; rel="deprecation"' for entry in found})
        ),
    }


def deprecation_schema_hook(result, generator, request, public, **kwargs):
    """POSTPROCESSING_HOOKS entry: what ``API_DEPRECATIONS`` lists is ``deprecated: true``."""
    schemas = result.get("components", {}).get("schemas", {})
    for entry in settings.API_DEPRECATIONS:
        for name in (entry.get("component"), f"Paginated{entry.get('component')}List"):
            field = schemas.get(name or "", {}).get("properties", {}).get(entry.get("field"))
            if field is not None:
                field["deprecated"] = True
        parameter = entry.get("parameter")
        if not parameter:
            continue
        for path, _method, operation in schema_operations(result):
            if not re.search(entry["path"], path):
                continue
            for item in operation.get("parameters", []):
                if item.get("name") == parameter:
                    item["deprecated"] = True
    return result
