"""Public pages of places: the map home, a town's dashboard, compare, the typology overview,
and the data of every chart as CSV."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _

from governance.api.renderers import neutralise
from governance.panels import panels_for
from governance.redaction import present
from governance.text import search_filter
from towns import kept, pages, selectors, society_profile, summary
from towns.models import ActivityStatus, Indicator, Town, TownKind, Typology
from towns.profile import town_profile

ORDERINGS = {
    "name": (lambda t: (t.name_en, t.pk), False),
    "-population": (lambda t: (t.population or 0, t.pk), True),
    "population": (lambda t: (t.population or 0, t.pk), False),
}
OPERATORS = {"gte": Decimal.__ge__, "lte": Decimal.__le__}
PAGE_SIZE = 100
COMPARE_MIN, COMPARE_MAX = 2, 4


@dataclass
class MapFilters:
    """The filters of the map home, read from the querystring so that a view can be shared."""

    q: str = ""
    region: str = ""
    kind: str = ""
    typology: str = ""
    cso: bool = False
    indicator: Indicator | None = None
    op: str = "gte"
    threshold: Decimal | None = None
    order: str = "name"
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_request(cls, request, indicators: list[Indicator]) -> MapFilters:
        get = request.GET
        f = cls(
            q=get.get("q", "").strip()[:100],
            region=get.get("region", "").strip()[:64],
            kind=get.get("kind", "").strip(),
            typology=get.get("typology", "").strip(),
            cso=get.get("cso") == "yes",
            op=get.get("op", "gte"),
            order=get.get("order", "name"),
        )
        if f.kind not in TownKind.values:
            f.kind = ""
        if f.typology not in Typology.values:
            f.typology = ""
        if f.op not in OPERATORS:
            f.op = "gte"
        if f.order not in ORDERINGS:
            f.order = "name"
        code = get.get("indicator", "").strip()
        f.indicator = next((i for i in indicators if i.code == code), None)
        raw = get.get("threshold", "").strip().replace(",", ".")
        if raw and f.indicator is not None:
            try:
                f.threshold = Decimal(raw)
                if not f.threshold.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                f.threshold = None
                f.errors.append(_("The threshold must be a number, e.g. 6000 or 12.5."))
        return f

    def keep(self, town: Town, *, matching, cso_towns, values) -> bool:
        """Whether ``town`` passes every filter (the map's script applies the same rules)."""
        if matching is not None and town.pk not in matching:
            return False
        if self.region and town.region.slug != self.region:
            return False
        if self.kind and town.kind != self.kind:
            return False
        if self.typology and town.typology != self.typology:
            return False
        if self.cso and (cso_towns is None or town.pk not in cso_towns):
            return False
        if self.indicator is not None and self.threshold is not None:
            value = values.get(town.pk)
            return value is not None and OPERATORS[self.op](value, self.threshold)
        return True


def render_page(request, template: str, context: dict, **kwargs):
    """``render`` with the context as the viewer may see it (:func:`present`): templates get
    redacted views of every record with sensitive fields, never the model instances; the
    restricted fields they carry are noted for the access log, as on the CSO pages."""
    return render(request, template, present(context, request.user, request=request), **kwargs)


def home(request):
    """Every town on a map coloured by typology, with filters and a sortable list beside it."""
    indicators = list(Indicator.objects.order_by("system", "code"))
    filters = MapFilters.from_request(request, indicators)
    towns = list(Town.objects.select_related("region").order_by("name_en", "pk"))
    # Any spelling: Latin, Cyrillic or Łacinka (the stored key and the query meet halfway).
    where = search_filter(filters.q)
    matching = (
        set(Town.objects.filter(where).values_list("pk", flat=True)) if where is not None else None
    )
    cso_towns = pages.towns_with_cso_data(request.user)
    values = (
        pages.latest_values(indicator=filters.indicator, user=request.user)
        if filters.indicator
        else {}
    )
    listed = [
        t for t in towns if filters.keep(t, matching=matching, cso_towns=cso_towns, values=values)
    ]
    key, reverse = ORDERINGS[filters.order]
    listed.sort(key=key, reverse=reverse)
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    for town in page:
        town.indicator_value = values.get(town.pk)
        town.typology_colour = pages.TYPOLOGY_COLOURS.get(town.typology)
        town.typology_svg = pages.SHAPE_SVG[pages.TYPOLOGY_SHAPES.get(town.typology, "circle")]
    params = request.GET.copy()
    params.pop("page", None)
    return render_page(
        request,
        "towns/home.html",
        {
            "page": page,
            "filters": filters,
            "query": filters.q,
            "region": filters.region,
            "kind": filters.kind,
            "order": filters.order,
            "regions": selectors.region_list(),
            "kinds": TownKind.choices,
            "typologies": Typology.choices,
            "indicators": indicators,
            "has_cso_app": cso_towns is not None,
            "legend": pages.typology_legend(),
            "querystring": params.urlencode(),
            "map_data": map_data(
                pages.map_points(
                    towns,
                    cso_towns=cso_towns,
                    values=values if filters.indicator else None,
                    matching=matching,
                )
            ),
        },
    )


def map_data(points: list[dict]) -> dict:
    """What static/js/map.js needs: the towns, the legend, the outline and the tile layer."""
    return {
        "towns": points,
        "legend": pages.typology_legend(),
        "outline": static("vendor/world-atlas-2.0.2/belarus-50m.geojson"),
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION}
        if settings.MAP_TILE_URL
        else None,
        "shapes": pages.SHAPE_SVG,
        "labels": {
            "population": _("Population"),
            "typology": _("Typology"),
            "unknown": _("unknown"),
            "value": _("Value"),
            # The accessible names of the markers and clusters ({…} are filled in by the map).
            "marker": _("{name}: {typology}, population {population}. Enter shows details."),
            # Translators: keep {n} a word of its own (not "(12)"): the cluster shows the number,
            # and a name must contain the visible text (WCAG 2.5.3).
            "cluster": _("{n} towns: {types}. Enter zooms in."),
            "zoom_in": _("Zoom in"),
            "zoom_out": _("Zoom out"),
        },
    }


