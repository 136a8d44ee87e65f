"""Reads to a read replica when ``DATABASE_REPLICA_URL`` is set; everything else to the primary.

A replica lags the primary by a moment, so a read goes to the primary whenever it must see a
write that may not have reached the replica yet:

* inside a transaction on the primary (a service validating or re-reading what it saves);
* during a request that writes (any method but GET/HEAD/OPTIONS: the API, admin saves) and
  during every request to the research workspace (``/admin/``), where researchers expect to
  see the record they have just saved (:class:`PrimaryForWritesMiddleware`);
* read-your-writes: during a later read by the client that wrote, until the replica has
  replayed its write. After an answered write (status below 500) the primary's WAL position
  (``pg_current_wal_lsn()``, read after the commit) is remembered for the client's credential,
  its session cookie or its ``Authorization`` header (a SHA-256 of it, never the value), for
  ``READ_YOUR_WRITES_SECONDS``, in Django's default cache: with ``REDIS_URL`` that is Redis, so
  every instance of the atlas sees it. A read with that credential goes to the primary unless
  the replica has replayed that far (``pg_last_wal_replay_lsn()``); once it has, the entry is
  forgotten. Reads without a credential (anonymous visitors, the bulk of the traffic) cost
  nothing here: no cache lookup, no query. Without a replica nothing is remembered.

Public reads (pages, API GETs) go to the replica. Migrations run on the primary only.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections

REPLICA = "replica"
PRIMARY = "default"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
WORKSPACE_PATHS = ("/admin/", "/be/admin/", "/ru/admin/")
#: Prefix of the read-your-writes entries in the default cache.
WRITTEN_PREFIX = "atlas:written:"

logger = logging.getLogger(__name__)

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


# --- read-your-writes ----------------------------------------------------------------------


def _written_key(kind: str, value: str) -> str:
    return WRITTEN_PREFIX + hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()


def credential_keys(request, response=None) -> list[str]:
    """Cache keys of the credentials ``request`` carries (and of a session ``response`` starts,
    as a sign-in does: the next request comes with that cookie)."""
    keys = []
    session = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if session:
        keys.append(_written_key("session", session))
    authorization = request.META.get("HTTP_AUTHORIZATION")
    if authorization:
        keys.append(_written_key("authorization", authorization))
    if response is not None and settings.SESSION_COOKIE_NAME in response.cookies:
        started = response.cookies[settings.SESSION_COOKIE_NAME].value
        if started and started != session:  # not a sign-out (an emptied cookie)
            keys.append(_written_key("session", started))
    return keys


def lsn_value(lsn: str) -> int:
    """A WAL position ("16/B374D848") as a number, for comparing two of them."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def primary_wal_position() -> str:
    """The primary's current WAL write position: past every transaction committed so far (a
    commit is written out before it returns, with ``synchronous_commit`` on, the default)."""
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def replica_has_replayed(lsn: str, using: str = REPLICA) -> bool:
    """Whether the replica has replayed the WAL up to ``lsn``, so that its reads show every
    write committed before it. A server that is not a standby (the primary itself, or a
    promoted one; after a recovery it still reports where that recovery ended) answers "not
    yet": the entry then ages out, and the client reads from the primary until it does."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery()"
            " AND coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)",
            [lsn],
        )
        return bool(cursor.fetchone()[0])


def remember_write(request, response) -> None:
    """After an answered write: keep the primary's WAL position for the writer's credentials."""
    seconds = settings.READ_YOUR_WRITES_SECONDS
    if seconds <= 0 or not replica_configured():
        return
    keys = credential_keys(request, response)
    if not keys:
        return
    try:
        position = primary_wal_position()
    except DatabaseError:
        logger.warning("read-your-writes: could not read the primary's WAL position")
        return
    # A concurrent write of the same client may have stored a later position: keep the later.
    known = cache.get_many(keys)
    cache.set_many(
        {key: max(position, known.get(key, position), key=lsn_value) for key in keys}, seconds
    )


def must_read_own_writes(request) -> bool:
    """Whether this read must go to the primary because its client wrote something the
    replica has not replayed yet (see the module's docstring)."""
    if settings.READ_YOUR_WRITES_SECONDS <= 0 or not replica_configured():
        return False
    keys = credential_keys(request)
    if not keys:
        return False
    found = cache.get_many(keys)
    if not found:
        return False
    latest = max(found.values(), key=lsn_value)
    try:
        replayed = replica_has_replayed(latest)
    except DatabaseError:
        return True  # the replica cannot tell: the primary can
    if replayed:
        cache.delete_many(list(found))
        return False
    return True


class PrimaryForWritesMiddleware:
    """Pin a request to the primary when it writes, works in the research workspace, or reads
    after a write of its own that the replica has not replayed; remember the primary's WAL
    position after an answered write (read-your-writes, see the module's docstring).

    Placed before the read cache's shortcut (``governance.cache.ReadShortcutMiddleware``) and
    the session middleware, so that the cache key's data state, the session and the token are
    read from the primary too when the request is pinned.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in SAFE_METHODS:
            with use_primary():
                response = self.get_response(request)
            if response.status_code < 500:
                remember_write(request, response)
            return response
        if request.path_info.startswith(WORKSPACE_PATHS) or must_read_own_writes(request):
            with use_primary():
                return self.get_response(request)
        return self.get_response(request)
