"""The gap: activities (initiatives) in a town and how the local authority treats them."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from governance.models import Claim, OneTownRecord, Source, audited
from towns.models.places import Town


class ActivityStatus(models.TextChoices):
    COVERED = "covered", _("Covered by the indicators")
    GAP = "gap", _("In the gap (neither permitted nor forbidden)")
    FORBIDDEN = "forbidden", _("Forbidden")


class Stance(models.TextChoices):
    SUPPORTED = "supported", _("Supported")
    TOLERATED = "tolerated", _("Tolerated")
    IGNORED = "ignored", _("Ignored")
    SUPPRESSED = "suppressed", _("Suppressed")
    UNKNOWN = "unknown", _("Not observed")


class ActivityField(models.TextChoices):
    CULTURE = "culture", _("Culture and heritage")
    ECONOMY = "economy", _("Economy and business")
    SOCIAL = "social", _("Social services")
    EDUCATION = "education", _("Education and youth")
    ENVIRONMENT = "environment", _("Environment")
    URBAN = "urban", _("Urban environment and public space")
    RELIGION = "religion", _("Religion")
    SPORT = "sport", _("Sport and leisure")
    CIVIC = "civic", _("Civic activism")
    OTHER = "other", _("Other")


def score_field(label):
    return models.PositiveSmallIntegerField(
        label, null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )


@audited()
class Activity(OneTownRecord, Claim):
    """An initiative, its status relative to the indicator systems and the LA's stance."""

    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="activities")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    field = models.CharField(_("field"), max_length=16, choices=ActivityField)
    status = models.CharField(_("status"), max_length=12, choices=ActivityStatus)
    la_stance = models.CharField(
        _("LA's observed stance"), max_length=12, choices=Stance, default=Stance.UNKNOWN
    )
    benefit = score_field(_("benefit (1-5)"))
    cost = score_field(_("cost (1-5)"))
    threat = score_field(_("threat to the indicators (1-5)"))
    year = models.PositiveSmallIntegerField(_("year observed"), null=True, blank=True)
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True)

    class Meta:
        ordering = ["town", "title"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(benefit__isnull=True) | models.Q(benefit__gte=1, benefit__lte=5),
                name="activity_benefit_1_5",
                violation_error_message=_("Benefit is between 1 and 5."),
            ),
            models.CheckConstraint(
                condition=models.Q(cost__isnull=True) | models.Q(cost__gte=1, cost__lte=5),
                name="activity_cost_1_5",
                violation_error_message=_("Cost is between 1 and 5."),
            ),
            models.CheckConstraint(
                condition=models.Q(threat__isnull=True) | models.Q(threat__gte=1, threat__lte=5),
                name="activity_threat_1_5",
                violation_error_message=_("Threat is between 1 and 5."),
            ),
        ]

    def __str__(self) -> str:
        return self.title
