"""Middleware of the platform core."""

from csp.middleware import CSPMiddleware
from django.utils.cache import patch_cache_control


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
