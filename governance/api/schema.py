"""The OpenAPI schema as each viewer may see it (issue 6, quality bar 23).

``/api/v1/schema/`` is generated per request for the viewer who asks
(:func:`governance.access.viewer_level`, which already caps a token by its read scope and a
staff session by its second factor). Below research level the schema leaves out:

* **restricted fields**: every field :mod:`governance.redaction` may hide from the viewer, in
  every component (responses and request bodies, and nested components such as a person
  reference). A field whose level is held on each record (``names_access_level``,
  ``contacts_access_level``, ...) may be hidden on some record at any level below research,
  so it is left out too: the schema never promises a field a response may not carry. The
  policy is read from :mod:`governance.redaction`; nothing here lists field names;
* **research-only parameters**: ``research_only`` filters of the filter set, the
  ``research_ordering_fields`` of ``?ordering=`` and ``?search=`` of views with
  ``research_search_only`` (:mod:`governance.api.views`);
* **operations the viewer cannot call**: each operation is kept only if the view's own
  permission classes let the viewer's request through (drf-spectacular's ``public=False``),
  so anonymous viewers and read-only tokens see no write, and a ``write:indicators`` token
  sees the indicator-value writes only;
* components nothing references any more.

Research-level viewers, and ``manage.py spectacular`` (no request), get the full schema.

The pieces are drf-spectacular's own: :class:`AtlasSchemaGenerator` (the
``DEFAULT_GENERATOR_CLASS``), filter extensions for the parameters, and
:func:`viewer_schema_hook` (a ``POSTPROCESSING_HOOKS`` entry) for the fields. The schema
views in :mod:`governance.api.root` add ``Vary`` and keep non-public schemas out of caches.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.drainage import get_override
from drf_spectacular.extensions import OpenApiFilterExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.plumbing import get_manager, get_view_model
from rest_framework import serializers

from governance.access import LEVELS_FOR, Viewer, viewer_level
from governance.redaction import rules_for

LEVEL_ATTR = "_atlas_schema_level"
REF_PREFIX = "#/components/schemas/"

LEVEL_NOTE = {
    Viewer.PUBLIC: "the public (anonymous visitors and public-level tokens)",
    Viewer.PARTNER: "partners and donors (published public and partner data)",
}


# --- Which viewer ------------------------------------------------------------------------------


HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head")


def schema_operations(result):
    """``(path, method, operation)`` of every operation in a generated schema (the hooks'
    one walk over ``paths``; entries of a path item that are not operations are skipped)."""
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                yield path, method, operation


def success_contents(result):
    """The ``content`` mapping (media type → description) of every 2xx response."""
    for _path, _method, operation in schema_operations(result):
        for code, response in operation.get("responses", {}).items():
            if str(code).startswith("2"):
                yield response.get("content") or {}


def schema_level(view) -> Viewer:
    """The viewer level the schema is being generated for (full schema when unknown)."""
    return getattr(view, LEVEL_ATTR, Viewer.RESEARCH)


class AtlasSchemaGenerator(SchemaGenerator):
    """drf-spectacular's generator, for one viewer.

    With a request (the schema view) the viewer level is that of ``request.user``, and below
    research level only the operations the viewer's permissions allow are kept
    (``public=False``). Without a request (``manage.py spectacular``) the schema is full.
    """

    viewer_level: Viewer = Viewer.RESEARCH

    def get_schema(self, request=None, public=False):
        if request is None:
            self.viewer_level = Viewer.RESEARCH
        else:
            self.viewer_level = viewer_level(getattr(request, "user", None))
            public = self.viewer_level == Viewer.RESEARCH
        return super().get_schema(request=request, public=public)

    def create_view(self, callback, method, request=None):
        view = super().create_view(callback, method, request)
        # Read by the filter extensions below, which see only the view.
        setattr(view, LEVEL_ATTR, self.viewer_level)
        return view


# --- Parameters --------------------------------------------------------------------------------


class LevelAwareDjangoFilterExtension(DjangoFilterExtension):
    """django-filter parameters without the filter set's ``research_only`` filters below
    research level (the filters the filter set itself drops for such viewers)."""

    priority = 1

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs):
        view = auto_schema.view
        model = get_view_model(view)
        if not model:
            return []
        filterset_class = self.target.get_filterset_class(view, get_manager(model).none())
        if not filterset_class:
            return []
        hidden: set[str] = set()
        if schema_level(view) < Viewer.RESEARCH:
            hidden = set(getattr(filterset_class, "research_only", ()))
        result = []
        for field_name, filter_field in filterset_class.base_filters.items():
            if field_name in hidden:
                continue
            result += self.resolve_filter_field(
                auto_schema, model, filterset_class, field_name, filter_field
            )
        return result


class AtlasSearchFilterExtension(OpenApiFilterExtension):
    """``?search=`` only where the view searches, and for this viewer."""

    target_class = "governance.api.views.AtlasSearchFilter"
    match_subclasses = True

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs):
        view = auto_schema.view
        fields = getattr(view, "search_fields", None)
        if not fields:
            return []
        if getattr(view, "research_search_only", False) and schema_level(view) < Viewer.RESEARCH:
            return []
        if getattr(view, "search_key_field", None):
            description = (
                "Any spelling of any name: English, Belarusian or Russian, in Cyrillic, "
                "Latin or Łacinka letters."
            )
        else:
            description = "A search term, matched in: " + ", ".join(fields) + "."
        return [
            {
                "name": self.target.search_param,
                "required": False,
                "in": "query",
                "description": description,
                "schema": {"type": "string"},
            }
        ]


class LevelAwareOrderingExtension(OpenApiFilterExtension):
    """``?ordering=`` naming the fields this viewer may order by (not the view's
    ``research_ordering_fields`` below research level)."""

    target_class = "governance.api.views.LevelAwareOrderingFilter"
    match_subclasses = True

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs):
        view = auto_schema.view
        fields = getattr(view, "ordering_fields", None)
        if isinstance(fields, str) or not fields:
            return []  # no ordering offered (see LevelAwareOrderingFilter.get_valid_fields)
        names = list(fields)
        if schema_level(view) < Viewer.RESEARCH:
            hidden = set(getattr(view, "research_ordering_fields", ()))
            names = [name for name in names if name not in hidden]
        if not names:
            return []
        description = (
            "Which fields to order the results by: one or more of "
            + ", ".join(names)
            + ", separated by commas; a leading '-' orders descending. Anything else is a 400."
        )
        name = "(?:" + "|".join(re.escape(n) for n in names) + ")"
        return [
            {
                "name": self.target.ordering_param,
                "required": False,
                "in": "query",
                "description": description,
                "schema": {"type": "string", "pattern": f"^-?{name}(?:,-?{name})*$"},
            }
        ]


# --- Fields ------------------------------------------------------------------------------------


def _record_levels(model: type[models.Model], attr: str) -> set[str]:
    """Every level a record of ``model`` may hold in ``attr`` (its choices)."""
    try:
        field = model._meta.get_field(attr)
    except FieldDoesNotExist:
        return set()
    return {value for value, _label in (field.choices or ())}


def schema_hidden_fields(model: type[models.Model], level: Viewer) -> set[str]:
    """The fields of ``model`` that :mod:`governance.redaction` may hide from ``level``.

    A rule with a fixed level hides its fields when that level is above the viewer's. A rule
    whose level is held on each record hides them when any level a record may hold is above
    the viewer's (an attribute without choices counts as possibly restricted).
    """
    seen = set(LEVELS_FOR[level])
    hidden: set[str] = set()
    for rule in rules_for(model):
        if rule.level_attr:
            levels = _record_levels(model, rule.level_attr) or {"restricted"}
        else:
            levels = {rule.level_of(None)}
        if not levels <= seen:
            hidden.update(rule.fields)
    return hidden


def _serializer_class(obj) -> type | None:
    cls = obj if isinstance(obj, type) else type(obj)
    return cls if issubclass(cls, serializers.BaseSerializer) else None


def _instance(serializer):
    return serializer() if isinstance(serializer, type) else serializer


def _nested_serializers(serializer) -> Iterator[tuple[type, str]]:
    """(nested serializer class, source) for each field of ``serializer`` that is a
    serializer, a list of serializers, or a field documented as one (``extend_schema_field``,
    e.g. a person reference)."""
    try:
        fields = _instance(serializer).fields
    except Exception:  # a serializer that cannot be built without context is not walked
        return
    for field in fields.values():
        target = field
        if isinstance(field, serializers.ListSerializer | serializers.ListField):
            target = field.child
        nested = _serializer_class(target) if target is not None else None
        if nested is None and target is not None:
            annotated = get_override(type(target), "field", None)
            nested = _serializer_class(annotated) if annotated is not None else None
        if nested is not None and field.source and field.source != "*":
            yield nested, field.source


def _related_model(model: type[models.Model], source: str) -> type[models.Model] | None:
    try:
        field = model._meta.get_field(source.split(".")[0])
    except FieldDoesNotExist:
        return None
    return field.related_model


def component_models(generator, names) -> dict[str, set[type[models.Model]]]:
    """The model(s) each schema component describes.

    A model serializer describes its ``Meta.model``; a plain serializer nested in one (a
    person reference in an appointment) describes the related model of the field it fills.
    """
    serializer_of: dict[str, object] = {}
    for name in names:
        try:
            component = generator.registry[(name, "schemas")]
        except KeyError:
            continue
        if _serializer_class(component.object) is not None:
            serializer_of[name] = component.object

    models_of: dict[type, set[type[models.Model]]] = {}
    for obj in serializer_of.values():
        meta = getattr(_serializer_class(obj), "Meta", None)
        model = getattr(meta, "model", None)
        if model is None:
            continue
        models_of.setdefault(_serializer_class(obj), set()).add(model)
        for nested, source in _nested_serializers(obj):
            related = _related_model(model, source)
            if (
                related is not None
                and getattr(getattr(nested, "Meta", None), "model", None) is None
            ):
                models_of.setdefault(nested, set()).add(related)
    return {
        name: models_of[_serializer_class(obj)]
        for name, obj in serializer_of.items()
        if _serializer_class(obj) in models_of
    }


def _refs(node) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            yield ref[len(REF_PREFIX) :]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def prune_components(result: dict) -> None:
    """Drop the schema components no path (or kept component) refers to any more."""
    schemas = result.get("components", {}).get("schemas", {})
    roots = {key: value for key, value in result.items() if key != "components"}
    roots["other_components"] = {
        kind: value for kind, value in result.get("components", {}).items() if kind != "schemas"
    }
    wanted: set[str] = set()
    queue = list(_refs(roots))
    while queue:
        name = queue.pop()
        if name in wanted or name not in schemas:
            continue
        wanted.add(name)
        queue.extend(_refs(schemas[name]))
    for name in list(schemas):
        if name not in wanted:
            del schemas[name]


def viewer_schema_hook(result, generator, request, public, **kwargs):
    """POSTPROCESSING_HOOKS entry: the schema without what the viewer may not see."""
    # A copy: parts of a schema may be module-level dicts (inline response schemas) that later
    # requests and viewers share; this hook and the next change the copy only.
    result = copy.deepcopy(result)
    level = getattr(generator, "viewer_level", Viewer.RESEARCH)
    if level == Viewer.RESEARCH:
        return result
    schemas = result.get("components", {}).get("schemas", {})
    for name, described in component_models(generator, list(schemas)).items():
        if name.endswith("Request"):
            # What a writer sends is not a read: a field the writer may not read back (a
            # person's names for a partner) is still one it must give.
            continue
        hidden: set[str] = set()
        for model in described:
            hidden |= schema_hidden_fields(model, level)
        component = schemas[name]
        properties = component.get("properties", {})
        for field in hidden & properties.keys():
            del properties[field]
        if "required" in component:
            component["required"] = [f for f in component["required"] if f not in hidden]
            if not component["required"]:
                del component["required"]
    prune_components(result)
    info = result.setdefault("info", {})
    info["description"] = (
        info.get("description", "")
        + "\n\nThis schema shows what "
        + LEVEL_NOTE[level]
        + " may see and do: fields, filters and operations above that level are not listed. "
        "Fields whose level is set on each record (a person's names, a CSO's contacts and "
        "leaders) are not listed either; a response carries them only where the record's "
        "level allows."
    ).strip()
    return result


# --- Errors ------------------------------------------------------------------------------------

_PROBLEM = {
    "type": "object",
    "description": (
        "RFC 9457 problem details, the body of every error (application/problem+json). "
        "See docs/api.md for each type."
    ),
    "properties": {
        "type": {
            "type": "string",
            "format": "uri-reference",
            "example": "/api/problems/validation",
        },
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "example": "invalid"},
    },
    "required": ["type", "title", "status", "detail", "code"],
    "additionalProperties": True,
}
ERROR_COMPONENTS = {
    "PendingReview": {
        "type": "object",
        "description": (
            "202 Accepted: the write is stored as the writer's pending revision and waits for "
            "a reviewer (a change or deletion of a published record or of reference data, or "
            "a new reference record). Nobody else sees it until it is approved."
        ),
        "properties": {
            "detail": {"type": "string"},
            "code": {"type": "string", "enum": ["pending_review"]},
            "revision": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "kind": {"type": "string", "enum": ["change", "delete", "create"]},
                    "fields": {"type": "array", "items": {"type": "string"}},
                    "status": {"type": "string"},
                },
                "required": ["id", "kind", "fields", "status"],
            },
            "current": {
                "type": "object",
                "nullable": True,
                "additionalProperties": True,
                "description": "The record as published (null for a new record).",
            },
        },
        "required": ["detail", "code", "revision", "current"],
    },
    "Problem": _PROBLEM,
    "SavedNotVisible": {
        "type": "object",
        "description": (
            "The write was saved, but the record as it is now is not visible to the writer "
            "(e.g. a partner's new draft waiting for review): nothing of it is echoed."
        ),
        "properties": {"id": {"type": "integer"}, "detail": {"type": "string"}},
        "required": ["id", "detail"],
    },
    "ValidationProblem": {
        "allOf": [
            {"$ref": REF_PREFIX + "Problem"},
            {
                "type": "object",
                "properties": {
                    "errors": {
                        "description": (
                            "Each invalid field or parameter (or non_field_errors) with its "
                            "messages, nested like the request body; a list of row errors "
                            "for bulk uploads."
                        ),
                        "oneOf": [
                            {"type": "object", "additionalProperties": True},
                            {"type": "array", "items": {}},
                        ],
                    }
                },
            },
        ],
    },
}
_JSON = "application/json"
PROBLEM_MEDIA_TYPE = "application/problem+json"


def _error(name: str, description: str, headers: dict | None = None) -> dict:
    response = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": REF_PREFIX + name}}},
    }
    if headers:
        response["headers"] = headers
    return response


def error_responses_hook(result, generator, request, public, **kwargs):
    """POSTPROCESSING_HOOKS entry: the errors every operation can answer, as problem details
    (:mod:`governance.api.exceptions`), where the operation does not document them itself:
    401 (a bad, expired or revoked token, or a malformed Authorization header), 406, 429
    (with ``Retry-After``) and 500 for all; 404 where the path names a record or the list
    pages; 400 for input (query parameters or a body); 403 for writes. Reads are open to
    anonymous clients, so their ``security`` lists ``{}`` (no credentials) besides the
    schemes: the token is optional there."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    retry_after = {"Retry-After": {"schema": {"type": "integer", "minimum": 0}}}
    pending_used = False  # a schema without writes (a reader's) has no 202 to describe
    saved_used = False
    for _path, method, operation in schema_operations(result):
        security = operation.get("security")
        if method in ("get", "head") and security and {} not in security:
            security.append({})
        responses = operation.setdefault("responses", {})
        params = operation.get("parameters", [])
        wanted = {
            "401": _error(
                "Problem",
                "The token is invalid, expired or revoked, or the "
                "Authorization header is not Bearer or Token.",
            ),
            "406": _error("Problem", "No acceptable media type."),
            "429": _error(
                "Problem", "Too many requests; retry after Retry-After seconds.", retry_after
            ),
            "500": _error("Problem", "A server fault (logged)."),
            "503": _error(
                "Problem",
                "The database is unavailable, being restored or migrated; retry after "
                "Retry-After seconds.",
                retry_after,
            ),
        }
        if any(p.get("in") == "path" for p in params) or any(
            p.get("name") in ("page", "cursor") for p in params
        ):
            wanted["404"] = _error("Problem", "No such record or page, or not visible to you.")
        if "requestBody" in operation or any(p.get("in") == "query" for p in params):
            wanted["400"] = _error("ValidationProblem", "Invalid input, with field errors.")
        if any(p.get("in") == "query" for p in params):
            # Answered by the HTTP server (gunicorn) before the atlas sees the request.
            wanted["414"] = {"description": "The URL is longer than the server reads (about 4 KB)."}
        if method in ("post", "put", "patch", "delete"):
            wanted["403"] = _error("Problem", "Writing is not allowed to you.")
            if "bulk" not in operation.get("operationId", ""):
                pending_used = True
                wanted["202"] = {
                    "description": "Saved for review (see PendingReview).",
                    "content": {_JSON: {"schema": {"$ref": REF_PREFIX + "PendingReview"}}},
                }
        if "requestBody" in operation:
            wanted["422"] = _error(
                "ValidationProblem",
                "Well-formed, but the data refuses it: a record named that does not exist "
                "or is hidden from you, a duplicate, or a rule of the research.",
            )
            wanted["413"] = _error("Problem", "The request body is too large.")
            wanted["415"] = _error("Problem", "The request body is not JSON.")
        for code, response in wanted.items():
            responses.setdefault(code, response)
        for code, response in responses.items():
            # An error the view documented itself (409, 412…): its body is a problem too.
            content = response.get("content")
            if content and _JSON in content and str(code).startswith(("4", "5")):
                content[PROBLEM_MEDIA_TYPE] = content.pop(_JSON)
        if method in ("post", "put", "patch") and "bulk" not in operation.get("operationId", ""):
            for code in ("200", "201"):
                content = responses.get(code, {}).get("content", {})
                if _JSON in content and "schema" in content[_JSON]:
                    saved_used = True
                    content[_JSON]["schema"] = {
                        "anyOf": [
                            content[_JSON]["schema"],
                            {"$ref": REF_PREFIX + "SavedNotVisible"},
                        ]
                    }
    for name, component in ERROR_COMPONENTS.items():
        if name == "PendingReview" and not pending_used:
            continue
        if name == "SavedNotVisible" and not saved_used:
            continue
        schemas.setdefault(name, component)
    return result


