"""Reads of places, already narrowed and joined for the caller."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from towns.models import Region, Town


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
