"""Views of the platform core: health check, language switch and error pages."""

import sys

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.template import loader
from django.urls import translate_url
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """200 when the database answers, 503 otherwise (for load balancers and monitors)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        response = JsonResponse({"status": "error", "database": "unavailable"}, status=503)
        response["Retry-After"] = "5"
        return response
    return JsonResponse({"status": "ok", "database": "ok"})


def _without_language_prefix(path: str) -> str:
    for code, _name in settings.LANGUAGES:
        prefix = f"/{code}/"
        if path.startswith(prefix):
            return path[len(prefix) - 1 :]
    return path


@require_GET
def switch_language(request):
    """Go to ``next`` in ``language``: the language lives in the URL prefix (/be/, /ru/).

    A GET with no cookie and no CSRF token: switching language changes no state, and public
    pages stay free of per-visitor tokens, so they can be cached and shared.
    """
    language = request.GET.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest("Unknown language.", content_type="text/plain")
    target = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) or not target.startswith("/"):
        target = "/"
    with translation.override(settings.LANGUAGE_CODE):
        # Resolved as a URL of the default language (no prefix), reversed in the new one.
        return HttpResponseRedirect(translate_url(_without_language_prefix(target), language))


@require_GET
def english_prefix(request, rest: str = ""):
    """/en/… to the same page without a prefix: English is the default language, which has no
    prefix, but a link guessed from /be/… or /ru/… should still arrive. Only a path on this
    site: leading slashes are dropped, so /en//example.org cannot lead elsewhere."""
    target = "/" + rest.lstrip("/\\")
    if request.META.get("QUERY_STRING"):
        target += "?" + request.META["QUERY_STRING"]
    return HttpResponsePermanentRedirect(target)


def server_error(request):
    """A generic 500: no traceback, no message, nothing from the request (JSON under /api/).

    Django calls this inside its ``except`` block, so ``sys.exc_info()`` tells why: when the
    database is unreachable the answer is a 503 with ``Retry-After`` instead, and the service
    resumes by itself once it is back (``CONN_HEALTH_CHECKS`` reconnects).
    """
    exc = sys.exc_info()[1]
    api = request.path.startswith("/api/")
    if isinstance(exc, (OperationalError, InterfaceError)):
        message = "The database is unavailable. Please retry shortly."
        if api:
            response = JsonResponse({"detail": message}, status=503)
        else:
            response = HttpResponse(
                loader.get_template("503.html").render(), status=503, content_type="text/html"
            )
        response["Retry-After"] = "5"
        return response
    if api:
        return JsonResponse({"detail": "Server error. It has been logged."}, status=500)
    return HttpResponseServerError(loader.get_template("500.html").render())