def _blank_or_uri(node) -> bool:
    """drf-spectacular's form of a URL field that may be blank: ``oneOf`` a URI or ``''``."""
    options = node.get("oneOf") if isinstance(node, dict) else None
    return (
        isinstance(options, list)
        and len(options) == 2
        and any(o.get("format") == "uri" for o in options)
        and any(o.get("maxLength") == 0 for o in options)
    )


def blank_uri_hook(result, generator, request, public, **kwargs):
    """POSTPROCESSING_HOOKS entry: a URL that may be blank as ``anyOf``, not ``oneOf``.

    Validators that treat ``format`` as an annotation (as JSON Schema allows) find ``''`` valid
    under both branches, so ``oneOf`` (exactly one) rejects the blank value the API sends.
    """

    def walk(node):
        if isinstance(node, dict):
            if _blank_or_uri(node):
                node["anyOf"] = node.pop("oneOf")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result.get("components", {}))
    return result


# --- Media types and query parameters ---------------------------------------------------------

CSV_SCHEMA = {
    "type": "string",
    "description": (
        "CSV (RFC 4180, UTF-8, comma-separated, a header row): the same records and fields as "
        "the JSON answer, nested values flattened into columns such as `region.slug`. CSV has "
        "no types: read identifiers as text (see docs/api.md)."
    ),
}
ZIP_SCHEMA = {"type": "string", "format": "binary"}
_NUL_FREE = "^[^\\x00]*$"