def _town_dashboard(request, town: Town) -> dict:
    user = request.user
    profile = town_profile(town, user=user)
    # Sources of every claim shown, at the viewer's level, in one query per kind of claim.
    prefetch_related_objects(profile.influences, pages.sources_prefetch(user))
    prefetch_related_objects(profile.appointments, pages.sources_prefetch(user))
    prefetch_related_objects([a for a, _v in profile.ventures], pages.sources_prefetch(user))
    network = pages.network_chart(profile, user)
    return {
        "profile": profile,
        "balance_chart": pages.balance_chart(profile),
        "activities_chart": pages.activities_chart(profile),
        "appointments_chart": pages.appointments_chart(profile, user),
        "network_chart": network,
        "network": network.spec,
    }


#: Where the indicators' section goes in a kept dashboard (towns/kept.py keeps the two apart:
#: the section follows its region's data, the rest its town's). An HTML comment that no
#: record's text can write: the templates escape every value, so "<" never comes from data.
INDICATORS_MARK = "<!--atlas:indicators-section-->"


def indicators_content(request, town: Town) -> str:
    """The HTML of the indicators' section of ``town``'s dashboard (its values against the
    standard, the regional median and its rank in the region), as this request's viewer sees
    it (``towns/_dashboard_indicators.html``). Kept per change of its region by towns/kept.py:
    it may depend on the viewer's level and the language, nothing else of the request."""
    user = request.user
    rows = selectors.town_indicator_table(town=town, user=user)
    context = {
        "town": town,
        "indicator_summaries": pages.indicator_dashboard(town=town, rows=rows, user=user),
    }
    shown = present(context, user, request=request)
    return render_to_string("towns/_dashboard_indicators.html", shown, request=request)


def dashboard_content(request, town: Town, *, indicators: str | None = None) -> str:
    """The HTML of ``town``'s dashboard between the page's header and footer, as this
    request's viewer sees it (``towns/_dashboard.html``), with ``indicators`` as its
    indicators' section (by default rendered now, :func:`indicators_content`; the keeper
    passes :data:`INDICATORS_MARK`). Kept per change by towns/kept.py: it may depend on the
    viewer's level and the language, nothing else of the request."""
    context = _town_dashboard(request, town)
    context["indicators_section"] = mark_safe(  # noqa: S308 (our templates' output)
        indicators if indicators is not None else indicators_content(request, town)
    )
    # The summary first (towns/summary.py): built from the profile and the civil-society
    # panel's context, which the panel below reuses (computed once per request).
    context["summary"] = summary.town_summary(
        context["profile"], civil_society=summary.civil_society(request, town)
    )
    context.update(
        town=town,
        typology_colour=pages.TYPOLOGY_COLOURS.get(town.typology),
        typology_svg=pages.SHAPE_SVG[pages.TYPOLOGY_SHAPES.get(town.typology, "circle")],
        profile_api_url=pages.profile_api_url(town),
    )
    shown = present(context, request.user, request=request)
    return render_to_string("towns/_dashboard.html", shown, request=request)


def town_detail(request, slug):
    town = selectors.town_get(slug=slug)
    # Today's dashboard is kept per change (towns.kept): a current kept one costs one query.
    dashboard = kept.dashboard_for(request, town)
    return render_page(request, "towns/town_detail.html", {"town": town, "dashboard": dashboard})


