"""Token authentication of the API: hashed tokens (django-rest-knox) with scopes.

``Authorization: Bearer <key>`` (RFC 6750, what generated clients send) or
``Authorization: Token <key>``; the scheme is case-insensitive. Any other scheme, or a header
that is not exactly a scheme and one key, is a 401 with ``WWW-Authenticate``: a request that
carries credentials is never quietly answered as anonymous. Only the header is read: a key in
the query string is ignored (it would end up in logs and browser histories). knox stores the
SHA-512 digest of each key, never the key. An expired token is deleted by knox and refused;
a revoked one no longer exists; a knox token without its
:class:`governance.models.ApiClient` row (and so without scopes) is refused too.
All of these answer 401.

A resolved token is kept in the read cache (:mod:`governance.cache`) under a digest of the key
and the data state, which moves whenever a token, API client, user or group row changes: a
revoked token or a changed role is refused at once, and a cached token still has its expiry
checked on every request.

On success the user's viewer level is capped by the token's read scope
(:func:`governance.tokens.token_viewer_level`) and cached on the user object as
``_atlas_viewer_level``, which :func:`governance.access.viewer_level` returns from then on: every
selector (``visible_to``) and the redaction policy read the token's level without knowing about
tokens. The scopes themselves are kept on the user as ``_atlas_token_scopes`` for
:mod:`governance.api.permissions`.
"""

import hashlib

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from governance.cache import read_cache, request_state
from governance.models import ApiClient
from governance.tokens import token_viewer_level

#: Schemes that carry a token key, lower-cased.
SCHEMES = (b"bearer", b"token")
#: The challenges of a 401 (RFC 9110 section 11.6.1): both schemes are accepted.
CHALLENGE = 'Bearer realm="api", Token realm="api"'


def header_key(request) -> bytes | None:
    """The key of a well-formed ``Authorization: Bearer|Token <key>`` header, else None."""
    parts = get_authorization_header(request).split()
    if len(parts) != 2 or parts[0].lower() not in SCHEMES:
        return None
    return parts[1]


def _resolved_key(request) -> str | None:
    """Read-cache key of the token in the Authorization header, or None when there is none."""
    if settings.READ_CACHE_TIMEOUT <= 0:
        return None
    key = header_key(request)
    if key is None:
        return None
    digest = hashlib.sha256(key + b"|" + request_state(request).encode()).hexdigest()
    return f"atlas:token:{digest}"


def resolved_token(request):
    """(user, token, level, scopes) of the header's token if its resolution is cached and the
    token has not expired since, else None (then it must be authenticated the normal way)."""
    key = _resolved_key(request)
    hit = read_cache().get(key) if key else None
    if hit is None:
        return None
    user, token, level, scopes = hit
    if token.expiry is not None and token.expiry <= timezone.now():
        return None
    user._atlas_viewer_level = level
    user._atlas_token_scopes = scopes
    return hit


class ScopedTokenAuthentication(TokenAuthentication):
    """Knox token authentication that applies the token's scopes to the request's user."""

    def authenticate(self, request):
        hit = resolved_token(request)
        if hit is not None:
            return hit[0], hit[1]
        key = _resolved_key(request)
        result = self._authenticate(request)
        if result is not None and key:
            user, token = result
            read_cache().set(
                key,
                (user, token, user._atlas_viewer_level, user._atlas_token_scopes),
                settings.READ_CACHE_TIMEOUT,
            )
        return result

    def authenticate_header(self, request):
        return CHALLENGE

    def _authenticate(self, request):
        if "HTTP_AUTHORIZATION" not in request.META:
            return None
        key = header_key(request)
        if key is None:
            # Another scheme (Basic, Digest…), no key, spaces in the key, an empty header: the
            # client meant to authenticate, so it must learn that it did not.
            raise exceptions.AuthenticationFailed(
                _('Invalid Authorization header: send "Bearer <key>" or "Token <key>".')
            )
        try:
            user, token = self.authenticate_credentials(key)
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        try:
            client = token.client
        except ApiClient.DoesNotExist:
            client = None
        if client is None or client.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        scopes = frozenset(client.scopes)
        # The role first (cached by viewer_level on this user object), then capped by the scope.
        user._atlas_viewer_level = token_viewer_level(user, scopes)
        user._atlas_token_scopes = scopes
        return user, token


class ScopedTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token scheme in the OpenAPI schema."""

    target_class = "governance.api.authentication.ScopedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                'Partner token: "Bearer <key>" or "Token <key>", issued with '
                "`manage.py issue_token` with a name, "
                "scopes (read:public, read:partner, read:restricted, write:indicators, "
                "write:research) and an expiry. A token reads at the lower of its owner's role "
                "and its read scope. Keys in the query string are ignored."
            ),
        }
