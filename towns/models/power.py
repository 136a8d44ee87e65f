"""Who governs: persons, posts, appointments, influence groups, their influence and ties.

Field names follow the Popolo standard where it has one (Person, Organization, Post,
Membership, ``start_date``/``end_date``) so that the data can be exported to it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from governance.access import AccessLevel, Viewer, viewer_level
from governance.models import (
    Claim,
    LocalName,
    OneTownRecord,
    ReadThroughLinks,
    ResearchRecord,
    Source,
    TimeStamped,
    audited,
)
from towns.models.places import MultilingualName, Town


class Origin(models.TextChoices):
    """Where a person comes from, as residents perceive it ("our own" or "aliens")."""

    THIS_TOWN = "this_town", _("From this town or district")
    REGION = "region", _("From elsewhere in the region")
    OTHER_REGION = "other_region", _("From another region")
    UNKNOWN = "unknown", _("Unknown")


def dated_constraint(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(end_date__isnull=True)
        | Q(start_date__isnull=True)
        | Q(end_date__gte=F("start_date")),
        name=name,
        violation_error_message=_("The end date cannot be before the start date."),
    )


class Dated(models.Model):
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)

    class Meta:
        abstract = True

    def active_on(self, day) -> bool:
        """True if the period covers ``day`` (open ends count as covering)."""
        return (self.start_date is None or self.start_date <= day) and (
            self.end_date is None or day <= self.end_date
        )


@audited()
class Person(ReadThroughLinks, ResearchRecord):
    """A person in power or in a network. The names are sensitive: see ``names_access_level``."""

    name_en = models.CharField(_("name (English)"), max_length=200)
    name_be = models.CharField(_("name (Belarusian)"), max_length=200, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=200, blank=True)
    given_name = models.CharField(_("given name"), max_length=100, blank=True)
    family_name = models.CharField(_("family name"), max_length=100, blank=True)
    patronymic_name = models.CharField(_("patronymic"), max_length=100, blank=True)
    origin = models.CharField(_("origin"), max_length=16, choices=Origin, default=Origin.UNKNOWN)
    origin_town = models.ForeignKey(
        Town,
        verbose_name=_("home town"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="natives",
    )
    names_access_level = models.CharField(
        _("access level of the names"),
        max_length=12,
        choices=AccessLevel,
        default=AccessLevel.RESTRICTED,
        help_text=_("Who may see this person's names; others see the role only."),
    )
    note = models.TextField(_("note"), blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")

    def __str__(self) -> str:
        return self.name_en


class PostKind(models.TextChoices):
    EXECUTIVE_CHAIRMAN = "executive_chairman", _("Chairman of the executive committee")
    EXECUTIVE_DEPUTY = "executive_deputy", _("Deputy chairman of the executive committee")
    COUNCIL_CHAIRMAN = "council_chairman", _("Chairman of the local council")
    ENTERPRISE_HEAD = "enterprise_head", _("Head of an enterprise")
    OTHER = "other", _("Other")


class PostQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Posts ``user`` may see. A post is created at once (the workspace enters it with the
        appointments that hold it), so it reaches anyone below research level only through an
        appointment that viewer may see, which a reviewer has published: a new post, or one
        only restricted appointments hold, is not public."""
        if viewer_level(user) == Viewer.RESEARCH:
            return self
        held = Appointment.objects.visible_to(user).filter(post=OuterRef("pk"))
        return self.filter(Exists(held))


@audited()
class Post(MultilingualName, TimeStamped):
    """A position (Popolo Post): chairman of the district executive committee, etc."""

    kind = models.CharField(_("kind"), max_length=24, choices=PostKind)
    organization = models.CharField(
        _("organisation"),
        max_length=200,
        blank=True,
        help_text=_("The body the post belongs to, e.g. district executive committee."),
    )
    is_key = models.BooleanField(
        _("key post"), default=True, help_text=_("Counts for 'who governs' on town profiles.")
    )

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        constraints = [models.UniqueConstraint(fields=["name_en"], name="post_unique_name")]


class GroupOrigin(models.TextChoices):
    OUR_OWN = "our_own", _("Our own")
    ALIEN = "alien", _("Aliens")


class GroupKind(models.TextChoices):
    """The kinds of influence groups of the research (with their origin in ``ORIGIN_OF``)."""

    SUPERIOR_STATE = "superior_state", _("Superior state structure")
    OUTSIDE_CORPORATE = "outside_corporate", _("Outside corporate structure")
    CLAN_FAMILY = "clan_family", _("Clan or family")
    QUASI_COMMUNITY = "quasi_community", _("Quasi-community")
    ECCLESIAL = "ecclesial", _("Ecclesial community")
    OTHER = "other", _("Other")


TYPICAL_ORIGIN = {
    GroupKind.SUPERIOR_STATE: GroupOrigin.ALIEN,
    GroupKind.OUTSIDE_CORPORATE: GroupOrigin.ALIEN,
    GroupKind.CLAN_FAMILY: GroupOrigin.OUR_OWN,
    GroupKind.QUASI_COMMUNITY: GroupOrigin.OUR_OWN,
    GroupKind.ECCLESIAL: GroupOrigin.OUR_OWN,
}


class CorporateSector(models.TextChoices):
    MILITARY = "military", _("Military")
    LAW_ENFORCEMENT = "law_enforcement", _("Law enforcement")
    INDUSTRIAL = "industrial", _("Industrial")
    CENTRAL_POWER = "central_power", _("Power group in the central administration")


