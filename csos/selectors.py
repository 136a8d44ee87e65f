"""Reads of the civil-society side, filtered by the visibility policy and joined."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from csos.models import CSO, CooperationCase, CSOLink, CulturalAsset
from governance.text import search_filter
from towns.models import Town


def cso_list(
    *,
    user=None,
    query: str = "",
    town: str = "",
    region: str = "",
    status: str = "",
    character: str = "",
    field: str = "",
) -> QuerySet[CSO]:
    qs = CSO.objects.visible_to(user).prefetch_related(
        Prefetch(
            "towns", queryset=Town.objects.only("id", "slug", "name_en", "name_be", "name_ru")
        ),
        "fields_of_activity",
    )
    # Any spelling of any name: Latin, Cyrillic, Łacinka (see governance.text.search_keys).
    if query and (where := search_filter(query)) is not None:
        qs = qs.filter(where)
    if town:
        qs = qs.filter(towns__slug=town)
    if region:
        qs = qs.filter(towns__region__slug=region)
    if status:
        qs = qs.filter(status=status)
    if character:
        qs = qs.filter(character=character)
    if field:
        qs = qs.filter(fields_of_activity__code=field)
    if town or region or field:
        qs = qs.distinct()
    return qs.order_by("name_en", "pk")


def cso_get(*, user=None, slug: str) -> CSO:
    """A CSO the viewer may see, else 404 (never 403: a hidden record does not exist)."""
    return get_object_or_404(CSO.objects.visible_to(user), slug=slug)


def cso_links(*, user=None, cso: CSO) -> QuerySet[CSOLink]:
    visible = CSO.objects.visible_to(user)
    return (
        CSOLink.objects.visible_to(user)
        .filter(Q(source_cso=cso) | Q(target_cso=cso))
        .filter(source_cso__in=visible, target_cso__in=visible)
        .select_related("source_cso", "target_cso")
    )


def cooperation_cases(*, user=None, town: Town | None = None, cso: CSO | None = None):
    qs = CooperationCase.objects.visible_to(user).select_related("town", "la_post")
    if town is not None:
        qs = qs.filter(town=town)
    if cso is not None:
        qs = qs.filter(csos=cso)
    return qs.prefetch_related(
        Prefetch("csos", queryset=CSO.objects.visible_to(user)), "sources"
    ).order_by("-start_year", "pk")


def cultural_assets(*, user=None, town: Town) -> QuerySet[CulturalAsset]:
    return CulturalAsset.objects.visible_to(user).filter(town=town).prefetch_related("sources")
