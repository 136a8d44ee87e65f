"""Middleware of the platform core."""

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
