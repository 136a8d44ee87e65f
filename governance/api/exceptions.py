"""Every error under ``/api/`` is an RFC 9457 problem details document.

``Content-Type: application/problem+json``, whatever format the request asked for (a CSV,
GeoJSON or YAML request gets its error as a problem too), with the members

* ``type``: a URI reference naming the kind of problem, ``/api/problems/<slug>`` (resolve it
  against the request's URL; the page there describes it, and ``docs/api.md`` lists them all);
* ``title``: the kind's short summary, the same for every occurrence;
* ``status``: the HTTP status code;
* ``detail``: what went wrong with this request, for a person;
* ``code``: a stable machine code (``invalid``, ``not_authenticated``, ``throttled``…);
* ``errors`` (extension, validation only): field name → list of messages, nested as the body;
* further extension members where a kind has them (a version conflict's ``current_version``,
  ``changed_fields`` and ``current``).

Two layers produce them. :func:`exception_handler` (DRF's ``EXCEPTION_HANDLER``) turns every
exception a view raises, Django's own included, into a :class:`ProblemResponse`; it is a plain
Django response rendered here, so no renderer of the requested format ever sees it.
:class:`governance.middleware.ApiProblemMiddleware` rewrites any other error answered under
``/api/`` (an unknown route, a server error, an error response a view built itself, a request
refused before the view) into the same shape with :func:`problem_response`.
"""

import json
from collections.abc import Iterator
from http import HTTPStatus

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, HttpResponse, JsonResponse
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from governance.services import VersionConflict

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "/api/problems/"

#: slug → (status, title, what it means); the slug is the last segment of ``type``.
PROBLEM_TYPES = {
    "validation": (
        400,
        "Invalid request",
        "A parameter or a field of the body has an invalid "
        "value; ``errors`` names each one with its messages.",
    ),
    "unprocessable": (
        422,
        "Unprocessable content",
        "The request is well-formed (it matches the schema) but cannot be applied to the "
        "data as it is: it names a record that does not exist or that you may not see, "
        "repeats one that exists, or breaks a rule of the research (a claim without a "
        "source must stay a draft, a standard needs its kind…); ``errors`` names each "
        "field with its messages.",
    ),
    "malformed-request": (
        400,
        "Malformed request",
        "The request body or a parameter could not "
        "be read at all (invalid JSON, a NUL byte, invalid characters).",
    ),
    "unauthenticated": (
        401,
        "Authentication required",
        "No valid credentials: the token is "
        "missing where one is needed, unknown, expired or revoked, or the "
        'Authorization header is not "Bearer <key>" or "Token <key>".',
    ),
    "forbidden": (
        403,
        "Forbidden",
        "The credentials are valid but do not allow this request "
        "(a missing scope, a CSRF failure of a session).",
    ),
    "not-found": (
        404,
        "Not found",
        "No such resource or route, or a record you may not see "
        "(the two are indistinguishable on purpose).",
    ),
    "method-not-allowed": (
        405,
        "Method not allowed",
        "The resource does not take this method; the Allow header lists those it takes.",
    ),
    "not-acceptable": (
        406,
        "Not acceptable",
        "None of the media types in Accept (or ?format=) is one the resource can answer in.",
    ),
    "version-conflict": (
        409,
        "Version conflict",
        "The record changed since the version the "
        "write started from; nothing was written. ``current`` is the record "
        "now.",
    ),
    "precondition-failed": (
        412,
        "Precondition failed",
        "If-Match no longer matches the record's "
        "ETag; nothing was written. The ETag header is the current tag.",
    ),
    "payload-too-large": (
        413,
        "Payload too large",
        "The request body is larger than the server accepts.",
    ),
    "unsupported-media-type": (
        415,
        "Unsupported media type",
        "The request body is not JSON (Content-Type: application/json).",
    ),
    "throttled": (
        429,
        "Too many requests",
        "Past the rate limit of this token or client "
        "address; Retry-After says how many seconds to wait.",
    ),
    "server-error": (500, "Server error", "A fault on the server; it has been logged."),
    "unavailable": (
        503,
        "Service unavailable",
        "The database is unavailable; retry after Retry-After seconds.",
    ),
}

#: The kind of an error status when nothing more specific is known.
STATUS_TYPES = {status: slug for slug, (status, _title, _text) in reversed(PROBLEM_TYPES.items())}

#: The stable machine code of an error status when the exception gave none.
STATUS_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "throttled",
    500: "server_error",
    503: "unavailable",
}

#: Headers of the original answer a problem keeps (CORS headers are added outside).
KEPT_HEADERS = (
    "www-authenticate",
    "retry-after",
    "allow",
    "vary",
    "etag",
    "cache-control",
    "content-language",
    "ratelimit",
    "ratelimit-policy",
    "x-frame-options",
    "deprecation",
    "sunset",
)


def problem(status: int, *, detail: str = "", code: str = "", slug: str = "", **extra) -> dict:
    """A problem details document (see the module's docstring)."""
    slug = slug or STATUS_TYPES.get(status, "")
    if slug:
        _status, title, _text = PROBLEM_TYPES[slug]
        type_ = TYPE_PREFIX + slug
    else:
        type_, title = "about:blank", _phrase(status)
    document = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code or STATUS_CODES.get(status, "error"),
    }
    document.update(extra)
    return document


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ProblemResponse(HttpResponse):
    """A problem details answer. ``data`` is the document, as DRF responses have it."""

    def __init__(self, document: dict, headers=None):
        super().__init__(
            json.dumps(document, ensure_ascii=False, default=str).encode(),
            status=document["status"],
            content_type=MEDIA_TYPE,
            headers=headers,
        )
        self.data = document


