"""Reads to a read replica when ``DATABASE_REPLICA_URL`` is set; everything else to the primary.

A replica lags the primary by a moment, so a read goes to the primary whenever it must see a
write that may not have reached the replica yet:

* inside a transaction on the primary (a service validating or re-reading what it saves);
* during a request that writes (any method but GET/HEAD/OPTIONS: the API, admin saves) and
  during every request to the research workspace (``/admin/``), where researchers expect to
  see the record they have just saved (:class:`PrimaryForWritesMiddleware`).

Public reads (pages, API GETs) are the bulk of the traffic and go to the replica. Migrations
run on the primary only.
"""

from __future__ import annotations

import contextlib
import contextvars

from django.conf import settings
from django.db import connections

REPLICA = "replica"
PRIMARY = "default"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

_pinned: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "atlas_primary_pinned", default=False
)


@contextlib.contextmanager
def use_primary():
    """Send every read in this block to the primary."""
    token = _pinned.set(True)
    try:
        yield
    finally:
        _pinned.reset(token)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if not replica_configured() or _pinned.get() or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return REPLICA

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same database.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class PrimaryForWritesMiddleware:
    """Pin a request to the primary when it writes or works in the research workspace."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in SAFE_METHODS and not request.path_info.startswith(
            ("/admin/", "/be/admin/", "/ru/admin/")
        ):
            return self.get_response(request)
        with use_primary():
            return self.get_response(request)