def chart_csv(request, slug, key):
    """The data of one chart of a town's dashboard, as CSV (the same rows as its table)."""
    town = selectors.town_get(slug=slug)
    user = request.user
    if key.startswith("indicator-"):
        code = key.removeprefix("indicator-")
        series = [
            s for s in pages.indicator_series(towns=[town], user=user) if s.indicator.code == code
        ]
        if not series:
            raise Http404(_("No such chart."))
        chart = pages.indicator_chart(series[0], [town], with_median=True)
    elif key in {"balance", "activities", "appointments", "network"}:
        profile = town_profile(town, user=user)
        chart = {
            "balance": pages.balance_chart,
            "activities": pages.activities_chart,
            "appointments": lambda p: pages.appointments_chart(p, user),
            "network": lambda p: pages.network_chart(p, user),
        }[key](profile)
    else:
        chart = panel_chart(request, town, key)
    return csv_response(chart, f"{town.slug}-{key}.csv")


def panel_chart(request, town: Town, key: str) -> pages.Chart:
    """A chart that another app draws for ``town`` (e.g. the CSO network, from ``csos``) through
    its "compare-town" panel: found by key among the panel's context, so that towns never
    imports the app that contributes it. 404 when no panel has it."""
    for panel in panels_for("compare-town"):
        for value in panel.context(request, town).values():
            if isinstance(value, pages.Chart) and value.key in {key, f"{key}-{town.slug}"}:
                return value
    raise Http404(_("No such chart."))


