"""Places: regions (voblasts), districts (raions) and towns."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from governance.models import LocalName, TimeStamped, audited
from governance.text import search_filter, search_key


class MultilingualName(LocalName, models.Model):
    """Names in English, Belarusian and Russian, with the one for the active language."""

    name_en = models.CharField(_("name (English)"), max_length=200)
    name_be = models.CharField(_("name (Belarusian)"), max_length=200, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class PlaceQuerySet(models.QuerySet):
    def search(self, query: str):
        """Match ``query`` against every spelling of every name (Latin, Cyrillic, Łacinka)."""
        where = search_filter(query)
        return self if where is None else self.filter(where)


@audited()
class Region(MultilingualName, TimeStamped):
    """A voblast (or Minsk city), keyed by its GeoNames admin1 code."""

    code = models.CharField(_("GeoNames admin1 code"), max_length=4, unique=True)
    slug = models.SlugField(_("slug"), max_length=64, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")


@audited()
class District(MultilingualName, TimeStamped):
    """A raion of a region."""

    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="districts"
    )
    slug = models.SlugField(_("slug"), max_length=80, unique=True)

    class Meta:
        ordering = ["region__code", "name_en"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        constraints = [
            models.UniqueConstraint(fields=["region", "name_en"], name="district_unique_name")
        ]


class TownKind(models.TextChoices):
    REGIONAL_CITY = "regional_city", _("City of regional subordination")
    DISTRICT_CENTRE = "district_centre", _("District centre")
    URBAN_SETTLEMENT = "urban_settlement", _("Urban-type settlement")
    AGROTOWN = "agrotown", _("Agro-town or village")
    CAPITAL = "capital", _("Capital")


class Typology(models.TextChoices):
    """The five types of the research, plus "mixed" and "insufficient evidence"."""

    SUPERIOR_STATE = "superior_state", _("Aliens: superior state structures")
    OUTSIDE_CORPORATE = "outside_corporate", _("Aliens: outside corporate structures")
    CLAN_FAMILY = "clan_family", _("Our own: clan or family")
    QUASI_COMMUNITY = "quasi_community", _("Our own: quasi-community")
    ECCLESIAL = "ecclesial", _("Our own: ecclesial community")
    MIXED = "mixed", _("Mixed")
    INSUFFICIENT = "insufficient_evidence", _("Insufficient evidence")


@audited()
class Town(MultilingualName, TimeStamped):
    """A locality. The slug is stable: set once at creation, never derived again."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    alternate_names = models.TextField(
        _("alternate names"),
        blank=True,
        help_text=_("Other spellings, one per line (Latin, Cyrillic, Łacinka)."),
    )
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="towns"
    )
    district = models.ForeignKey(
        District,
        verbose_name=_("district"),
        on_delete=models.PROTECT,
        related_name="towns",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TownKind, db_index=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=8,
        decimal_places=5,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=8,
        decimal_places=5,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    population_year = models.PositiveSmallIntegerField(
        _("population year"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1800), MaxValueValidator(2100)],
    )
    population_source = models.CharField(_("population source"), max_length=300, blank=True)
    population_source_url = models.URLField(_("population source URL"), blank=True)
    geonames_id = models.PositiveIntegerField(_("GeoNames id"), null=True, blank=True, unique=True)
    is_synthetic = models.BooleanField(
        _("synthetic"), default=False, help_text=_("A generated town (scale data), not a real one.")
    )
    # Machine-guessed fields stay marked unverified (page, API, export) until a researcher
    # confirms them: the Belarusian and Russian names picked from untagged GeoNames alternates,
    # and the kind guessed from the population. Curated case towns are verified.
    names_verified = models.BooleanField(
        _("names verified"),
        default=False,
        help_text=_(
            "A researcher confirmed the Belarusian and Russian names (they were picked by a "
            "machine from untagged alternate names)."
        ),
    )
    kind_verified = models.BooleanField(
        _("kind verified"),
        default=False,
        help_text=_("A researcher confirmed the kind (it was guessed from the population)."),
    )
    search_text = models.TextField(editable=False, default="")
    # Profile aggregates computed from published claims by towns.services.town_profile_refresh
    # on every write that affects them, so that lists can filter and sort on them cheaply.
    typology = models.CharField(
        _("typology"),
        max_length=24,
        choices=Typology,
        default=Typology.INSUFFICIENT,
        editable=False,
        db_index=True,
    )
    own_share = models.DecimalField(
        _("share of 'our own' influence"),
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        editable=False,
    )

    aggregates_synthetic = models.BooleanField(
        _("typology and share from synthetic claims"),
        default=False,
        editable=False,
        help_text=_(
            "The stored typology and share of 'our own' are computed from at least one "
            "synthetic (demonstration) claim: every list, map and export marks them so."
        ),
    )

    objects = PlaceQuerySet.as_manager()

    #: The fields of a town that only its own reads (profile, dashboard, series, chart data)
    #: and the reads of many towns (the lists, the map, exports, comparisons) show, never a
    #: page about another town: the stored aggregates, which an approved influence claim
    #: changes, and the time of the change. A write of these alone retires the town's cached
    #: reads, the lists and the map, not every town's (governance.cache, "Scoped reads");
    #: any other field written counts for every reader. Audited: the dashboard, the profile,
    #: the advice and the civil-society panel read these of their own town only
    #: (tests/governance/test_scoped_reads.py checks the pages as a reader sees them).
    READ_CACHE_OWN_FIELDS = ("typology", "own_share", "aggregates_synthetic", "updated_at")

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("town")
        verbose_name_plural = _("towns")
        indexes = [
            models.Index(fields=["region", "name_en"], name="town_region_name"),
            # The lists' default order: a numbered page skips to its rows on the index alone
            # (governance.api.pagination.KeysFirstPaginator; 2.1 -> 0.3 ms at 2,261 towns).
            models.Index(fields=["name_en", "id"], name="town_name_order"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(population__isnull=True)
                | models.Q(population_year__isnull=False),
                name="town_population_has_year",
                violation_error_message=_("A population figure needs the year it refers to."),
            ),
        ]

    def save(self, *args, **kwargs):
        self.search_text = search_key(self.all_names())
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("towns:detail", kwargs={"slug": self.slug})

    @property
    def alternate_name_list(self) -> list[str]:
        return [n.strip() for n in self.alternate_names.splitlines() if n.strip()]

    def all_names(self) -> list[str]:
        return [self.name_en, self.name_be, self.name_ru, *self.alternate_name_list]


class TownMapFeature(models.Model):
    """Derived, never edited: a town's GeoJSON feature for the map, as text, kept by PostgreSQL
    (``towns/migrations/0014_town_map_features``).

    ``/api/v1/towns.geojson`` wrote 2,261 features with ``json_build_object`` on every request
    (15 of its 35 ms at the scale data, issue 19). Here a statement trigger on ``towns_town``
    (insert, update) and on ``towns_region`` / ``towns_district`` (a changed slug) writes the
    features of the towns the statement touched, in the same transaction, so the text is never
    behind the town and every write path keeps it; the table's rows go with their town (``ON
    DELETE CASCADE``, in the table's SQL). The text is the feature up to its last property,
    without the closing braces and without ``url``, which depends on the language of the
    request and is added when the feature is read (:func:`towns.geo.town_features_rendered`).
    """

    town = models.OneToOneField(
        Town,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="map_feature",
        # The constraint is the migration's, with ON DELETE CASCADE: a town deleted in SQL
        # takes its feature with it, as one deleted through Django does.
        db_constraint=False,
    )
    text = models.TextField()

    def __str__(self) -> str:
        return str(self.town_id)
