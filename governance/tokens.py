"""API tokens per client: issue, revoke, and what a token's scopes allow.

A token is a django-rest-knox ``AuthToken`` (only the SHA-512 digest of the key is stored) plus
an :class:`governance.models.ApiClient` row with the client's name, scopes, expiry and
revocation. The key is shown once, when issued, and cannot be recovered.

What a token request sees is ``min(owner's role level, token's read scope)``: a researcher's
token with ``read:public`` sees what the public sees. Write scopes open writes for the
views that name them (``write_scope`` on the view; ``write:research`` covers every view).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from knox.models import get_token_model

from governance.access import Viewer, viewer_level
from governance.models import ApiClient, ApiScope

READ_SCOPE_LEVEL: dict[str, Viewer] = {
    ApiScope.READ_PUBLIC: Viewer.PUBLIC,
    ApiScope.READ_PARTNER: Viewer.PARTNER,
    ApiScope.READ_RESTRICTED: Viewer.RESEARCH,
}
WRITE_SCOPES = frozenset({ApiScope.WRITE_INDICATORS, ApiScope.WRITE_RESEARCH})

#: Which scopes a role may hold. Donors read; partners may also write data (never access
#: levels or publication state: see governance.redaction.may_change_access); staff roles may
#: hold every scope. An account without a role reads what the public reads.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(ApiScope.values),
    "reviewer": frozenset(ApiScope.values),
    "researcher": frozenset(ApiScope.values),
    "partner": frozenset(
        {
            ApiScope.READ_PUBLIC,
            ApiScope.READ_PARTNER,
            ApiScope.WRITE_INDICATORS,
            ApiScope.WRITE_RESEARCH,
        }
    ),
    "donor": frozenset({ApiScope.READ_PUBLIC, ApiScope.READ_PARTNER}),
}
NO_ROLE_SCOPES = frozenset({ApiScope.READ_PUBLIC})


def scopes_allowed(user) -> frozenset[str]:
    """The scopes ``user``'s roles allow (checked when a token is issued and again on every
    request, so a role taken away takes its scopes with it)."""
    if user is None or not getattr(user, "is_active", False):
        return frozenset()
    if user.is_superuser:
        return frozenset(ApiScope.values)
    cached = getattr(user, "_atlas_scopes_allowed", None)
    if cached is not None:
        return cached
    user._atlas_scopes_allowed = role_scopes(user.groups.values_list("name", flat=True))
    return user._atlas_scopes_allowed


def role_scopes(names: Iterable[str]) -> frozenset[str]:
    """The scopes the groups ``names`` allow (with those of no role), for a user who is
    neither inactive nor a superuser (:func:`scopes_allowed`)."""
    allowed = set(NO_ROLE_SCOPES)
    for name in names:
        allowed |= ROLE_SCOPES.get(name, frozenset())
    return frozenset(allowed)


def scope_read_level(scopes: Iterable[str]) -> Viewer:
    """The highest read level among ``scopes``; a token without a read scope reads as public."""
    return max(
        (READ_SCOPE_LEVEL[s] for s in scopes if s in READ_SCOPE_LEVEL), default=Viewer.PUBLIC
    )


def token_viewer_level(user, scopes: Iterable[str]) -> Viewer:
    """What a token of ``user`` with ``scopes`` may see: the lower of role and read scope."""
    return min(viewer_level(user), scope_read_level(scopes))


@transaction.atomic
def token_issue(
    *, user, name: str, scopes: Iterable[str], expires_days: int | None = None
) -> tuple[ApiClient, str]:
    """Create a token for ``user``; returns the client row and the key (shown once, never kept).

    ``expires_days`` None takes ``API_TOKEN_DEFAULT_DAYS``; 0 means no expiry (until revoked).
    A read scope above the owner's role, or a write scope for an owner below partner level, is
    refused with a ValidationError naming the field.
    """
    scopes = list(dict.fromkeys(scopes))
    errors: dict[str, list[str]] = {}
    known = set(ApiScope.values)
    unknown = [s for s in scopes if s not in known]
    if unknown:
        errors["scopes"] = [
            _("Unknown scope(s): %(scopes)s. Known: %(known)s.")
            % {"scopes": ", ".join(unknown), "known": ", ".join(ApiScope.values)}
        ]
    elif not scopes:
        errors["scopes"] = [_("Give at least one scope, e.g. read:public.")]
    else:
        role = viewer_level(user)
        too_high = [s for s in scopes if s in READ_SCOPE_LEVEL and READ_SCOPE_LEVEL[s] > role]
        not_for_role = [s for s in scopes if s not in scopes_allowed(user)]
        if too_high:
            errors["scopes"] = [
                _("%(user)s may not read at the level of %(scopes)s.")
                % {"user": user.get_username(), "scopes": ", ".join(too_high)}
            ]
        elif role < Viewer.PARTNER and WRITE_SCOPES.intersection(scopes):
            errors["scopes"] = [
                _("Write scopes need a partner, researcher, reviewer or admin account.")
            ]
        elif not_for_role:
            errors["scopes"] = [
                _("The role of %(user)s may not hold %(scopes)s.")
                % {"user": user.get_username(), "scopes": ", ".join(not_for_role)}
            ]
    if expires_days is None:
        expires_days = settings.API_TOKEN_DEFAULT_DAYS
    if expires_days < 0:
        errors["expires_days"] = [_("The number of days cannot be negative.")]
    if not user.is_active:
        errors["user"] = [_("The account is inactive.")]
    if errors:
        raise ValidationError(errors)

    expiry = timedelta(days=expires_days) if expires_days else None
    token, key = get_token_model().objects.create(user=user, expiry=expiry)
    client = ApiClient(
        user=user,
        token=token,
        name=name.strip(),
        token_key=token.token_key,
        scopes=scopes,
        expires_at=token.expiry,
    )
    client.full_clean()
    client.save()
    return client, key


@transaction.atomic
def token_revoke(*, client: ApiClient) -> ApiClient:
    """Revoke ``client``'s token at once: the digest is deleted, the client row is kept."""
    if client.token_id is not None:
        get_token_model().objects.filter(pk=client.token_id).delete()
    ApiClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), token=None
    )
    client.refresh_from_db()
    return client
