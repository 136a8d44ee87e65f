"""The CSO directory and the CSO panel of the town page."""

from django.core.paginator import Paginator
from django.shortcuts import render

from csos import selectors
from csos.models import Character, CSOStatus, FieldOfActivity
from csos.profile import region_network, town_network, town_network_chart
from governance.access import may_see_level
from governance.redaction import redacted, redacted_list
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
    # The page's rows as the viewer may see them (the template never gets a CSO instance).
    page.object_list = redacted_list(page.object_list, request.user, request=request)
    regions = list(region_list())  # one query for the filter and the chosen region
    region = next((r for r in regions if r.slug == params["region"]), None)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "csos/cso_list.html",
        {
            "page": page,
            # The count includes generated CSOs: it says so (one query).
            "count_synthetic": csos.filter(is_synthetic=True).exists(),
            "params": params,
            "regions": regions,
            "statuses": CSOStatus.choices,
            "characters": Character.choices,
            "fields": redacted_list(FieldOfActivity.objects.all(), request.user),
            "querystring": query.urlencode(),
            "region": region,
            "region_network": region_network(region, user=request.user) if region else None,
        },
    )


def cso_detail(request, slug):
    """A CSO's page. The template gets redacted views only (:func:`governance.redaction.redacted`):
    a leadership the viewer may see whose person it may not shows the role, never the name."""
    user = request.user
    cso = selectors.cso_get(user=user, slug=slug)
    leaders_open = may_see_level(user, cso.leaders_access_level)
    leaderships = (
        cso.leaderships.visible_to(user).select_related("person").order_by("pk")
        if leaders_open
        else []
    )
    return render(
        request,
        "csos/cso_detail.html",
        {
            "cso": redacted(cso, user, request=request),
            "links": redacted_list(selectors.cso_links(user=user, cso=cso), user, request=request),
            "cases": redacted_list(
                selectors.cooperation_cases(user=user, cso=cso), user, request=request
            ),
            "show_leaders": leaders_open,
            "leaderships": redacted_list(leaderships, user, request=request),
            "towns": redacted_list(cso.towns.select_related("region"), user),
            "fields": redacted_list(cso.fields_of_activity.all(), user),
            "sources": redacted_list(cso.sources.visible_to(user), user, request=request),
        },
    )


def town_panel_context(request, town):
    """Context of the civil-society panel on a town page (registered in CsosConfig.ready)."""
    from csos.profile import town_advice

    user = getattr(request, "user", None)
    town_csos = list(selectors.cso_list(user=user, town=town.slug))
    network = town_network(town, user=user)
    # Brokers come as CSO slugs; leader brokers are counted but never named on the page.
    shown = redacted_list(town_csos, user, request=request)
    names = {cso.slug: cso for cso in shown}
    return {
        "town": town,
        "cso_chart": town_network_chart(town, user=user),
        "town_csos": shown,
        "network": network,
        "broker_csos": [names[slug] for slug in network.cso_brokers if slug in names],
        "leader_brokers": len(network.leader_brokers),
        "advice": town_advice(town, user=user),
        "cases": redacted_list(
            selectors.cooperation_cases(user=user, town=town), user, request=request
        ),
        "assets": redacted_list(
            selectors.cultural_assets(user=user, town=town), user, request=request
        ),
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
