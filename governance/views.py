"""Views of the platform core: health check and error pages."""

import sys

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
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
