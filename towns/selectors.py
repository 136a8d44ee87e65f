"""Reads of places, already narrowed and joined for the caller."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connections, router
from django.db.models import F, Max, QuerySet, Window
from django.db.models.functions import Lag
from django.shortcuts import get_object_or_404

from governance.access import Viewer, viewer_level
from towns.models import (
    Direction,
    Indicator,
    IndicatorValue,
    Region,
    RegionalIndicatorStat,
    Town,
)


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
    the region (1 = best, following the indicator's direction; ties share a rank).

    Two queries, whatever the size: the town's own latest values (a window over its rows only),
    then, for just those (indicator, year) pairs, the region's group of values kept per change
    (:func:`regional_ranks`). Ranking the whole region's history with window functions took
    seconds at 2,000 towns × 20 years; counting the region's values on each request still took
    0.1-0.25 s.
    """
    visible = IndicatorValue.objects.visible_to(user).filter(quarter=0)
    latest = list(
        visible.filter(town=town)
        .annotate(
            previous=Window(Lag("value"), partition_by=[F("indicator_id")], order_by="year"),
            latest_year=Window(Max("year"), partition_by=[F("indicator_id")]),
        )
        .filter(year=F("latest_year"))
        .select_related("indicator")
        .order_by("indicator__system", "indicator__code")
    )
    if not latest:
        return []
    stats = regional_ranks(region_id=town.region_id, rows=latest, user=user)
    rows = []
    for r in latest:
        stat = stats.get((r.indicator_id, r.year), {"of": 1, "better": 0})
        rows.append(
            IndicatorRow(
                indicator=r.indicator,
                year=r.year,
                value=r.value,
                previous=r.previous,
                change=None if r.previous is None else r.value - r.previous,
                meets_standard=r.indicator.meets_standard(r.value),
                rank=stat["better"] + 1,
                of=stat["of"],
                is_synthetic=r.is_synthetic,
            )
        )
    return rows


def _level_prefix(user) -> str:
    """The columns of :class:`~towns.models.RegionalIndicatorStat` drawn for ``user``'s level
    (the same three levels as ``visible_to``)."""
    return {Viewer.PUBLIC: "public", Viewer.PARTNER: "partner"}.get(viewer_level(user), "research")


def _stats_cursor():
    return connections[router.db_for_read(RegionalIndicatorStat) or "default"].cursor()


def regional_ranks(*, region_id: int, rows: list, user) -> dict[tuple[int, int], dict]:
    """For each (indicator, year, value) of ``rows``: how many values of the region the viewer
    may see (``of``) and how many of them are better (``better``, following the indicator's
    direction), from the region's kept groups in one indexed query."""
    if not rows:
        return {}
    p = _level_prefix(user)
    sql = f"""
        SELECT s.indicator_id, s.year, s.{p}_n,
            (SELECT count(*) FROM unnest(s.{p}_values) AS x
             WHERE CASE WHEN k.higher THEN x > k.v ELSE x < k.v END)
        FROM unnest(%s::bigint[], %s::int[], %s::numeric[], %s::boolean[]) AS k(i, y, v, higher)
        JOIN towns_regionalindicatorstat s
            ON s.region_id = %s AND s.indicator_id = k.i AND s.year = k.y
    """  # noqa: S608 (the prefix is one of three fixed names)
    params = [
        [r.indicator_id for r in rows],
        [r.year for r in rows],
        [r.value for r in rows],
        [r.indicator.direction == Direction.HIGHER_BETTER for r in rows],
        region_id,
    ]
    with _stats_cursor() as cursor:
        cursor.execute(sql, params)
        return {(i, y): {"of": n, "better": better} for i, y, n, better in cursor.fetchall()}


def regional_medians(
    *, region_id: int, indicator_ids: list[int], user
) -> dict[int, dict[int, float]]:
    """indicator → year → the median of the region's yearly values the viewer may see, for the
    years that have any (from the kept groups, one indexed query)."""
    medians: dict[int, dict[int, float]] = defaultdict(dict)
    if not indicator_ids:
        return medians
    p = _level_prefix(user)
    sql = f"""
        SELECT indicator_id, year, {p}_median FROM towns_regionalindicatorstat
        WHERE region_id = %s AND indicator_id = ANY(%s::bigint[]) AND {p}_n > 0
    """  # noqa: S608 (the prefix is one of three fixed names)
    with _stats_cursor() as cursor:
        cursor.execute(sql, [region_id, list(indicator_ids)])
        for indicator_id, year, median in cursor.fetchall():
            medians[indicator_id][year] = median
    return medians