def csv_response(chart: pages.Chart, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Synthetic is never silent: every row says whether it is derived from generated data.
    response["X-Derived-From-Synthetic"] = "true" if chart.synthetic else "false"
    flag = "true" if chart.synthetic else "false"
    writer = csv.writer(response, lineterminator="\r\n")
    writer.writerow([*(neutralise(str(c)) for c in chart.columns), "derived_from_synthetic"])
    writer.writerows([*(_safe_cell(v) for v in row), flag] for row in chart.rows)
    return response


def _safe_cell(value):
    """Text cells cannot start a spreadsheet formula (``=``, ``+``, ``-``, ``@``...)."""
    return (
        value
        if value is None or isinstance(value, int | float | Decimal)
        else neutralise(str(value))
    )


# --- Compare ---------------------------------------------------------------------------------


def compare_towns(request) -> tuple[list[Town], str]:
    """The towns of ``?towns=a,b,c`` (or repeated ``towns``), in order, and an error message."""
    slugs: list[str] = []
    for raw in request.GET.getlist("towns"):
        for part in raw.split(","):
            slug = slugify(part.strip())[:80]
            if slug and slug not in slugs:
                slugs.append(slug)
    if not slugs:
        return [], ""
    if len(slugs) < COMPARE_MIN or len(slugs) > COMPARE_MAX:
        return [], _(
            "Choose between %(min)d and %(max)d different towns to compare (got %(n)d)."
        ) % {
            "min": COMPARE_MIN,
            "max": COMPARE_MAX,
            "n": len(slugs),
        }
    found = {t.slug: t for t in Town.objects.select_related("region").filter(slug__in=slugs)}
    unknown = [s for s in slugs if s not in found]
    if unknown:
        return [], _("Unknown town: %(slugs)s.") % {"slugs": ", ".join(unknown)}
    return [found[s] for s in slugs], ""


def compare(request):
    """Two to four towns side by side on the same measures, with the same charts."""
    towns, error = compare_towns(request)
    context = {
        "towns": towns,
        "error": error,
        "choices": Town.objects.only("slug", "name_en", "name_be", "name_ru").order_by("name_en"),
        "selected": [t.slug for t in towns]
        or [s for raw in request.GET.getlist("towns") for s in raw.split(",") if s][:COMPARE_MAX]
        or [request.GET.get("add", "")[:80]],
    }
    if towns:
        context.update(compare_context(towns, request.user))
        # Each town's summary, side by side first; its civil-society figures come from the
        # compare panel's context, which the columns below reuse.
        context["summaries"] = [
            (
                p,
                summary.town_summary(
                    p, civil_society=summary.civil_society(request, p.town, "compare-town")
                ),
            )
            for p in context["profiles"]
        ]
    return render_page(request, "towns/compare.html", context, status=400 if error else 200)


def compare_context(towns: list[Town], user) -> dict:
    """Everything the compare page draws for ``towns``, at ``user``'s level: the same charts
    as a town's page, on shared axes (one chart per measure with a series per town), plus each
    town's gauge and networks side by side. Queries: a profile per town plus a fixed few."""
    profiles = [town_profile(t, user=user) for t in towns]
    # Each town's gauge and network, drawn as on its own page: the gauges all span 0–100 %
    # of the influence, and the graphs use one style and one scale of node sizes.
    gauges, networks = [], []
    for profile in profiles:
        slug = profile.town.slug
        gauge = pages.balance_chart(profile)
        gauge.key, gauge.title = f"balance-{slug}", profile.town.name
        network = pages.network_chart(profile, user, key=f"network-{slug}")
        network.title = profile.town.name
        gauges.append(gauge)
        networks.append(network)

    series = pages.indicator_series(towns=towns, user=user, regional_median=False)
    charts = [pages.indicator_chart(s, towns, with_median=False) for s in series]
    latest = []
    for s in series:
        cells = []
        for t in towns:
            years = s.values.get(t.slug) or {}
            cells.append((years[max(years)], max(years)) if years else None)
        latest.append((s.indicator, cells))
    balance = pages.Chart(
        key="balance",
        title=_("Share of our own and aliens in the influence"),
        kind="bar",
        columns=[_("Town"), _("Our own"), _("Aliens")],
        rows=[
            [p.town.name, pages._share(p.balance.own_share), pages._share(p.balance.alien_share)]
            for p in profiles
        ],
        spec={
            "type": "stacked",
            "labels": [t.name for t in towns],
            "datasets": [
                {
                    "label": _("Our own"),
                    "data": [_pct(p.balance.own_share) for p in profiles],
                    "colour": "#0072B2",
                },
                {
                    "label": _("Aliens"),
                    "data": [_pct(p.balance.alien_share) for p in profiles],
                    "colour": "#D55E00",
                },
            ],
            "yTitle": "%",
            "max": 100,
        },
        synthetic=any(i.is_synthetic for p in profiles for i in p.influences),
    )
    statuses = [str(label) for label in ActivityStatus.labels]
    counts = [
        [sum(1 for a, _v in p.ventures if a.status == status) for status in ActivityStatus.values]
        for p in profiles
    ]
    activities = pages.Chart(
        key="activities",
        title=_("Activities by status"),
        kind="bar",
        columns=[_("Town"), *statuses],
        rows=[[p.town.name, *row] for p, row in zip(profiles, counts, strict=True)],
        spec={
            "type": "stacked",
            "labels": [t.name for t in towns],
            "datasets": [
                {
                    "label": label,
                    "data": [row[i] for row in counts],
                    "colour": pages.STATUS_COLOURS[status],
                }
                for i, (status, label) in enumerate(
                    zip(ActivityStatus.values, statuses, strict=True)
                )
            ],
            "yTitle": _("Activities"),
            "integer": True,
        },
        synthetic=any(a.is_synthetic for p in profiles for a, _v in p.ventures),
    )
    return {
        "profiles": profiles,
        "columns": list(zip(profiles, gauges, networks, strict=True)),
        "activities_chart": activities,
        "charts": charts,
        "balance_chart": balance,
        "latest": latest,
        "slugs": ",".join(t.slug for t in towns),
    }


def _pct(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def compare_csv(request, key):
    towns, error = compare_towns(request)
    if error or not towns:
        raise Http404(error or _("Choose towns to compare."))
    context = compare_context(towns, request.user)
    charts = {
        c.key: c
        for c in [
            context["balance_chart"],
            context["activities_chart"],
            *context["charts"],
            *[chart for _p, gauge, network in context["columns"] for chart in (gauge, network)],
        ]
    }
    if key not in charts:
        raise Http404(_("No such chart."))
    return csv_response(charts[key], f"compare-{key}.csv")


# --- Typology --------------------------------------------------------------------------------


def typology(request):
    """Towns grouped by type, with counts, a map and the research's description of each type."""
    towns = list(Town.objects.select_related("region").order_by("name_en", "pk"))
    groups = []
    for value, label in Typology.choices:
        members = [t for t in towns if t.typology == value]
        groups.append(
            {
                "value": value,
                "label": label,
                "colour": pages.TYPOLOGY_COLOURS[value],
                "svg": pages.SHAPE_SVG[pages.TYPOLOGY_SHAPES[value]],
                "description": pages.TYPOLOGY_DESCRIPTIONS[value],
                "towns": members,
                # The count rests on synthetic claims when any member's type does.
                "synthetic": any(t.aggregates_synthetic for t in members),
            }
        )
    return render_page(
        request,
        "towns/typology.html",
        {
            "groups": groups,
            "total": len(towns),
            "map_data": map_data(pages.map_points(towns, cso_towns=None)),
            # Every town's society evidence in one query, shared by the groups' rows.
            "society_evidence": society_profile.towns_enrichment(towns, user=request.user),
        },
    )
