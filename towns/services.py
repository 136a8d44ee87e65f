"""Writes of the local-authority side. Admin, pages, API, imports and commands all call these."""

from __future__ import annotations

from django.db import models, transaction

from governance.services import record_save
from towns.models import Influence, InfluenceGroup, Town


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


@transaction.atomic
def research_record_save(
    *,
    instance: models.Model,
    actor=None,
    via: str = "service",
    m2m: dict[str, list] | None = None,
) -> models.Model:
    """Save a record of the research and refresh the aggregates of the towns it affects."""
    record_save(instance=instance, actor=actor, via=via, m2m=m2m)
    for town in towns_affected_by(instance):
        town_profile_refresh(town=town)
    return instance