def _text(value) -> str:
    """The first message of a DRF error detail (a string, a list or a dict of them)."""
    while isinstance(value, dict | list):
        if not value:
            return ""
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
    return str(value)


def from_data(status: int, data) -> dict:
    """A problem from the body of an error answer that is not one yet (DRF's shapes)."""
    if isinstance(data, dict) and {"type", "title", "status"} <= data.keys():
        return data
    if isinstance(data, list):
        return problem(status, detail=_text(data), errors={"non_field_errors": data})
    if not isinstance(data, dict):
        return problem(status)
    data = dict(data)
    if isinstance(data.get("errors"), list):
        # A list of row errors (bulk uploads): kept as the extension member it already is.
        errors = data.pop("errors")
        return problem(status, detail=_text(data.pop("detail", errors)), errors=errors, **data)
    if ("detail" in data and status != 400) or set(data) == {"detail"}:
        # A message, with the answer's own extension members (a 409's current record…).
        detail = _text(data.pop("detail"))
        code = data.pop("code", "") if isinstance(data.get("code"), str) else ""
        slug = "version-conflict" if status == 409 and "current_version" in data else ""
        return problem(status, detail=detail, code=code, slug=slug, **data)
    return _validation(data)


#: Error codes of DRF validation that depend on the stored data, not on the request's form: a
#: reference to a record that does not exist (or is hidden), a value that must be unique.
DATA_CODES = frozenset({"does_not_exist", "unique"})


def _codes(codes) -> Iterator[str]:
    if isinstance(codes, dict):
        for value in codes.values():
            yield from _codes(value)
    elif isinstance(codes, list):
        for value in codes:
            yield from _codes(value)
    else:
        yield str(codes)


def against_data(exc: exceptions.ValidationError) -> bool:
    """Whether every error of ``exc`` is about the stored data or a rule of the research
    (422), not about the form of the request (400): errors raised by a model or a service
    (``ATTR_AGAINST_DATA``), or DRF errors whose codes are all in :data:`DATA_CODES`."""
    if getattr(exc, ATTR_AGAINST_DATA, False):
        return True
    codes = list(_codes(exc.get_codes()))
    return bool(codes) and all(code in DATA_CODES for code in codes)


ATTR_AGAINST_DATA = "atlas_against_data"


def _validation(errors: dict, code: str = "invalid", *, status: int = 400) -> dict:
    fields = ", ".join(str(name) for name in errors)
    if status == 422:
        return problem(
            422,
            detail=f"Cannot be applied: {fields}." if fields else "Cannot be applied.",
            code="unprocessable",
            slug="unprocessable",
            errors=errors,
        )
    return problem(
        400,
        detail=f"Invalid value for: {fields}." if fields else "Invalid request.",
        code=code,
        slug="validation",
        errors=errors,
    )


def _from_api_exception(exc: exceptions.APIException, data) -> dict:
    status = exc.status_code
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(data, list):
            data = {"non_field_errors": data}
        return _validation(data, status=422 if against_data(exc) else 400)
    if isinstance(exc, exceptions.ParseError):
        return problem(400, detail=_text(data), code="parse_error", slug="malformed-request")
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else ""
    if isinstance(exc, Conflict):
        return problem(409, detail=_text(data), code=code, slug="version-conflict")
    return problem(status, detail=_text(data), code=code)


def problem_response(status: int, data=None, headers=None) -> ProblemResponse:
    """The problem answer for an error ``status`` whose body (if any, DRF-shaped) is ``data``."""
    return ProblemResponse(from_data(status, data), headers=headers)


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The record was changed by someone else: read it again."
    default_code = "version_conflict"


def exception_handler(exc, context):
    if isinstance(exc, VersionConflict):
        # A write the resource did not answer itself (ServiceWriteMixin does, with the current
        # record): still a 409, never a 400 or a 500. No values: only the fields' labels.
        exc = Conflict(detail=exc.describe(show_values=False, show_editors=False))
    elif isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = exc.message_dict
        else:
            detail = {"non_field_errors": exc.messages}
        # Raised by a model's or a service's rules, after the request passed the serializer:
        # the request was well-formed, the data or the research's rules refuse it (422).
        exc = exceptions.ValidationError(detail=detail)
        setattr(exc, ATTR_AGAINST_DATA, True)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, OverflowError | DataError):
        # A number or date too large for the database, in a filter or a lookup: the client's
        # input, so a 400 (the database's message is not echoed).
        exc = exceptions.ValidationError(
            {"non_field_errors": ["A value in the request is out of range."]}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not a client error: a 500, answered by the middleware as a problem
    headers = {name: value for name, value in response.items() if name.lower() in KEPT_HEADERS}
    return ProblemResponse(_from_api_exception(exc, response.data), headers=headers)


def not_found(request, exception=None):
    """``handler404``: a problem under ``/api/`` (no template involved), Django's page elsewhere."""
    if request.path_info.startswith("/api/"):
        return problem_response(
            404, {"detail": "No API resource at this address: the API root is /api/v1/."}
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def problem_type(request, slug: str) -> JsonResponse:
    """What ``/api/problems/<slug>``, a problem's ``type``, means (``Http404`` if nothing).

    Read-only: any method but GET/HEAD answers a 405 problem naming the allowed ones."""
    if request.method not in ("GET", "HEAD"):
        return problem_response(
            405,
            {"detail": f'Method "{request.method}" not allowed.'},
            headers={"Allow": "GET, HEAD"},
        )
    if slug not in PROBLEM_TYPES:
        raise Http404(slug)
    status, title, text = PROBLEM_TYPES[slug]
    return JsonResponse(
        {"type": TYPE_PREFIX + slug, "status": status, "title": title, "description": text}
    )
