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

Uncached (the read cache off, or a first request), a token costs one query: the token row with
its user, its API client and the user's group names (:meth:`ScopedTokenAuthentication.
authenticate_credentials`). knox's own way took four, one of them listing all the user's tokens
to delete the expired ones; here an expired token is deleted (and refused) when it is presented,
as knox does, and the user's other expired tokens when they are presented. They could not
authenticate anything meanwhile.

On success the user's viewer level is capped by the token's read scope
(:func:`governance.tokens.token_viewer_level`) and cached on the user object as
``_atlas_viewer_level``, which :func:`governance.access.viewer_level` returns from then on: every
selector (``visible_to``) and the redaction policy read the token's level without knowing about
tokens. The scopes themselves are kept on the user as ``_atlas_token_scopes`` for
:mod:`governance.api.permissions`.
"""

import binascii
import functools
import hashlib
from hmac import compare_digest

from django.conf import settings
from django.db import connections, router
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from governance.access import role_level
from governance.cache import read_cache, request_state
from governance.models import ApiClient
from governance.tokens import role_scopes, token_viewer_level

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
        names = set(token.atlas_groups or ())
        # The role (from the groups read with the token), then capped by the scope.
        user._atlas_viewer_level = role_level(user, names)
        user._atlas_viewer_level = token_viewer_level(user, scopes)
        if not user.is_superuser:
            user._atlas_scopes_allowed = role_scopes(names)
        user._atlas_token_scopes = scopes
        return user, token

    def authenticate_credentials(self, token):
        """knox's check of a key, in one query (see the module's docstring): the candidate
        tokens of the key's prefix, each with its user, API client and the user's groups. An
        expired candidate is deleted and skipped, as knox does (with its signal)."""
        message = _("Invalid token.")
        token = token.decode("utf-8")
        for candidate in token_candidates(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if candidate.expiry is not None and candidate.expiry < timezone.now():
                username = candidate.user.get_username()
                candidate.delete()
                token_expired.send(sender=type(self), username=username, source="auth_token")
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(message) from None
            if compare_digest(digest, candidate.digest):
                if knox_settings.AUTO_REFRESH and candidate.expiry:
                    self.renew_token(candidate)
                return self.validate_user(candidate)
        raise exceptions.AuthenticationFailed(message)


def _columns(model, alias: str, prefix: str, quote) -> tuple[list, str]:
    fields = list(model._meta.concrete_fields)
    names = ", ".join(f"{alias}.{quote(f.column)} AS {quote(prefix + f.attname)}" for f in fields)
    return fields, names


@functools.cache
def _token_query(alias: str) -> tuple[str, list, list, list]:
    """The SQL of :func:`token_candidates` and the fields each part of its rows loads. Written
    once from the models' metadata: the ORM compiled this query (three models, a subquery of
    the groups) on every request, about 1 ms, more than PostgreSQL took to run it."""
    token_model = get_token_model()
    user_field = token_model._meta.get_field("user")
    user_model = user_field.related_model
    client_field = ApiClient._meta.get_field("token")
    groups = user_model._meta.get_field("groups")
    through = groups.remote_field.through._meta.db_table
    group_meta = groups.related_model._meta
    quote = connections[alias].ops.quote_name
    token_fields, token_sql = _columns(token_model, "t", "t_", quote)
    user_fields, user_sql = _columns(user_model, "u", "u_", quote)
    client_fields, client_sql = _columns(ApiClient, "c", "c_", quote)
    # Identifiers from the models' metadata, quoted; the key's prefix is a parameter.
    sql = (
        f"SELECT {token_sql}, {user_sql}, {client_sql}, "  # noqa: S608
        f"ARRAY(SELECT g.{quote(group_meta.get_field('name').column)} "
        f"FROM {quote(group_meta.db_table)} g JOIN {quote(through)} ug "
        f"ON ug.{quote(groups.m2m_reverse_name())} = g.{quote(group_meta.pk.column)} "
        f"WHERE ug.{quote(groups.m2m_column_name())} = t.{quote(user_field.column)}) "
        f"FROM {quote(token_model._meta.db_table)} t "
        f"JOIN {quote(user_model._meta.db_table)} u "
        f"ON u.{quote(user_model._meta.pk.column)} = t.{quote(user_field.column)} "
        f"LEFT JOIN {quote(ApiClient._meta.db_table)} c "
        f"ON c.{quote(client_field.column)} = t.{quote(token_model._meta.pk.column)} "
        f"WHERE t.{quote(token_model._meta.get_field('token_key').column)} = %s"
    )
    return sql, token_fields, user_fields, client_fields


def _loaded(model, fields: list, values: tuple, db: str, using):
    converted = []
    for field, value in zip(fields, values, strict=True):
        for converter in field.get_db_converters(using):
            value = converter(value, field, using)
        converted.append(value)
    return model.from_db(db, [f.attname for f in fields], converted)


def token_candidates(prefix: str) -> list:
    """The tokens whose key starts with ``prefix``, each with its ``user`` loaded, its API
    client cached as ``token.client`` (raising ``DoesNotExist`` when it has none, as the
    relation does) and the user's group names as ``atlas_groups``: one query, the same rows
    and values as ``select_related("user", "client")`` gives (tested)."""
    token_model = get_token_model()
    db = router.db_for_read(token_model)
    using = connections[db]
    sql, token_fields, user_fields, client_fields = _token_query(db)
    with using.cursor() as cursor:
        cursor.execute(sql, [prefix])
        rows = cursor.fetchall()
    found = []
    first, second = len(token_fields), len(token_fields) + len(user_fields)
    third = second + len(client_fields)
    client_pk = second + client_fields.index(ApiClient._meta.pk)
    reverse = ApiClient._meta.get_field("token").remote_field
    user_model = token_model._meta.get_field("user").related_model
    for row in rows:
        token = _loaded(token_model, token_fields, row[:first], db, using)
        token.user = _loaded(user_model, user_fields, row[first:second], db, using)
        client = None
        if row[client_pk] is not None:
            client = _loaded(ApiClient, client_fields, row[second:third], db, using)
            client.token = token
        reverse.set_cached_value(token, client)
        token.atlas_groups = row[third]
        found.append(token)
    return found


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
