"""Public pages of places: the town list (home) and a town page."""

from django.core.paginator import Paginator
from django.shortcuts import render

from towns import selectors
from towns.models import TownKind
from towns.profile import town_profile

ORDERINGS = {
    "name": "name_en",
    "-population": "-population",
    "population": "population",
}


def home(request):
    query = request.GET.get("q", "").strip()[:100]
    region = request.GET.get("region", "").strip()[:64]
    kind = request.GET.get("kind", "").strip()
    if kind not in TownKind.values:
        kind = ""
    order = request.GET.get("order", "name")
    towns = selectors.town_list(
        query=query, region=region, kind=kind, ordering=ORDERINGS.get(order, "name_en")
    )
    page = Paginator(towns, 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "towns/home.html",
        {
            "page": page,
            "query": query,
            "region": region,
            "kind": kind,
            "order": order,
            "regions": selectors.region_list(),
            "kinds": TownKind.choices,
            "querystring": params.urlencode(),
        },
    )


def town_detail(request, slug):
    town = selectors.town_get(slug=slug)
    profile = town_profile(town, user=request.user)
    return render(
        request,
        "towns/town_detail.html",
        {
            "town": town,
            "profile": profile,
            "indicators": selectors.town_indicator_table(town=town, user=request.user),
        },
    )
