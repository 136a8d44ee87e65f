"""Views of the platform core: health check, language switch and error pages."""

import functools
import sys

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    connection,
)
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

#: Seconds a client should wait: a dropped connection comes back quickly, a restore or a
#: migration takes longer.
RETRY_AFTER = {"unavailable": "5", "missing": "30", "migrating": "30"}


@functools.cache
def expected_migrations() -> tuple[tuple[str, str], ...]:
    """The newest migration of every app, from the code (read once per process, no query)."""
    from django.db.migrations.loader import MigrationLoader

    return tuple(sorted(MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes()))


def schema_state() -> str:
    """``ok``, ``unavailable`` (no connection), ``missing`` (no schema: a database just
    created, or a restore not yet committed: ``pg_restore --single-transaction`` shows all or
    nothing) or ``migrating`` (the code expects migrations the database has not got). One
    query: whether every app's newest migration is recorded."""
    expected = expected_migrations()
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM django_migrations WHERE (app, name) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                [[app for app, _ in expected], [name for _, name in expected]],
            )
            (applied,) = cursor.fetchone()
    except ProgrammingError:
        return "missing"
    except DatabaseError:
        return "unavailable"
    return "ok" if applied == len(expected) else "migrating"


@never_cache
@require_GET
def healthz(request):
    """200 when the database answers and has the schema the code expects, 503 otherwise (for
    load balancers and monitors), with ``Retry-After``."""
    state = schema_state()
    if state == "ok":
        return JsonResponse({"status": "ok", "database": "ok"})
    response = JsonResponse({"status": "error", "database": state}, status=503)
    response["Retry-After"] = RETRY_AFTER[state]
    return response


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
    state = None
    if isinstance(exc, (OperationalError, InterfaceError)):
        state = "unavailable"
    elif isinstance(exc, ProgrammingError):
        # A table or function missing: during a restore or a migration that is maintenance
        # (503, retry later); with the schema complete it is a bug (500, logged).
        state = schema_state()
        state = state if state in ("missing", "migrating") else None
    if state is not None:
        message = (
            "The database is unavailable. Please retry shortly."
            if state == "unavailable"
            else "The database is being restored or migrated. Please retry shortly."
        )
        if api:
            response = JsonResponse({"detail": message}, status=503)
        else:
            response = HttpResponse(
                loader.get_template("503.html").render(), status=503, content_type="text/html"
            )
        response["Retry-After"] = RETRY_AFTER[state]
        return response
    if api:
        return JsonResponse({"detail": "Server error. It has been logged."}, status=500)
    return HttpResponseServerError(loader.get_template("500.html").render())
