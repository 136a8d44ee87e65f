"""The research's thresholds, kept in the database so that reviewers change them in the admin.

Every threshold of the scoring (``towns.scoring``) and of the strategy advisor
(``csos.advisor``) is a choice of the research team, not a law of nature: it lives here, one
row, with its history (pghistory, like every research record). ``docs/scoring.md`` explains
each one with the research's own words.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from governance.models import TimeStamped, audited


@audited()
class ResearchSettings(TimeStamped):
    """The one row of thresholds (primary key 1); :meth:`current` reads or creates it."""

    min_typology_weight = models.DecimalField(
        _("minimum total weight for a type"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("3.0"),
        validators=[MinValueValidator(0)],
        help_text=_("Below this total weight (strength × confidence) no type is named."),
    )
    dominant_share = models.DecimalField(
        _("dominant share"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.5"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("A kind of group types the town with at least this share of the weight..."),
    )
    dominance_ratio = models.DecimalField(
        _("dominance ratio"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("2.0"),
        validators=[MinValueValidator(1)],
        help_text=_("... and at least this many times the share of the next kind."),
    )
    min_typology_claims = models.PositiveSmallIntegerField(
        _("minimum claims for a type"),
        default=2,
        help_text=_("A type rests on at least this many influence claims."),
    )
    min_typology_sources = models.PositiveSmallIntegerField(
        _("minimum independent sources for a type"),
        default=2,
        help_text=_("A type rests on at least this many different sources."),
    )
    considerable_benefit = models.PositiveSmallIntegerField(
        _("considerable benefit (at least)"),
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    low_cost = models.PositiveSmallIntegerField(
        _("low cost (at most)"), default=2, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    small_threat = models.PositiveSmallIntegerField(
        _("small threat (at most)"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    min_cultural_institutions = models.PositiveSmallIntegerField(
        _("socio-cultural institutions: a set is at least"), default=3
    )
    min_stance_observations = models.PositiveSmallIntegerField(
        _("minimum observed gap activities for the LA's stance"),
        default=2,
        validators=[MinValueValidator(1)],
        help_text=_("Below this the advisor names no stance of the LA towards the gap."),
    )
    min_cases = models.PositiveSmallIntegerField(
        _("minimum past cases to change a verdict"),
        default=2,
        validators=[MinValueValidator(1)],
        help_text=_("Fewer past cases under an option are reported but change nothing."),
    )

    class Meta:
        verbose_name = _("research settings")
        verbose_name_plural = _("research settings")

    def __str__(self) -> str:
        return str(_("Research settings"))

    def save(self, *args, **kwargs):
        self.pk = 1  # one row
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> ResearchSettings:
        """The settings row, created with the research's defaults when missing."""
        settings, _created = cls.objects.get_or_create(pk=1)
        return settings
