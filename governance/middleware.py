"""Middleware of the platform core."""

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.utils.cache import patch_cache_control, patch_vary_headers


class PrivateDataNoStoreMiddleware:
    """Responses to a signed-in viewer may carry non-public data: no cache may keep them.

    Anonymous responses hold public data only (the visibility policy sees to that), so they
    stay cacheable. Token-authenticated API responses are marked by the API layer, which knows
    the viewer only after authentication.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or request.path.startswith("/admin/"):
            patch_cache_control(response, no_store=True, private=True)
        return response


class RestrictedReadLogMiddleware:
    """Write the access log of every response that showed restricted fields (pages, exports).

    Whatever builds a response notes the restricted fields it showed
    (:func:`governance.redaction.note_restricted_read`, done by :func:`redacted`, the API
    serializers and the exports); this writes them, one row per record, once the response is
    built. The API views write theirs themselves; what is left is written here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from governance.redaction import flush_restricted_reads

        response = self.get_response(request)
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        flush_restricted_reads(request)
        return response


class ApiProblemMiddleware:
    """Every error answered under ``/api/`` is a problem details document (RFC 9457).

    The API's exception handler already answers the errors its views raise
    (:mod:`governance.api.exceptions`); this catches the rest, whatever produced it: an unknown
    route (``/api/v2/``, ``/api/v1/nope/``), a server error, a request refused before any view
    (an invalid character, a throttled read of the short-cut) or an error response a view built
    itself. Placed right inside CORS so that every layer below it is covered. It also adds
    the ``RateLimit`` headers of the request's budget to every API answer
    (:func:`governance.api.throttling.rate_limit_headers`).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path_info.startswith("/api/"):
            return response
        from governance.api.throttling import rate_limit_headers

        for name, value in rate_limit_headers(request).items():
            response[name] = value
        from governance.api.deprecation import deprecation_headers

        for name, value in deprecation_headers(request.path_info).items():
            existing = response.get(name) if name == "Link" else None
            response[name] = f"{existing}, {value}" if existing else value
        if response.status_code < 400 or response.get("Content-Type", "").startswith(
            "application/problem+json"
        ):
            return response
        from governance.api.exceptions import KEPT_HEADERS, problem_response

        data = getattr(response, "data", None)
        if data is None and response.get("Content-Type", "").startswith("application/json"):
            import json

            try:
                data = json.loads(response.content)
            except ValueError:
                data = None
        if response.status_code == 404 and data is None:
            data = {"detail": "No API resource at this address: the API root is /api/v1/."}
        headers = {name: value for name, value in response.items() if name.lower() in KEPT_HEADERS}
        problem = problem_response(response.status_code, data, headers=headers)
        problem.cookies = response.cookies
        return problem


class RejectInvalidInputMiddleware:
    """A NUL byte in the path or in any query parameter name or value is a 400, on every page
    and API route, before any view runs.

    PostgreSQL cannot store or compare a text with a NUL (``?search=%00`` would otherwise reach
    the database and fail there, a 500), and no legitimate value contains one. Other invalid
    bytes need nothing: a query string that is not UTF-8 is decoded with replacement characters.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            if request.path_info.startswith("/api/"):
                from governance.api.exceptions import ProblemResponse, problem

                return ProblemResponse(
                    problem(
                        400,
                        detail="The request contains a NUL character.",
                        code="invalid_character",
                        slug="malformed-request",
                    )
                )
            from django.http import HttpResponseBadRequest

            # No template: the answer must not depend on anything that could fail in turn.
            return HttpResponseBadRequest(
                "<!doctype html><title>Bad request</title><h1>Bad request (400)</h1>"
            )
        return self.get_response(request)


class AtlasCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with ``'unsafe-inline'`` styles only where they are needed.

    The atlas's own pages carry no inline style, so their policy forbids it: markup injected
    through data (a town name) could not style an overlay. The admin and the API's HTML pages
    (DRF's browsable API, the Swagger UI) use inline styles in their vendored templates; their
    paths (``settings.INLINE_STYLE_PREFIXES``; language prefixes allowed) get them back.
    """

    def process_response(self, request, response):
        if _inline_styles_allowed(request.path_info):
            update = dict(getattr(response, "_csp_update", None) or {})
            update["style-src"] = [*update.get("style-src", []), "'unsafe-inline'"]
            response._csp_update = update
        return super().process_response(request, response)


def _inline_styles_allowed(path: str) -> bool:
    from django.conf import settings

    prefixes = tuple(getattr(settings, "INLINE_STYLE_PREFIXES", ()))
    parts = path.split("/", 2)
    # /be/admin/... as well as /admin/...
    unprefixed = "/" + parts[2] if len(parts) > 2 and len(parts[1]) == 2 else path
    return path.startswith(prefixes) or unprefixed.startswith(prefixes)


class ApiCompressionMiddleware:
    """gzip for API answers (JSON, CSV, GeoJSON, the schema, the Popolo export), and only them.

    BREACH recovers a secret from the compressed size of a body that holds both the secret
    and text the attacker chose (a reflected parameter). An API answer to a token or an
    anonymous client has no secret in its body (the token travels in a request header, never
    in a response), so it is compressed. Pages are not: every page has a CSRF token in its
    forms and most reflect the search box. An API request that carries a session cookie is
    not compressed either (the browsable API renders a CSRF token in the page). Answers that
    are compressed already (the data package's zip) are left alone. Static files are
    compressed ahead of time by whitenoise (``CompressedManifestStaticFilesStorage``).
    """

    INCOMPRESSIBLE = ("application/zip", "image/", "font/woff")

    def __init__(self, get_response):
        from django.middleware.gzip import GZipMiddleware

        self.get_response = get_response
        self.gzip = GZipMiddleware(get_response)

    def __call__(self, request):
        response = self.get_response(request)
        if not compressible(request) or response.get("Content-Type", "").startswith(
            self.INCOMPRESSIBLE
        ):
            return response
        if response.has_header("Content-Encoding"):
            # Compressed by its view already (the kept map, ``towns.kept``): only for a client
            # that accepts it (:func:`accepts_gzip`), so nothing is left to do but say so.
            patch_vary_headers(response, ("Accept-Encoding",))
            return response
        return self.gzip.process_response(request, response)


def compressible(request) -> bool:
    """Whether :class:`ApiCompressionMiddleware` compresses this request's answer, if the
    client accepts it: an API request that carries no session cookie."""
    return (
        request.path_info.startswith("/api/")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


def accepts_gzip(request) -> bool:
    """Whether this request's answer goes out gzip-compressed (:class:`ApiCompressionMiddleware`
    and the client's ``Accept-Encoding``, as Django's ``GZipMiddleware`` reads it): a view that
    keeps its answer compressed may then send it as it is."""
    from django.middleware.gzip import re_accepts_gzip

    return compressible(request) and bool(
        re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", ""))
    )
