"""Rate limits of the API: per token, per signed-in user without a token, per anonymous client.

Past its rate a client gets 429 with ``Retry-After`` (seconds), set by DRF's exception handler
from :meth:`wait`. Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (environment
variables ``API_THROTTLE_ANON`` and ``API_THROTTLE_USER``) and are read on every request, so a
changed setting applies at once (DRF's own classes read them once, at import).

Counting costs the same at any rate: DRF's ``SimpleRateThrottle`` keeps one timestamp per
request of the period and reads and writes the whole list on every request (at 3,000/min that
is a 3,000-item list pickled twice per request; the benchmark's unbounded rates made it the
most expensive part of a cached read). These classes keep a *sliding window counter*
instead: one counter per client and period-long window, and the rate is checked against the
current window's count plus the previous window's count weighted by how much of it still
overlaps the last period. One read and one atomic increment per request, whatever the rate.

The counts are shared by every worker and machine (:func:`counters`): in Redis or Valkey when
``REDIS_URL`` (or ``CACHE_URL``) names one, otherwise in PostgreSQL (an UNLOGGED table), never
in one process's memory.
"""

from __future__ import annotations

import ipaddress
import math

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connections
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class CacheCounters:
    """Counters in a shared cache (Redis or Valkey behind ``REDIS_URL`` or ``CACHE_URL``)."""

    def __init__(self, cache):
        self.cache = cache

    def count(self, current: str, previous: str, timeout: int) -> tuple[int, int]:
        """Count this request in window ``current``; return (current, previous) counts, this
        request included."""
        if not self.cache.add(current, 1, timeout=timeout):
            try:
                self.cache.incr(current)
            except ValueError:  # expired between add and incr
                self.cache.set(current, 1, timeout=timeout)
        counts = self.cache.get_many([current, previous])
        return counts.get(current, 1), counts.get(previous, 0)

    def read(self, keys: list[str]) -> dict[str, int]:
        return self.cache.get_many(keys)


class DatabaseCounters:
    """Counters in PostgreSQL (:class:`governance.models.RateCounter`, an UNLOGGED table):
    one statement per request (``atlas_rate_count``: an atomic upsert of this window's count
    that also reads the previous window's), shared by every worker and machine using the
    database. Expired rows are swept now and then, by the same statement (migration 0012), so
    that every request makes the same queries."""

    sweep_every = 500  # requests between two sweeps of expired counters, per process

    def __init__(self):
        self.seen = 0

    def count(self, current: str, previous: str, timeout: int) -> tuple[int, int]:
        with connections["default"].cursor() as cursor:
            # One function (migrations 0011, 0012): its plans are kept for the session, where
            # the same statement sent as text was planned on every request; every
            # ``sweep_every``-th count of the process also deletes expired counters.
            self.seen += 1
            cursor.execute(
                "SELECT counted, before FROM atlas_rate_count(%s, %s, %s, %s)",
                [current, previous, timeout, self.seen % self.sweep_every == 0],
            )
            counted, before = cursor.fetchone()
        return counted, before

    def read(self, keys: list[str]) -> dict[str, int]:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT key, count FROM governance_ratecounter "
                "WHERE key = ANY(%s) AND expires > now()",
                [keys],
            )
            return dict(cursor.fetchall())


_DATABASE_COUNTERS = DatabaseCounters()


def counters():
    """Where the rate limits count: the shared cache when ``REDIS_URL`` or ``CACHE_URL`` names
    one, else PostgreSQL; never the memory of one process (each worker would count on its own,
    so two workers would let twice the rate through)."""
    cache = caches["default"]
    if isinstance(cache, LocMemCache | DummyCache):
        return _DATABASE_COUNTERS
    return CacheCounters(cache)


