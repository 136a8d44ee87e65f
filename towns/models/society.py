"""How power is implemented, and the society it meets: the parts of the research beyond "who
governs" and "what is governed".

* **Mechanisms of management** (:class:`ManagementMechanism`): the instruments a town's
  authorities were observed to use (plan targets, permits and inspections, ideological work
  through GONGOs, ...), typed by an extendable vocabulary (:class:`MechanismKind`) and linked to
  the indicators they serve, the groups that use them and the activities in the gap they
  suppress or tolerate.
* **Society** (:class:`SocietyObservation`, :class:`SelfOrganisationEvent`): how engaged or
  alienated a town's people are, observed per year with the instrument and sample, and the
  register of self-organisation (initiatives, petitions, protests, community projects).
* **Quality of life as freedom of choice** (:class:`WayOfLife`): the ways of life a town offers,
  each with how realisable it is and the barriers to it.
* **Communication sites** (:class:`CommunicationSite`): public places where people meet, who runs
  them and whether they are open to independent activity; a flag marks the places of dialogue
  between lifestyles.

Every record is a :class:`governance.models.Claim`: sources, confidence, access level, review,
synthetic flag, soft delete, version and audit trail, exactly as the other research records.
The measures built on them are in :mod:`towns.society`.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from governance.access import AccessLevel
from governance.models import (
    Claim,
    OneRegionRead,
    OneTownRecord,
    Source,
    TimeStamped,
    audited,
    published_unique,
)
from towns.models.activities import Activity
from towns.models.indicators import Indicator
from towns.models.places import MultilingualName, Town
from towns.models.power import Dated, InfluenceGroup, dated_constraint


def year_field(label, **kwargs):
    return models.PositiveSmallIntegerField(
        label, validators=[MinValueValidator(1990), MaxValueValidator(2100)], **kwargs
    )


def year_range(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(year__gte=1990) & Q(year__lte=2100),
        name=name,
        violation_error_message=_("The year is between 1990 and 2100."),
    )


# --- How power is implemented ------------------------------------------------------------------


@audited()
class MechanismKind(MultilingualName, TimeStamped):
    """A kind of management mechanism. The research team extends this vocabulary in the admin;
    the six kinds the research names are created by the migration."""

    code = models.SlugField(_("code"), max_length=48, unique=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("kind of mechanism")
        verbose_name_plural = _("kinds of mechanism")


@audited()
class ManagementMechanism(OneTownRecord, Claim, Dated):
    """A way the town's authorities implement power, observed over a period."""

    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="mechanisms")
    kind = models.ForeignKey(
        MechanismKind, verbose_name=_("kind"), on_delete=models.PROTECT, related_name="mechanisms"
    )
    description = models.TextField(_("description"))
    indicators = models.ManyToManyField(
        Indicator,
        verbose_name=_("indicators it serves"),
        blank=True,
        related_name="mechanisms",
    )
    groups = models.ManyToManyField(
        InfluenceGroup,
        verbose_name=_("groups that use it"),
        blank=True,
        related_name="mechanisms",
    )
    suppresses = models.ManyToManyField(
        Activity,
        verbose_name=_("activities in the gap it suppresses"),
        blank=True,
        related_name="suppressed_by",
    )
    tolerates = models.ManyToManyField(
        Activity,
        verbose_name=_("activities in the gap it tolerates"),
        blank=True,
        related_name="tolerated_by",
    )
    note = models.TextField(_("note"), blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        ordering = ["town", "kind__name_en", "pk"]
        verbose_name = _("management mechanism")
        verbose_name_plural = _("management mechanisms")
        constraints = [dated_constraint("mechanism_dates_ordered")]

    def __str__(self) -> str:
        return f"{self.kind} — {self.town}"


# --- Society: engagement, alienation, self-organisation ----------------------------------------


class SocietyMeasure(models.TextChoices):
    INITIATIVES = "initiatives", _("Participation in local initiatives")
    PETITIONS = "petitions", _("Petitions and collective appeals")
    HEARINGS = "hearings", _("Public hearings")
    ELECTIONS = "elections", _("Contested local elections")
    VOLUNTEERS = "volunteers", _("Volunteer groups")
    TRUST = "trust", _("Trust in local authorities")


class EngagementLevel(models.IntegerChoices):
    """The researcher's reading of an observation: how engaged (5) or alienated (1) it shows
    the town's people to be."""

    VERY_LOW = 1, _("Very low (alienated)")
    LOW = 2, _("Low")
    MEDIUM = 3, _("Medium")
    HIGH = 4, _("High")
    VERY_HIGH = 5, _("Very high (engaged)")


class Instrument(models.TextChoices):
    SURVEY = "survey", _("Survey")
    INTERVIEW = "interview", _("Interviews")
    OBSERVATION = "observation", _("Observation")
    DOCUMENT = "document", _("Document or official record")


@audited()
class SocietyObservation(OneTownRecord, Claim):
    """One observation of engagement or alienation in a town and year.

    A figure (``value`` with its ``unit``, e.g. 12 % of respondents), a reading (``level``), or
    both; the summaries use the reading, so an observation without one is evidence not yet read.
    """

    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="society_observations")
    year = year_field(_("year"))
    measure = models.CharField(_("measure"), max_length=16, choices=SocietyMeasure)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=3, null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    level = models.PositiveSmallIntegerField(
        _("engagement level"),
        choices=EngagementLevel,
        null=True,
        blank=True,
        help_text=_("What the observation shows: 1 alienated … 5 engaged."),
    )
    instrument = models.CharField(_("instrument"), max_length=12, choices=Instrument)
    sample_size = models.PositiveIntegerField(
        _("sample size"),
        null=True,
        blank=True,
        help_text=_("Respondents, where there is a sample."),
    )
    description = models.TextField(_("description"), blank=True)
    note = models.TextField(_("note"), blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        ordering = ["town", "-year", "measure", "pk"]
        verbose_name = _("society observation")
        verbose_name_plural = _("society observations")
        constraints = [
            year_range("society_observation_year_range"),
            models.CheckConstraint(
                condition=Q(value__isnull=False) | Q(level__isnull=False),
                name="society_observation_value_or_level",
                violation_error_message=_("Give a value with its unit, a level, or both."),
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | ~Q(unit=""),
                name="society_observation_value_has_unit",
                violation_error_message=_("A value needs its unit."),
            ),
            models.CheckConstraint(
                condition=Q(level__isnull=True) | (Q(level__gte=1) & Q(level__lte=5)),
                name="society_observation_level_1_5",
                violation_error_message=_("The level is between 1 and 5."),
            ),
            models.CheckConstraint(
                condition=Q(sample_size__isnull=True) | Q(sample_size__gt=0),
                name="society_observation_sample_positive",
                violation_error_message=_("A sample has at least one respondent."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_measure_display()}, {self.town} {self.year}"


class EventKind(models.TextChoices):
    INITIATIVE = "initiative", _("Initiative")
    PETITION = "petition", _("Petition")
    PROTEST = "protest", _("Protest")
    COMMUNITY_PROJECT = "community_project", _("Community project")


class EventOutcome(models.TextChoices):
    ACHIEVED = "achieved", _("Achieved its aim")
    PARTLY = "partly", _("Partly achieved")
    NOT_ACHIEVED = "not_achieved", _("Not achieved")
    SUPPRESSED = "suppressed", _("Suppressed")
    ONGOING = "ongoing", _("Ongoing")
    UNKNOWN = "unknown", _("Unknown")


@audited()
class SelfOrganisationEvent(OneTownRecord, Claim):
    """A sign of self-organisation: people acting together without being told to."""

    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="self_organisation")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=EventOutcome, default=EventOutcome.UNKNOWN
    )
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        ordering = ["town", "-date", "pk"]
        verbose_name = _("self-organisation event")
        verbose_name_plural = _("self-organisation events")

    def __str__(self) -> str:
        return self.title


# --- Quality of life as freedom of choice ------------------------------------------------------


class WayOfLifeCategory(models.TextChoices):
    WORK = "work", _("Work sector")
    EDUCATION = "education", _("Education path")
    CULTURE = "culture", _("Cultural or leisure scene")
    FAITH = "faith", _("Faith community")
    ENTERPRISE = "enterprise", _("Entrepreneurship")


class Availability(models.TextChoices):
    """How realisable a way of life is in the town (weights in :mod:`towns.society`)."""

    OPEN = "open", _("Open: realisable for anyone who wants it")
    LIMITED = "limited", _("Limited: realisable with effort or for some")
    MARGINAL = "marginal", _("Marginal: exists, hardly realisable")


@audited()
class WayOfLife(OneRegionRead, Claim):
    """A way of life a town offers (a work sector, an education path, a scene, a faith
    community, a kind of enterprise), how realisable it is and what stands in the way."""

    # Every town's strategy advice compares it with the ways of life of its whole region
    # (towns.society_profile, "enrich_region_ways"), so its writes count for the facts of
    # every town of its region (governance.cache, "Scoped reads"), not for another region's.

    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="ways_of_life")
    category = models.CharField(_("category"), max_length=12, choices=WayOfLifeCategory)
    name = models.CharField(_("name"), max_length=200)
    availability = models.CharField(_("availability"), max_length=10, choices=Availability)
    barriers = models.TextField(_("barriers"), blank=True)
    year = year_field(_("year observed"), null=True, blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        ordering = ["town", "category", "name"]
        verbose_name = _("way of life")
        verbose_name_plural = _("ways of life")
        constraints = [
            published_unique(
                fields=["town", "category", "name"],
                name="way_of_life_unique_per_town",
                message=_("This town already has this way of life."),
            )
        ]

    def __str__(self) -> str:
        return self.name


# --- The urban environment: communication sites ------------------------------------------------


class SiteKind(models.TextChoices):
    LIBRARY = "library", _("Library")
    CLUB = "club", _("Club or house of culture")
    CAFE = "cafe", _("Café")
    PARK = "park", _("Park or square")
    CHURCH = "church", _("Church or prayer house")
    ONLINE = "online", _("Online group")
    OTHER = "other", _("Other")


class SiteOperator(models.TextChoices):
    STATE = "state", _("State")
    GONGO = "gongo", _("GONGO")
    CHURCH = "church", _("Church")
    INDEPENDENT = "independent", _("Independent")
    PRIVATE = "private", _("Private business")


class Openness(models.TextChoices):
    YES = "yes", _("Yes")
    PARTLY = "partly", _("Partly")
    NO = "no", _("No")


@audited()
class CommunicationSite(OneTownRecord, Claim):
    """A public place where people meet and talk (or an online group), who runs it and whether
    independent activity may happen there.

    The coordinates have their own access level: the place of an independent group can
    endanger the people who meet there.
    """

    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="communication_sites")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=SiteKind)
    operator = models.CharField(_("run by"), max_length=12, choices=SiteOperator)
    open_to_independent = models.CharField(
        _("open to independent activity"), max_length=8, choices=Openness
    )
    dialogue_place = models.BooleanField(
        _("place of dialogue between lifestyles"),
        default=False,
        help_text=_("People of different ways of life meet and talk here."),
    )
    description = models.TextField(_("description"), blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=8,
        decimal_places=5,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=8,
        decimal_places=5,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    coordinates_access_level = models.CharField(
        _("access level of the coordinates"),
        max_length=12,
        choices=AccessLevel,
        default=AccessLevel.RESTRICTED,
        help_text=_("Who may see where the place is; others see the town only."),
    )
    year = year_field(_("year observed"), null=True, blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        ordering = ["town", "name"]
        verbose_name = _("communication site")
        verbose_name_plural = _("communication sites")
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="site_coordinates_both_or_none",
                violation_error_message=_("Give both coordinates or neither."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="online") | Q(latitude__isnull=True),
                name="site_online_has_no_place",
                violation_error_message=_("An online group has no coordinates."),
            ),
        ]

    def __str__(self) -> str:
        return self.name
