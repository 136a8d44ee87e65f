"""The one visibility policy: who may see which research record.

Every page, API view, export and admin list reads research data through
``Model.objects.visible_to(user)``, which is built on :func:`viewer_level`. Nothing else
decides visibility.

* anonymous public: published records at the **public** level;
* donors and partner clients: published records at **public** or **partner** level;
* researchers, reviewers and admins: everything, drafts included.
"""

from __future__ import annotations

from enum import IntEnum

from django.db import models
from django.utils.translation import gettext_lazy as _

RESEARCH_GROUPS = frozenset({"admin", "researcher", "reviewer"})
PARTNER_GROUPS = frozenset({"donor", "partner"})


class AccessLevel(models.TextChoices):
    PUBLIC = "public", _("Public")
    PARTNER = "partner", _("Partner")
    RESTRICTED = "restricted", _("Restricted")


class PublicationState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")


class Viewer(IntEnum):
    """How much a viewer may see, in increasing order."""

    PUBLIC = 0
    PARTNER = 1
    RESEARCH = 2


LEVELS_FOR = {
    Viewer.PUBLIC: [AccessLevel.PUBLIC],
    Viewer.PARTNER: [AccessLevel.PUBLIC, AccessLevel.PARTNER],
    Viewer.RESEARCH: [AccessLevel.PUBLIC, AccessLevel.PARTNER, AccessLevel.RESTRICTED],
}


def viewer_level(user) -> Viewer:
    """The access level of ``user`` (None or AnonymousUser are the public)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Viewer.PUBLIC
    cached = getattr(user, "_atlas_viewer_level", None)
    if cached is not None:
        return cached
    names = set() if user.is_superuser else set(user.groups.values_list("name", flat=True))
    user._atlas_viewer_level = role_level(user, names)
    return user._atlas_viewer_level


def role_level(user, names: set[str]) -> Viewer:
    """The level of an active, signed-in ``user`` who has the groups ``names`` (read by the
    caller: :func:`viewer_level`, or the token authentication in the query of the token)."""
    if user.is_superuser or names & RESEARCH_GROUPS:
        level = Viewer.RESEARCH
    elif names & PARTNER_GROUPS:
        level = Viewer.PARTNER
    else:
        level = Viewer.PUBLIC
    if level == Viewer.RESEARCH and not _second_factor_ok(user):
        # A staff session without its verified second factor sees only what the public sees.
        level = Viewer.PUBLIC
    return level


def _second_factor_ok(user) -> bool:
    from django.conf import settings

    if not getattr(settings, "STAFF_2FA_REQUIRED", False):
        return True
    is_verified = getattr(user, "is_verified", None)
    # Set by django-otp's middleware on session users only; an API token is its own factor.
    return is_verified is None or bool(is_verified())


def may_see_level(user, level: str) -> bool:
    return level in LEVELS_FOR[viewer_level(user)]


class ResearchQuerySet(models.QuerySet):
    """QuerySet of research records, filtered by the visibility policy."""

    def visible_to(self, user):
        """Records ``user`` may see: never a deleted one; below research level only published
        records at or under the viewer's access level."""
        qs = self.filter(deleted_at__isnull=True)
        level = viewer_level(user)
        if level == Viewer.RESEARCH:
            return qs
        return qs.filter(state=PublicationState.PUBLISHED, access_level__in=LEVELS_FOR[level])

    def deleted(self):
        return self.filter(deleted_at__isnull=False)
