"""The civil-society side: CSOs, their capacity, links, leaders, cooperation with LAs and the
historical and cultural assets of towns that enrichment strategies build on."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from governance.access import AccessLevel
from governance.models import (
    Claim,
    LocalName,
    OneTownRecord,
    ResearchRecord,
    Source,
    TimeStamped,
    audited,
    audited_links,
    published_unique,
)
from governance.text import search_key
from towns.models import Person, Post, Town
from towns.models.power import Dated, dated_constraint


@audited()
class FieldOfActivity(LocalName, TimeStamped):
    """The controlled vocabulary of CSO fields of activity."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_be = models.CharField(_("name (Belarusian)"), max_length=120, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=120, blank=True)

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("field of activity")
        verbose_name_plural = _("fields of activity")

    def __str__(self) -> str:
        return self.name


class LegalForm(models.TextChoices):
    PUBLIC_ASSOCIATION = "public_association", _("Public association")
    FOUNDATION = "foundation", _("Foundation")
    INSTITUTION = "institution", _("Institution")
    UNION = "union", _("Union or association of legal entities")
    RELIGIOUS = "religious", _("Religious organisation")
    NONE = "none", _("Not registered")
    FOREIGN = "foreign", _("Registered abroad")
    OTHER = "other", _("Other")


class CSOStatus(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    LIQUIDATED = "liquidated", _("Liquidated")
    INFORMAL = "informal", _("Informal initiative")
    ABROAD = "abroad", _("Working from abroad")


class Character(models.TextChoices):
    INDEPENDENT = "independent", _("Independent")
    GONGO = "gongo", _("GONGO (government-organised)")
    CHURCH = "church", _("Church-based")
    BUSINESS = "business", _("Business association")
    OTHER = "other", _("Other")


class SizeBand(models.TextChoices):
    TINY = "1-5", _("1–5 people")
    SMALL = "6-20", _("6–20 people")
    MEDIUM = "21-100", _("21–100 people")
    LARGE = "100+", _("More than 100 people")


class ServedTownsRead:
    """A record read by the pages of the towns its CSO serves, and by no other town's (the
    civil-society panel, the CSO network and the strategy advice of a town read the CSOs
    serving it, their links, leaders and scores, never another town's): its published writes
    count for those towns only, besides the reads of all towns (governance.cache, "Scoped
    reads"). ``READ_CACHE_CSO_COLUMNS`` names the columns holding its CSOs."""

    READ_CACHE_CSO_COLUMNS: tuple[str, ...] = ("cso_id",)

    @classmethod
    def read_cache_towns(cls, alias: str, qn) -> str:
        served = CSO._meta.get_field("towns")
        through = qn(served.remote_field.through._meta.db_table)
        cso, town = qn(served.m2m_column_name()), qn(served.m2m_reverse_name())
        csos = ", ".join(f"{alias}.{qn(column)}" for column in cls.READ_CACHE_CSO_COLUMNS)
        return f"SELECT s.{town} AS town FROM {through} s WHERE s.{cso} IN ({csos})"  # noqa: S608


@audited()
class CSO(ServedTownsRead, LocalName, ResearchRecord):
    """A civil society organisation. Leaders and contacts are sensitive fields."""

    READ_CACHE_CSO_COLUMNS = ("id",)

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=250)
    name_be = models.CharField(_("name (Belarusian)"), max_length=250, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=250, blank=True)
    legal_form = models.CharField(_("legal form"), max_length=20, choices=LegalForm)
    status = models.CharField(
        _("status"), max_length=12, choices=CSOStatus, default=CSOStatus.REGISTERED
    )
    liquidation_date = models.DateField(_("liquidation date"), null=True, blank=True)
    liquidation_grounds = models.TextField(_("grounds of liquidation"), blank=True)
    character = models.CharField(_("character"), max_length=12, choices=Character)
    character_evidence = models.TextField(
        _("evidence for the character"),
        blank=True,
        help_text=_("Why this CSO is judged independent, a GONGO, etc."),
    )
    fields_of_activity = models.ManyToManyField(
        FieldOfActivity, verbose_name=_("fields of activity"), blank=True, related_name="csos"
    )
    towns = models.ManyToManyField(
        Town, verbose_name=_("towns served"), blank=True, related_name="csos"
    )
    founding_year = models.PositiveSmallIntegerField(
        _("founding year"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1900), MaxValueValidator(2100)],
    )
    size_band = models.CharField(_("size"), max_length=8, choices=SizeBand, blank=True)
    description = models.TextField(_("description"), blank=True)
    contacts = models.TextField(_("contacts"), blank=True)
    contacts_access_level = models.CharField(
        _("access level of the contacts"),
        max_length=12,
        choices=AccessLevel,
        default=AccessLevel.RESTRICTED,
    )
    leaders_access_level = models.CharField(
        _("access level of the leaders"),
        max_length=12,
        choices=AccessLevel,
        default=AccessLevel.RESTRICTED,
    )
    leaders = models.ManyToManyField(
        Person, through="CSOLeadership", related_name="led_csos", blank=True
    )
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)
    search_text = models.TextField(editable=False, default="")

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("CSO")
        verbose_name_plural = _("CSOs")
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="liquidated") | Q(liquidation_date__isnull=False),
                name="cso_liquidated_has_date",
                violation_error_message=_("A liquidated CSO needs its liquidation date."),
            ),
            models.CheckConstraint(
                condition=Q(status="liquidated") | Q(liquidation_date__isnull=True),
                name="cso_liquidation_date_only_when_liquidated",
                violation_error_message=_("Only a liquidated CSO has a liquidation date."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.search_text = search_key([self.name_en, self.name_be, self.name_ru])
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("csos:detail", kwargs={"slug": self.slug})

    def clean(self) -> None:
        super().clean()
        if self.status == CSOStatus.LIQUIDATED and not self.liquidation_grounds.strip():
            raise ValidationError(
                {"liquidation_grounds": _("Give the grounds of the liquidation.")}
            )


@audited()
class CSOLeadership(ServedTownsRead, Claim, Dated):
    """A person leading a CSO. Sensitive: the names follow the CSO's leaders access level."""

    cso = models.ForeignKey(CSO, on_delete=models.CASCADE, related_name="leaderships")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="cso_leaderships")
    role = models.CharField(_("role"), max_length=120, default="Leader")
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        verbose_name = _("CSO leadership")
        verbose_name_plural = _("CSO leaderships")
        constraints = [dated_constraint("leadership_dates_ordered")]

    def __str__(self) -> str:
        return f"{self.person} ({self.role}, {self.cso})"


class CapacityDimension(models.TextChoices):
    """The dimensions of the USAID CSO Sustainability Index (1 = best, 7 = worst)."""

    LEGAL = "legal_environment", _("Legal environment")
    ORGANISATIONAL = "organizational_capacity", _("Organisational capacity")
    FINANCIAL = "financial_viability", _("Financial viability")
    ADVOCACY = "advocacy", _("Advocacy")
    SERVICE = "service_provision", _("Service provision")
    INFRASTRUCTURE = "sectoral_infrastructure", _("Sectoral infrastructure")
    IMAGE = "public_image", _("Public image")


@audited()
class CapacityScore(ServedTownsRead, Claim):
    """A CSO's score on one dimension of the CSO Sustainability Index, with its source."""

    cso = models.ForeignKey(CSO, on_delete=models.CASCADE, related_name="capacity_scores")
    dimension = models.CharField(_("dimension"), max_length=24, choices=CapacityDimension)
    year = models.PositiveSmallIntegerField(_("year"))
    score = models.DecimalField(
        _("score (1-7)"),
        max_digits=2,
        decimal_places=1,
        validators=[MinValueValidator(1), MaxValueValidator(7)],
        help_text=_("As in the CSO Sustainability Index: 1 is the strongest, 7 the weakest."),
    )
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, null=True, blank=True
    )

    class Meta:
        ordering = ["cso", "dimension", "-year"]
        verbose_name = _("capacity score")
        verbose_name_plural = _("capacity scores")
        constraints = [
            published_unique(
                fields=["cso", "dimension", "year"],
                name="capacity_score_one_per_year",
                message=_("This CSO already has a score on this dimension."),
            ),
            models.CheckConstraint(
                condition=Q(score__gte=1) & Q(score__lte=7),
                name="capacity_score_1_7",
                violation_error_message=_("The score is between 1 and 7."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cso}: {self.get_dimension_display()} {self.score} ({self.year})"


class LinkKind(models.TextChoices):
    PARTNERSHIP = "partnership", _("Partnership")
    JOINT_PROJECT = "joint_project", _("Joint project")
    UMBRELLA = "umbrella", _("Umbrella membership")
    FUNDING = "funding", _("Funding")
    INFORMAL = "informal", _("Informal contact")


@audited()
class CSOLink(ServedTownsRead, Claim, Dated):
    """A link between two CSOs; the network of links measures fragmentation."""

    READ_CACHE_CSO_COLUMNS = ("source_cso_id", "target_cso_id")

    source_cso = models.ForeignKey(CSO, on_delete=models.CASCADE, related_name="links_out")
    target_cso = models.ForeignKey(CSO, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(_("kind"), max_length=16, choices=LinkKind)
    note = models.TextField(_("note"), blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        verbose_name = _("CSO link")
        verbose_name_plural = _("CSO links")
        constraints = [
            dated_constraint("cso_link_dates_ordered"),
            models.CheckConstraint(
                condition=~Q(source_cso=F("target_cso")),
                name="cso_link_between_two_csos",
                violation_error_message=_("A link joins two different CSOs."),
            ),
            published_unique(
                fields=["source_cso", "target_cso", "kind"],
                name="cso_link_unique",
                message=_("These CSOs already have a link of this kind."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_cso} — {self.target_cso} ({self.get_kind_display()})"


class Strategy(models.IntegerChoices):
    """The three options of cooperation between LAs and CSOs."""

    BUILT_IN = 1, _("1. CSOs built into the system")
    MARGINALISED = 2, _('2. Strengthening "marginalised" CSO actors')
    ENRICHMENT = 3, _('3. "Enrichment techniques" for people and situations')


class Outcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    PARTIAL = "partial", _("Partial success")
    FAILED = "failed", _("Failed")
    ONGOING = "ongoing", _("Ongoing")


@audited()
class CooperationCase(OneTownRecord, Claim):
    """A case of cooperation between a local authority and CSOs, with its outcome."""

    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="cooperation_cases")
    la_body = models.CharField(_("LA body"), max_length=200)
    la_post = models.ForeignKey(
        Post, verbose_name=_("LA post"), on_delete=models.SET_NULL, null=True, blank=True
    )
    csos = models.ManyToManyField(CSO, verbose_name=_("CSOs"), related_name="cooperation_cases")
    start_year = models.PositiveSmallIntegerField(_("from year"))
    end_year = models.PositiveSmallIntegerField(_("to year"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=300)
    strategy = models.PositiveSmallIntegerField(_("strategy option"), choices=Strategy)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome)
    lessons = models.TextField(_("lessons"), blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        ordering = ["town", "-start_year"]
        verbose_name = _("cooperation case")
        verbose_name_plural = _("cooperation cases")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_year__isnull=True) | Q(end_year__gte=F("start_year")),
                name="cooperation_years_ordered",
                violation_error_message=_("The last year cannot be before the first."),
            )
        ]

    def __str__(self) -> str:
        return self.subject


class AssetKind(models.TextChoices):
    HERITAGE_SITE = "heritage_site", _("Heritage site")
    ARTEFACT = "artefact", _("Historical artefact")
    CULTURAL_PRODUCT = "cultural_product", _("Contemporary cultural product")
    TRADITION = "tradition", _("Living tradition")


@audited()
class CulturalAsset(OneTownRecord, LocalName, Claim):
    """A historical or cultural "gap" of a town: an asset enrichment strategies can build on."""

    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="cultural_assets")
    kind = models.CharField(_("kind"), max_length=20, choices=AssetKind)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_be = models.CharField(_("name (Belarusian)"), max_length=200, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        ordering = ["town", "name_en"]
        verbose_name = _("cultural asset")
        verbose_name_plural = _("cultural assets")

    def __str__(self) -> str:
        return self.name_en


for _model in (CSO, CSOLeadership, CSOLink, CooperationCase, CulturalAsset):
    audited_links(_model)
