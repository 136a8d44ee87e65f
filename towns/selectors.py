"""Reads of places, already narrowed and joined for the caller."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, F, Max, QuerySet, When, Window
from django.db.models.functions import Lag, Rank
from django.shortcuts import get_object_or_404

from towns.models import Direction, Indicator, IndicatorValue, Region, Town


def region_list() -> QuerySet[Region]:
    return Region.objects.order_by("code")


def town_list(
    *, query: str = "", region: str = "", kind: str = "", ordering: str = "name_en"
) -> QuerySet[Town]:
    qs = Town.objects.select_related("region", "district")
    if query:
        qs = qs.search(query)
    if region:
        qs = qs.filter(region__slug=region)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by(ordering, "pk")


def town_get(*, slug: str) -> Town:
    return get_object_or_404(Town.objects.select_related("region", "district"), slug=slug)


@dataclass(frozen=True)
class IndicatorRow:
    """The latest value of one indicator for a town, with what is derived from it."""

    indicator: Indicator
    year: int
    value: Decimal
    previous: Decimal | None
    change: Decimal | None
    meets_standard: bool | None
    rank: int
    of: int
    is_synthetic: bool


def town_indicator_table(*, town: Town, user=None) -> list[IndicatorRow]:
    """Latest yearly value of every indicator of ``town`` visible to ``user``, with the change on
    the previous year, whether it meets the national standard and its rank among the towns of
    the region (1 = best, following the indicator's direction). One query, whatever the size.
    """
    better_first = Case(
        When(indicator__direction=Direction.HIGHER_BETTER, then=-F("value")),
        default=F("value"),
    )
    rows = (
        IndicatorValue.objects.visible_to(user)
        .filter(town__region_id=town.region_id, quarter=0)
        .annotate(
            rank=Window(
                Rank(), partition_by=[F("indicator_id"), F("year")], order_by=better_first.asc()
            ),
            of=Window(Count("id"), partition_by=[F("indicator_id"), F("year")]),
            previous=Window(
                Lag("value"), partition_by=[F("town_id"), F("indicator_id")], order_by="year"
            ),
            latest_year=Window(Max("year"), partition_by=[F("town_id"), F("indicator_id")]),
            # The town is picked AFTER ranking: a filter on a window annotation goes into an
            # outer query, while a plain town_id filter would rank the town against itself.
            row_town=Window(Max("town_id"), partition_by=[F("id")]),
        )
        .filter(row_town=town.pk, year=F("latest_year"))
        .select_related("indicator")
        .order_by("indicator__system", "indicator__code")
    )
    return [
        IndicatorRow(
            indicator=r.indicator,
            year=r.year,
            value=r.value,
            previous=r.previous,
            change=None if r.previous is None else r.value - r.previous,
            meets_standard=r.indicator.meets_standard(r.value),
            rank=r.rank,
            of=r.of,
            is_synthetic=r.is_synthetic,
        )
        for r in rows
    ]