@audited()
class InfluenceGroup(ReadThroughLinks, LocalName, ResearchRecord):
    """A group or structure of influence (Popolo Organization)."""

    name_en = models.CharField(_("name (English)"), max_length=200)
    name_be = models.CharField(_("name (Belarusian)"), max_length=200, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=200, blank=True)
    origin = models.CharField(_("origin"), max_length=8, choices=GroupOrigin)
    kind = models.CharField(_("kind"), max_length=20, choices=GroupKind)
    sector = models.CharField(
        _("sector"),
        max_length=16,
        choices=CorporateSector,
        blank=True,
        help_text=_("For outside corporate structures only."),
    )
    description = models.TextField(_("description"), blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)
    members = models.ManyToManyField(
        Person, through="GroupMembership", related_name="influence_groups", blank=True
    )

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("influence group")
        verbose_name_plural = _("influence groups")
        constraints = [
            models.CheckConstraint(
                condition=Q(sector="") | Q(kind="outside_corporate"),
                name="group_sector_only_for_corporate",
                violation_error_message=_("Only outside corporate structures have a sector."),
            )
        ]

    def __str__(self) -> str:
        return self.name_en

    def derive_origin(self) -> None:
        """The kind decides the origin ("a superior state structure is by definition alien");
        only a group of the kind "other" has its origin chosen."""
        typical = TYPICAL_ORIGIN.get(self.kind)
        if typical:
            self.origin = typical

    def clean_fields(self, exclude=None) -> None:
        self.derive_origin()
        super().clean_fields(exclude)

    def save(self, *args, **kwargs):
        self.derive_origin()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        typical = TYPICAL_ORIGIN.get(self.kind)
        if typical and self.origin and self.origin != typical:
            raise ValidationError(
                {
                    "origin": _("A %(kind)s is by definition %(origin)s.")
                    % {"kind": self.get_kind_display(), "origin": typical.label}
                }
            )


@audited()
class GroupMembership(ReadThroughLinks, Claim, Dated):
    """A person's membership of an influence group (Popolo Membership)."""

    group = models.ForeignKey(InfluenceGroup, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=200, blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        verbose_name = _("group membership")
        verbose_name_plural = _("group memberships")
        constraints = [dated_constraint("membership_dates_ordered")]

    def __str__(self) -> str:
        return f"{self.person} in {self.group}"


@audited()
class Influence(OneTownRecord, Claim, Dated):
    """An influence group's influence on a town: strength 1-5 over a period, with evidence."""

    group = models.ForeignKey(InfluenceGroup, on_delete=models.CASCADE, related_name="influences")
    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="influences")
    strength = models.PositiveSmallIntegerField(
        _("strength"),
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("1 = marginal, 5 = controls appointments and decisions."),
    )
    note = models.TextField(_("note"), blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        verbose_name = _("influence")
        verbose_name_plural = _("influences")
        constraints = [
            dated_constraint("influence_dates_ordered"),
            models.CheckConstraint(
                condition=Q(strength__gte=1) & Q(strength__lte=5),
                name="influence_strength_1_5",
                violation_error_message=_("Strength is between 1 and 5."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group} → {self.town} ({self.strength})"


class RecruitedFrom(models.TextChoices):
    THIS_TOWN = "this_town", _("This town or district")
    REGION = "region", _("Elsewhere in the region")
    REGIONAL_ADMIN = "regional_admin", _("Regional administration")
    CENTRAL_ADMIN = "central_admin", _("Central administration")
    SECURITY = "security", _("Military or law enforcement")
    ENTERPRISE = "enterprise", _("An enterprise")
    OTHER_REGION = "other_region", _("Another region")
    UNKNOWN = "unknown", _("Unknown")


@audited()
class Appointment(OneTownRecord, Claim, Dated):
    """A person holding a post in a town, where they came from and who influenced it."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="appointments")
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="appointments")
    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="appointments")
    recruited_from = models.CharField(
        _("recruited from"), max_length=16, choices=RecruitedFrom, default=RecruitedFrom.UNKNOWN
    )
    influenced_by_groups = models.ManyToManyField(
        InfluenceGroup, verbose_name=_("influenced by groups"), blank=True
    )
    influenced_by_persons = models.ManyToManyField(
        Person,
        verbose_name=_("influenced by persons"),
        blank=True,
        related_name="influenced_appointments",
    )
    note = models.TextField(_("note"), blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        ordering = ["town", "-start_date"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        constraints = [dated_constraint("appointment_dates_ordered")]

    def __str__(self) -> str:
        return f"{self.person} — {self.post}, {self.town}"


class TieKind(models.TextChoices):
    KINSHIP = "kinship", _("Kinship")
    COLLEAGUES = "colleagues", _("Former colleagues")
    CO_RELIGIONISTS = "co_religionists", _("Co-religionists")
    BUSINESS = "business", _("Business partners")
    PATRON_CLIENT = "patron_client", _("Patron and client")


@audited()
class Tie(ReadThroughLinks, Claim, Dated):
    """An informal tie between two persons. Sensitive: restricted by default."""

    person_a = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="ties_from")
    person_b = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="ties_to")
    kind = models.CharField(_("kind"), max_length=16, choices=TieKind)
    note = models.TextField(_("note"), blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        verbose_name = _("tie")
        verbose_name_plural = _("ties")
        constraints = [
            dated_constraint("tie_dates_ordered"),
            models.CheckConstraint(
                condition=~Q(person_a=F("person_b")),
                name="tie_between_two_persons",
                violation_error_message=_("A tie links two different persons."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_a} — {self.person_b} ({self.get_kind_display()})"