def media_types_hook(result, generator, request, public, **kwargs):
    """POSTPROCESSING_HOOKS entry: a CSV answer is described as text, not as the JSON list's
    object (drf-spectacular repeats one schema for every renderer of a view)."""
    for content in success_contents(result):
        if "text/csv" in content:
            content["text/csv"] = {"schema": CSV_SCHEMA}
    return result


def query_parameters_hook(result, generator, request, public, **kwargs):
    """POSTPROCESSING_HOOKS entry: what the server accepts in query and path parameters.

    * An optional query parameter sent empty (``?town=``, as HTML forms send them) counts as
      left out: ``allowEmptyValue``.
    * No text parameter may hold a NUL character (PostgreSQL text cannot; the server answers
      400): a ``pattern`` says so.
    * ``page`` counts from 1.
    * Text a client sends in a body holds no NUL either.
    """
    for _path, _method, operation in schema_operations(result):
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter.get("in") == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
            if parameter.get("in") not in ("query", "path"):
                continue
            if schema.get("type") == "string" and not (
                {"enum", "format", "pattern"} & schema.keys()
            ):
                schema["pattern"] = _NUL_FREE
            if parameter.get("name") == "page" and schema.get("type") == "integer":
                schema.setdefault("minimum", 1)
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if not name.endswith("Request"):  # what a client sends (COMPONENT_SPLIT_REQUEST)
            continue
        properties = component.get("properties", {})
        for key, prop in list(properties.items()):
            if prop.get("type") == "string" and prop.get("format") == "decimal":
                properties[key] = _decimal_request(prop)
            elif prop.get("type") == "string" and not ({"enum", "format", "pattern"} & prop.keys()):
                prop["pattern"] = _NUL_FREE
    return result


_DECIMAL = re.compile(r"^\^-\?\\d\{0,(\d+)\}\(\?:\\\.\\d\{0,(\d+)\}\)\?\$$")


def _decimal_request(prop: dict) -> dict:
    """A decimal a client sends: a decimal text with at least one digit (drf-spectacular's
    pattern also admits ``""``, ``"-"`` and ``"."``, which no decimal field takes), or a whole
    number of as many digits (see governance.api.serializers.json_types)."""
    found = _DECIMAL.match(prop.get("pattern", ""))
    if not found:
        return prop
    whole, places = int(found.group(1)), int(found.group(2))
    text = {
        **{k: v for k, v in prop.items() if k not in ("nullable", "description", "readOnly")},
        "pattern": rf"^-?(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})$",
    }
    number = {"type": "integer", "minimum": -(10**whole - 1), "maximum": 10**whole - 1}
    result = {"anyOf": [text, number]}
    for key in ("nullable", "description"):
        if key in prop:
            result[key] = prop[key]
    return result
