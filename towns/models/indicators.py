"""What is governed: the two indicator systems and their values per town and period."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from governance.models import (
    Claim,
    Source,
    TimeStamped,
    audited,
    in_active_language,
    published_unique,
)
from towns.models.places import MultilingualName, Town


class IndicatorSystem(models.IntegerChoices):
    NATIONAL = 1, _("1: national social standards, economic and development indicators")
    PROBLEM_FREE = 2, _('2: "problem-free" indicators of undesirable activity')


class Direction(models.TextChoices):
    HIGHER_BETTER = "higher_better", _("Higher is better")
    HIGHER_WORSE = "higher_worse", _("Higher is worse")


class StandardKind(models.TextChoices):
    MINIMUM = "minimum", _("Minimum (at least)")
    MAXIMUM = "maximum", _("Maximum (at most)")
    TARGET = "target", _("Target")


@audited()
class Indicator(MultilingualName, TimeStamped):
    """An indicator of one of the two systems, as official statistics define it."""

    system = models.PositiveSmallIntegerField(_("system"), choices=IndicatorSystem)
    code = models.SlugField(_("code"), max_length=64, unique=True)
    unit = models.CharField(_("unit"), max_length=64, help_text=_("In English."))
    unit_be = models.CharField(_("unit (Belarusian)"), max_length=64, blank=True)
    unit_ru = models.CharField(_("unit (Russian)"), max_length=64, blank=True)
    direction = models.CharField(_("direction"), max_length=16, choices=Direction)
    standard = models.DecimalField(
        _("national standard or target"), max_digits=14, decimal_places=3, null=True, blank=True
    )
    standard_kind = models.CharField(
        _("kind of standard"), max_length=8, choices=StandardKind, blank=True
    )
    description = models.TextField(
        _("how it is measured"), help_text=_("The definition used by official statistics.")
    )
    definition_source = models.ForeignKey(
        Source,
        verbose_name=_("definition source"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["system", "code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        constraints = [
            models.CheckConstraint(
                condition=Q(standard__isnull=True, standard_kind="")
                | (Q(standard__isnull=False) & ~Q(standard_kind="")),
                name="indicator_standard_has_kind",
                violation_error_message=_(
                    "A standard needs its kind (minimum, maximum or target), and only a standard "
                    "has one."
                ),
            )
        ]

    @property
    def local_unit(self) -> str:
        """The unit in the active language (English when it has no translation), as ``name``
        gives the name."""
        return in_active_language(self, "unit", self.unit)

    def meets_standard(self, value) -> bool | None:
        """Whether ``value`` meets the national standard; None when there is none."""
        if self.standard is None or value is None:
            return None
        if self.standard_kind == StandardKind.MINIMUM:
            return value >= self.standard
        if self.standard_kind == StandardKind.MAXIMUM:
            return value <= self.standard
        if self.direction == Direction.HIGHER_BETTER:
            return value >= self.standard
        return value <= self.standard


@audited()
class IndicatorValue(Claim):
    """A value of an indicator for a town and period (a year, or a quarter of it).

    ``quarter`` is 0 for a whole year, so that "one value per town, indicator and period" is a
    plain unique constraint.
    """

    #: What :func:`governance.copy.bulk_load` does about the triggers that keep
    #: :class:`RegionalIndicatorStat`: off during a large load (each ``COPY`` chunk would
    #: otherwise recompute every group it touched while the indexes are dropped, a scan of the
    #: table per group), then every group recomputed once, after the indexes are back.
    BULK_DEFERRED_TRIGGERS = (
        "atlas_regional_stats_insert",
        "atlas_regional_stats_update",
        "atlas_regional_stats_delete",
    )
    BULK_AFTER_SQL = """
        SELECT atlas_regional_stats_refresh(
            array_agg(region_id), array_agg(indicator_id), array_agg(year))
        FROM (
            SELECT DISTINCT t.region_id, iv.indicator_id, iv.year
            FROM towns_indicatorvalue iv JOIN towns_town t ON t.id = iv.town_id
            WHERE iv.quarter = 0
        ) groups
    """

    #: A published value is read by its town's pages and, through the regional ranks and
    #: medians, by those of its region's towns, besides the lists and exports of all towns: its
    #: writes retire only those (governance.cache, "Scoped reads").
    READ_CACHE_TOWN_COLUMN = "town_id"

    @classmethod
    def read_cache_regional(cls, row: str) -> str:
        """SQL true for a written value (``row``) that the pages of its region's other towns
        read: the regional ranks and medians are of the yearly values only (a quarter's value
        is read by its own town's series alone)."""
        return f"{row}.quarter = 0"

    @classmethod
    def read_cache_facts(cls, row: str) -> str:
        """SQL true for a written value (``row``) that can change its town's facts: the
        profile and the dashboard but its indicators' section read the values of the
        criteria's indicators only (``towns.profile.CRITERIA_CODES``); a write of any other
        leaves them be ("Scoped reads" in governance.cache)."""
        from towns.profile import CRITERIA_CODES

        if not all(code.isidentifier() for code in CRITERIA_CODES):  # they are written in SQL
            raise ValueError(f"not an indicator code: {CRITERIA_CODES!r}")
        codes = ", ".join(f"'{code}'" for code in CRITERIA_CODES)
        indicators = Indicator._meta.db_table
        # Checked above: identifiers only, from the code, never from a request.
        # The profile reads the yearly values only.
        criteria = f"SELECT id FROM {indicators} WHERE code IN ({codes})"  # noqa: S608
        return f"{row}.quarter = 0 AND {row}.indicator_id IN ({criteria})"

    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="indicator_values")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="values")
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(1990), MaxValueValidator(2100)]
    )
    quarter = models.PositiveSmallIntegerField(
        _("quarter"),
        default=0,
        validators=[MaxValueValidator(4)],
        help_text=_("0 for the whole year, 1-4 for a quarter."),
    )
    value = models.DecimalField(_("value"), max_digits=16, decimal_places=4)
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="indicator_values",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["town", "indicator", "year", "quarter"]
        verbose_name = _("indicator value")
        verbose_name_plural = _("indicator values")
        constraints = [
            published_unique(
                fields=["town", "indicator", "year", "quarter"],
                name="indicator_value_one_per_period",
                message=_("This town already has a value of this indicator for this period."),
            ),
            models.CheckConstraint(
                condition=Q(quarter__gte=0) & Q(quarter__lte=4),
                name="indicator_value_quarter_0_4",
                violation_error_message=_("The quarter is 0 (whole year) or 1 to 4."),
            ),
            models.CheckConstraint(
                condition=Q(year__gte=1990) & Q(year__lte=2100),
                name="indicator_value_year_range",
                violation_error_message=_("The year is between 1990 and 2100."),
            ),
        ]
        indexes = [
            models.Index(fields=["indicator", "year"], name="indicator_value_ind_year"),
            # A region's yearly values of one indicator and year, read from the index alone:
            # what the regional figures (RegionalIndicatorStat) are recomputed from, and what a
            # query ranking or taking medians over the values live would use.
            models.Index(
                fields=["indicator", "year", "town"],
                include=["value", "state", "access_level", "deleted_at"],
                condition=Q(quarter=0),
                name="indicator_value_yearly",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} {self.period_label} {self.town}: {self.value}"

    @property
    def period_label(self) -> str:
        return f"{self.year}" if not self.quarter else f"{self.year}-Q{self.quarter}"


class RegionalIndicatorStat(models.Model):
    """Derived, never edited: the yearly values of one indicator over the towns of one region,
    per viewer level, kept by PostgreSQL (``towns/migrations/0012_regional_indicator_stats``).

    The dashboard's regional median and rank ("3rd of 377") used to aggregate the region's
    rows on every request (0.3-0.5 s at 2,261 towns × 60 indicators × 20 years, issue 19).
    Here they are computed once per change: a statement trigger on ``towns_indicatorvalue``
    (and on ``towns_town`` when a town moves to another region) recomputes the (region,
    indicator, year) groups the statement touched, in the same transaction as the write, so
    the figures are never behind the data and every write path (admin, API, import, command,
    ``psql``) keeps them. A page reads its groups with one indexed query.

    Per level, as ``visible_to`` draws it: *public* counts published public values, *partner*
    published public and partner values, *research* every value not deleted. ``*_values`` is the
    sorted list of the group's values, so a rank is a count in it (ties share a rank).
    Only yearly values (``quarter = 0``) are kept, as the dashboard shows only those.
    """

    region = models.ForeignKey("towns.Region", on_delete=models.CASCADE, related_name="+")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    public_n = models.PositiveIntegerField(default=0)
    public_median = models.FloatField(null=True)
    public_values = ArrayField(models.DecimalField(max_digits=16, decimal_places=4), default=list)
    partner_n = models.PositiveIntegerField(default=0)
    partner_median = models.FloatField(null=True)
    partner_values = ArrayField(models.DecimalField(max_digits=16, decimal_places=4), default=list)
    research_n = models.PositiveIntegerField(default=0)
    research_median = models.FloatField(null=True)
    research_values = ArrayField(models.DecimalField(max_digits=16, decimal_places=4), default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region", "indicator", "year"], name="regional_stat_one_per_group"
            )
        ]

    def __str__(self) -> str:
        return f"{self.region_id}/{self.indicator_id}/{self.year}"
