"""The CSO directory and the CSO panel of the town page."""

from django.core.paginator import Paginator
from django.shortcuts import render

from csos import selectors
from csos.models import Character, CSOStatus, FieldOfActivity
from csos.profile import region_network, town_network, town_network_chart
from governance.access import may_see_level
from towns.selectors import region_list


def cso_list(request):
    params = {
        key: request.GET.get(key, "").strip()[:100]
        for key in ("q", "town", "region", "status", "character", "field")
    }
    if params["status"] not in CSOStatus.values:
        params["status"] = ""
    if params["character"] not in Character.values:
        params["character"] = ""
    csos = selectors.cso_list(
        user=request.user,
        query=params["q"],
        town=params["town"],
        region=params["region"],
        status=params["status"],
        character=params["character"],
        field=params["field"],
    )
    page = Paginator(csos, 50).get_page(request.GET.get("page"))
    region = next((r for r in region_list() if r.slug == params["region"]), None)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "csos/cso_list.html",
        {
            "page": page,
            "params": params,
            "regions": region_list(),
            "statuses": CSOStatus.choices,
            "characters": Character.choices,
            "fields": FieldOfActivity.objects.all(),
            "querystring": query.urlencode(),
            "region": region,
            "region_network": region_network(region, user=request.user) if region else None,
        },
    )


def cso_detail(request, slug):
    cso = selectors.cso_get(user=request.user, slug=slug)
    show_leaders = may_see_level(request.user, cso.leaders_access_level)
    return render(
        request,
        "csos/cso_detail.html",
        {
            "cso": cso,
            "links": selectors.cso_links(user=request.user, cso=cso),
            "cases": selectors.cooperation_cases(user=request.user, cso=cso),
            "show_leaders": show_leaders,
            "leaderships": cso.leaderships.visible_to(request.user).select_related("person")
            if show_leaders
            else [],
            "show_contacts": may_see_level(request.user, cso.contacts_access_level),
            "towns": cso.towns.select_related("region"),
            "fields": cso.fields_of_activity.all(),
            "sources": cso.sources.visible_to(request.user),
        },
    )


def town_panel_context(request, town):
    """Context of the civil-society panel on a town page (registered in CsosConfig.ready)."""
    from csos.profile import town_advice

    user = getattr(request, "user", None)
    town_csos = list(selectors.cso_list(user=user, town=town.slug))
    network = town_network(town, user=user)
    # Brokers come as CSO slugs; leader brokers are counted but never named on the page.
    names = {cso.slug: cso for cso in town_csos}
    return {
        "town": town,
        "cso_chart": town_network_chart(town, user=user),
        "town_csos": town_csos,
        "network": network,
        "broker_csos": [names[slug] for slug in network.cso_brokers if slug in names],
        "leader_brokers": len(network.leader_brokers),
        "advice": town_advice(town, user=user),
        "cases": selectors.cooperation_cases(user=user, town=town),
        "assets": selectors.cultural_assets(user=user, town=town),
    }


def compare_panel_context(request, town):
    """The civil-society column of a town on the compare page: its CSO network drawn the same
    way as on the town's page, with its data table, and the fragmentation measures (five
    queries)."""
    user = getattr(request, "user", None)
    network = town_network(town, user=user)
    return {
        "town": town,
        "cso_chart": town_network_chart(town, user=user, key=f"csos-{town.slug}"),
        "network": network,
    }