class _LiveRateThrottle(SimpleRateThrottle):
    """A sliding window counter (see the module's docstring) with the rate read live."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        period = self.duration
        now = self.timer()
        window = math.floor(now / period)
        current_key, previous_key = f"{self.key}:{window}", f"{self.key}:{window - 1}"
        # Every request counts, a refused one too (a client that keeps knocking stays out).
        # Kept two periods: long enough to be the previous window of the next one.
        counted, self.previous = counters().count(current_key, previous_key, 2 * period + 1)
        self.current = counted - 1  # the requests before this one
        self.elapsed = now / period - window  # fraction of the current window gone, [0, 1)
        used = self.previous * (1 - self.elapsed) + self.current
        if used >= self.num_requests:
            self._note(request, 0, self.wait())
            return False
        self._note(request, self.num_requests - used - 1, period * (1 - self.elapsed))
        return True

    def _note(self, request, remaining: float, reset: float) -> None:
        """Keep this request's budget on the Django request, for the ``RateLimit`` headers
        (:func:`rate_limit_headers`), whichever wrapper of it the throttle was given."""
        http = getattr(request, "_request", None) or getattr(request, "_http", None) or request
        http._atlas_rate_limit = (
            self.scope,
            self.num_requests,
            self.duration,
            max(0, math.floor(remaining)),
            max(0, math.ceil(reset)),
        )

    def wait(self) -> float:
        """Seconds until the weighted count drops below the rate again."""
        period, rate = self.duration, self.num_requests
        left_in_window = period * (1 - self.elapsed)
        if self.current < rate and self.previous:
            # Within this window, as the previous window's weight fades.
            wait = period * (1 - self.elapsed - (rate - self.current) / self.previous)
        else:
            # In the next window, once this window's weight has faded enough.
            wait = left_in_window + period * max(0.0, 1 - rate / max(self.current, 1))
        return max(wait, 1.0)


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request) -> str:
    """The address a request came from, trusting ``X-Forwarded-For`` only as configured.

    By default (``NUM_PROXIES=0``) the header is ignored: anyone can send it, and a client that
    wrote a new address into each request would get a new budget each time. Behind reverse
    proxies, ``NUM_PROXIES=N`` says how many of them append to the header, and
    ``TRUSTED_PROXIES`` (addresses or networks, e.g. ``127.0.0.1,10.0.0.0/8``) which peers are
    proxies at all: the header is read only when the peer (``REMOTE_ADDR``) is one of them, and
    then the address N hops from the right is the client (only what our own proxies appended is
    believed; whatever the client put before that is ignored).
    """
    peer = request.META.get("REMOTE_ADDR", "")
    hops = settings.NUM_PROXIES
    if hops <= 0 or not settings.TRUSTED_PROXIES:
        return peer
    peer_address = _address(peer)
    trusted = [ipaddress.ip_network(net, strict=False) for net in settings.TRUSTED_PROXIES]
    if peer_address is None or not any(peer_address in net for net in trusted):
        return peer  # not through our proxy: the header is the client's own claim
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    chain = [part for part in forwarded if part] + [peer]
    candidate = chain[-hops - 1] if len(chain) > hops else chain[0]
    address = _address(candidate)
    return str(address) if address is not None else peer


class AnonClientThrottle(_LiveRateThrottle):
    """Anonymous requests, counted per client address (:func:`client_address`: the peer, or
    what the configured trusted proxies say in ``X-Forwarded-For``)."""

    scope = "anon"

    def get_ident(self, request) -> str:
        return client_address(request)

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenThrottle(_LiveRateThrottle):
    """Authenticated requests, counted per token (two clients of one partner have separate
    budgets), or per user for a session without a token."""

    scope = "user"

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        token = request.auth
        # knox's AuthToken is keyed by the digest of its key: a stable id that reveals nothing.
        ident = f"token:{token.pk}" if getattr(token, "pk", None) else f"user:{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def rate_limit_headers(request) -> dict[str, str]:
    """``RateLimit-Policy`` and ``RateLimit`` (IETF draft-ietf-httpapi-ratelimit-headers) for
    the budget the API's throttles counted this request against; empty when none did.

    ``RateLimit-Policy: "anon";q=600;w=60`` (quota ``q`` per window of ``w`` seconds) and
    ``RateLimit: "anon";r=599;t=42`` (``r`` requests remaining, ``t`` seconds until the
    window that counts them ends: the counter slides, so the budget comes back gradually).
    """
    noted = getattr(request, "_atlas_rate_limit", None)
    if noted is None:
        return {}
    scope, quota, window, remaining, reset = noted
    return {
        "RateLimit-Policy": f'"{scope}";q={quota};w={window}',
        "RateLimit": f'"{scope}";r={remaining};t={reset}',
    }
