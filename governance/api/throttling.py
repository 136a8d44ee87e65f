"""Rate limits of the API: per token, per signed-in user without a token, per anonymous client.

Past its rate a client gets 429 with ``Retry-After`` (seconds), set by DRF's exception handler
from :meth:`wait`. Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (environment
variables ``API_THROTTLE_ANON`` and ``API_THROTTLE_USER``) and are read on every request, so a
changed setting applies at once (DRF's own classes read them once, at import).
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class _LiveRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonClientThrottle(_LiveRateThrottle):
    """Anonymous requests, counted per client address (``REMOTE_ADDR``, or the proxy's
    ``X-Forwarded-For`` as DRF's ``NUM_PROXIES`` allows)."""

    scope = "anon"

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
