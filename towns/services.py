"""Writes of the local-authority side. Admin, pages, API, imports and commands all call these."""

from __future__ import annotations

from django.db import models, transaction

from governance.services import record_save
from towns.models import IndicatorValue, Influence, InfluenceGroup, Town


def towns_affected_by(instance: models.Model) -> list[Town]:
    """The towns whose profile aggregates (balance, typology) depend on ``instance``."""
    if isinstance(instance, Town):
        return [instance]
    if isinstance(instance, Influence):
        return [instance.town]
    if isinstance(instance, InfluenceGroup):
        return list(Town.objects.filter(influences__group=instance).distinct())
    return []


def town_profile_refresh(*, town: Town) -> None:
    """Recompute the stored profile aggregates of ``town`` (see towns.profile)."""
    from towns.profile import refresh_town_aggregates

    refresh_town_aggregates(town)


def adopt_synthetic_twin(value: IndicatorValue):
    """Let a new real ``value`` replace the synthetic value of the same town, indicator and
    period, instead of failing as a duplicate.

    The new value takes over the synthetic row (its id, version and creation time), so saving
    it is an update of that row: the synthetic figure stays in the row's history (pghistory),
    and everything that points at the row keeps pointing at it. Returns the synthetic figure
    replaced (its value), or None when there is none to replace. A synthetic value never
    replaces anything, and a real one is never replaced.
    """
    if not value._state.adding or value.is_synthetic:
        return None
    twin = (
        IndicatorValue._base_manager.filter(
            town_id=value.town_id,
            indicator_id=value.indicator_id,
            year=value.year,
            quarter=value.quarter or 0,
            is_synthetic=True,
        )
        .only("pk", "version", "created_at", "value")
        .first()
    )
    if twin is None:
        return None
    value.pk = twin.pk
    value.version = twin.version
    value.created_at = twin.created_at
    value._state.adding = False
    value.replaced_synthetic = twin.value
    return twin.value


@transaction.atomic
def research_record_save(
    *,
    instance: models.Model,
    actor=None,
    via: str = "service",
    m2m: dict[str, list] | None = None,
) -> models.Model:
    """Save a record of the research and refresh the aggregates of the towns it affects.

    A new real indicator value where a synthetic one exists replaces it
    (:func:`adopt_synthetic_twin`); ``instance.replaced_synthetic`` then holds the old figure.
    """
    if isinstance(instance, IndicatorValue):
        adopt_synthetic_twin(instance)
    record_save(instance=instance, actor=actor, via=via, m2m=m2m)
    for town in towns_affected_by(instance):
        town_profile_refresh(town=town)
    return instance
