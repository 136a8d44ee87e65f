"""Scope checks of the API for token requests.

A request authenticated by a token carries the token's scopes
(:class:`governance.api.authentication.ScopedTokenAuthentication`); a session request carries
none and is judged by its role alone. Views name the write scope they need with a
``write_scope`` attribute (default ``write:research``, which covers every write).
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from governance.models import ApiScope


def token_scopes(request) -> frozenset[str] | None:
    """The scopes of the token of ``request``, or None if the request has no token."""
    user = getattr(request, "user", None)
    return getattr(user, "_atlas_token_scopes", None)


def has_write_scope(request, view) -> bool:
    """Whether the token of ``request`` grants writing through ``view``.

    A session request has no token and so no write scope (its role decides elsewhere).
    """
    from governance.tokens import scopes_allowed

    scopes = token_scopes(request)
    if not scopes:
        return False
    # A scope the owner's role no longer allows (or never did) grants nothing.
    scopes = scopes & scopes_allowed(getattr(request, "user", None))
    required = getattr(view, "write_scope", ApiScope.WRITE_RESEARCH)
    return ApiScope.WRITE_RESEARCH in scopes or required in scopes


class HasScope(BasePermission):
    """Token requests need every scope in the view's ``required_scopes``; sessions pass here
    (their role is checked by the view's other permissions)."""

    message = "This token lacks a scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        scopes = token_scopes(request)
        if scopes is None:
            return True
        return set(getattr(view, "required_scopes", ())) <= scopes
