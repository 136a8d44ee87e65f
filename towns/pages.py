"""Reads and chart data of the public pages: the map, the town dashboard, compare, typology.

Everything here reads through ``visible_to(user)`` and runs a fixed number of queries. A chart
is a :class:`Chart`: the rows of its data table (the text alternative shown beside it and the
CSV download) and a small JSON spec that ``static/js/charts.js`` turns into a Chart.js chart,
so the numbers in the table, the CSV and the picture are the same numbers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.models import Source
from governance.redaction import person_label, person_names_visible
from towns import selectors
from towns.models import (
    ActivityStatus,
    Direction,
    Indicator,
    IndicatorValue,
    Town,
    Typology,
)
from towns.profile import TownProfile, group_name

#: Okabe-Ito, a palette that stays distinguishable under the common colour-vision deficiencies.
#: "Aliens" get the warm colours, "our own" the cool ones, the undecided stay grey: a light
#: grey, because Okabe-Ito's mid grey (#999999) and its pink come within ΔE 7 of each other
#: for deuteranopes (tests/towns/test_pages.py simulates the three dichromacies).
TYPOLOGY_COLOURS = {
    Typology.SUPERIOR_STATE: "#D55E00",
    Typology.OUTSIDE_CORPORATE: "#E69F00",
    Typology.CLAN_FAMILY: "#0072B2",
    Typology.QUASI_COMMUNITY: "#56B4E9",
    Typology.ECCLESIAL: "#009E73",
    Typology.MIXED: "#CC79A7",
    Typology.INSUFFICIENT: "#CCCCCC",
}

#: The same types by shape, so that colour is never the only cue (colour blindness, greyscale
#: print): warm colours and pointed shapes for "aliens", cool colours and blunt shapes for
#: "our own", a star for mixed and an empty ring for too little evidence.
TYPOLOGY_SHAPES = {
    Typology.SUPERIOR_STATE: "triangle",
    Typology.OUTSIDE_CORPORATE: "diamond",
    Typology.CLAN_FAMILY: "circle",
    Typology.QUASI_COMMUNITY: "square",
    Typology.ECCLESIAL: "cross",
    Typology.MIXED: "star",
    Typology.INSUFFICIENT: "ring",
}
#: SVG of each shape in a 20 × 20 viewBox (the map's script and the legends draw the same).
SHAPE_SVG = {
    "circle": '<circle cx="10" cy="10" r="8.5"/>',
    "square": '<rect x="2.5" y="2.5" width="15" height="15"/>',
    "triangle": '<polygon points="10,1.5 18.8,18 1.2,18"/>',
    "diamond": '<polygon points="10,0.8 19.2,10 10,19.2 0.8,10"/>',
    "cross": '<polygon points="7,1.5 13,1.5 13,7 18.5,7 18.5,13 13,13 13,18.5 7,18.5 7,13 '
    '1.5,13 1.5,7 7,7"/>',
    "star": '<polygon points="10,0.8 12.6,7 19.3,7.3 14.1,11.5 15.8,18.6 10,14.8 4.2,18.6 '
    '5.9,11.5 0.7,7.3 7.4,7"/>',
    "ring": '<circle cx="10" cy="10" r="8.5"/><circle cx="10" cy="10" r="4" fill="#fff"/>',
}

#: What the research says about each type (from the seed document), shown on /typology/.
TYPOLOGY_DESCRIPTIONS = {
    Typology.SUPERIOR_STATE: gettext_lazy(
        "Aliens. The authorities are controlled by superior state structures of the district "
        "or the regional level; the local municipality carries out their regulations with "
        "minimal initiative of its own (e.g. Turov, Mstislavl)."
    ),
    Typology.OUTSIDE_CORPORATE: gettext_lazy(
        "Aliens. The authorities are controlled by outside corporate structures: the military, "
        "law enforcement, industry, power groups in the central administration (e.g. Chavusy, "
        "Shchuchin, Lepel, Kamjanets)."
    ),
    Typology.CLAN_FAMILY: gettext_lazy(
        "Our own. Clans or families control the administrative appointments and conduct "
        "business (e.g. Glubokoe)."
    ),
    Typology.QUASI_COMMUNITY: gettext_lazy(
        "Our own. A quasi-community of people who worked together for a long time and developed "
        "close personal relationships, in industry, business, with ties to the central "
        "government (e.g. Postavy)."
    ),
    Typology.ECCLESIAL: gettext_lazy(
        "Our own. An ecclesial community: most inhabitants belong to one church community and "
        "its corporate solidarity lets them lobby effectively for their interests (e.g. "
        "Olshany)."
    ),
    Typology.MIXED: gettext_lazy(
        "There is always some combination of the influence of our own and aliens: here no "
        "kind of group dominates the published evidence."
    ),
    Typology.INSUFFICIENT: gettext_lazy(
        "Not enough published evidence on who governs to classify the town yet."
    ),
}

STATUS_COLOURS = {
    ActivityStatus.COVERED: "#009E73",
    ActivityStatus.GAP: "#E69F00",
    ActivityStatus.FORBIDDEN: "#D55E00",
}
SERIES_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]


def _num(value) -> float | None:
    return None if value is None else float(value)


# --- Search: any spelling of a name ----------------------------------------------------------
# governance.text.search_filter (shared with the API and the admin): the query is looked for
# in every spelling at once (as typed, transliterated, read as Łacinka).

# --- The map ---------------------------------------------------------------------------------


def towns_with_cso_data(user) -> set[int] | None:
    """Ids of the towns that a CSO visible to ``user`` serves; None without a CSO app.

    ``towns`` may not import ``csos`` (dependencies point left), so the CSO model is reached
    through the reverse relation the CSO app adds to Town, and read through its own
    ``visible_to``: the one visibility policy still decides.
    """
    try:
        cso_model = Town._meta.get_field("csos").related_model
    except FieldDoesNotExist:
        return None
    return set(
        cso_model.objects.visible_to(user)
        .filter(towns__isnull=False)
        .values_list("towns", flat=True)
        .distinct()
    )


def latest_values(*, indicator: Indicator, user) -> dict[int, Decimal]:
    """The latest annual value of ``indicator`` for every town (town id → value). One query."""
    rows = (
        IndicatorValue.objects.visible_to(user)
        .filter(indicator=indicator, quarter=0)
        .order_by("town_id", "-year")
        .distinct("town_id")
        .values_list("town_id", "value")
    )
    return dict(rows)


def map_points(
    towns: QuerySet[Town],
    *,
    cso_towns: set[int] | None,
    values: dict[int, Decimal] | None = None,
    matching: set[int] | None = None,
) -> list[dict]:
    """One JSON-ready dict per town for the map and the list beside it."""
    points = []
    for town in towns:
        points.append(
            {
                "slug": town.slug,
                "name": town.name,
                "url": town.get_absolute_url(),
                "lat": float(town.latitude),
                "lon": float(town.longitude),
                "region": town.region.slug,
                "region_name": town.region.name,
                "kind": town.kind,
                "kind_label": str(town.get_kind_display()),
                "typology": town.typology,
                # The label is what the marker's tooltip and accessible name say: it carries
                # the synthetic marker too when the typology rests on a synthetic claim.
                "typology_label": (
                    f"{town.get_typology_display()} ({_('from synthetic data')})"
                    if town.aggregates_synthetic
                    else str(town.get_typology_display())
                ),
                "aggregates_synthetic": town.aggregates_synthetic,
                "colour": TYPOLOGY_COLOURS.get(town.typology, "#CCCCCC"),
                "shape": TYPOLOGY_SHAPES.get(town.typology, "circle"),
                "population": town.population,
                "cso": None if cso_towns is None else town.pk in cso_towns,
                "value": _num(values.get(town.pk)) if values is not None else None,
                "match": True if matching is None else town.pk in matching,
                "synthetic": town.is_synthetic,
            }
        )
    return points


def typology_legend() -> list[dict]:
    """Colour, shape and label of every type, as the map draws them."""
    return [
        {
            "value": value,
            "label": str(label),
            "colour": TYPOLOGY_COLOURS[value],
            "shape": TYPOLOGY_SHAPES[value],
            "svg": SHAPE_SVG[TYPOLOGY_SHAPES[value]],
        }
        for value, label in Typology.choices
    ]


# --- Charts ----------------------------------------------------------------------------------


@dataclass
class Chart:
    """A chart with its data table: ``columns`` and ``rows`` are the table and the CSV."""

    key: str
    title: str
    kind: str
    columns: list[str]
    rows: list[list]
    spec: dict
    synthetic: bool = False
    sources: list[Source] = field(default_factory=list)
    note: str = ""

    @property
    def element_id(self) -> str:
        return f"chart-{self.key}"

    @property
    def drawable(self) -> bool:
        """A network worth drawing: at least one node besides the town itself."""
        return any(n["data"].get("kind") != "town" for n in self.spec.get("nodes", []))


def balance_chart(profile: TownProfile) -> Chart:
    """The influence balance as a half-doughnut gauge: weights of "our own" and "aliens"."""
    balance = profile.balance
    own, alien = round(balance.own_weight, 2), round(balance.alien_weight, 2)
    rows = [
        [_("Our own"), own, _share(balance.own_share)],
        [_("Aliens"), alien, _share(balance.alien_share)],
    ]
    return Chart(
        key="balance",
        title=_("Influence balance"),
        kind="gauge",
        columns=[_("Side"), _("Weight (strength × confidence)"), _("Share")],
        rows=rows,
        spec={
            "type": "gauge",
            "labels": [_("Our own"), _("Aliens")],
            "datasets": [{"label": _("Weight"), "data": [own, alien]}],
            "colours": ["#0072B2", "#D55E00"],
            "empty": balance.own_share is None,
        },
        synthetic=balance.derived_from_synthetic,
        note=balance.explanation,
    )


def _share(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def activities_chart(profile: TownProfile) -> Chart:
    """How many activities of the town are covered, in the gap, or forbidden."""
    counts = dict.fromkeys(ActivityStatus.values, 0)
    for activity, _venture in profile.ventures:
        counts[activity.status] = counts.get(activity.status, 0) + 1
    labels = [str(ActivityStatus(s).label) for s in counts]
    return Chart(
        key="activities",
        title=_("Activities by status"),
        kind="bar",
        columns=[_("Status"), _("Activities")],
        rows=[[label, n] for label, n in zip(labels, counts.values(), strict=True)],
        spec={
            "type": "bar",
            "labels": labels,
            "datasets": [{"label": _("Activities"), "data": list(counts.values())}],
            "colours": [STATUS_COLOURS[s] for s in counts],
            "yTitle": _("Activities"),
            "integer": True,
        },
        synthetic=any(a.is_synthetic for a, _v in profile.ventures),
    )


def appointments_chart(profile: TownProfile, user) -> Chart:
    """Key posts over time: one bar per appointment from its start to its end (or today)."""
    today = profile.as_of
    rows, bars, labels = [], [], []
    for appointment in sorted(profile.appointments, key=lambda a: a.start_date or date.min):
        person = person_label(appointment.person, user)
        start, end = appointment.start_date, appointment.end_date
        label = f"{appointment.post.name} — {person}"
        rows.append([appointment.post.name, person, start or "", end or ""])
        if start:
            labels.append(label)
            bars.append([_year_fraction(start), _year_fraction(end or today)])
    return Chart(
        key="appointments",
        title=_("Appointments over time"),
        kind="timeline",
        columns=[_("Post"), _("Person"), _("Start"), _("End")],
        rows=rows,
        spec={
            "type": "timeline",
            "labels": labels,
            "datasets": [{"label": _("In office"), "data": bars}],
            "colours": ["#0072B2"],
            "xTitle": _("Year"),
        },
        synthetic=any(a.is_synthetic or a.person.is_synthetic for a in profile.appointments),
    )


def _year_fraction(day: date) -> float:
    return round(day.year + (day.timetuple().tm_yday - 1) / 366, 3)


def network_elements(profile: TownProfile, user) -> dict:
    """Cytoscape elements: the town, its influence groups and its key posts, and who shapes
    which appointment. A person appears (as part of a post's label) only when the viewer may
    see the names; otherwise the post stands alone.
    """
    town = profile.town
    nodes = [{"data": {"id": "town", "label": town.name, "kind": "town"}}]
    edges = []
    for influence in profile.influences:
        group = influence.group
        gid = f"g{group.pk}"
        if not any(n["data"]["id"] == gid for n in nodes):
            nodes.append({"data": {"id": gid, "label": group_name(group), "kind": group.origin}})
        edges.append(
            {
                "data": {
                    "id": f"i{influence.pk}",
                    "source": gid,
                    "target": "town",
                    "weight": influence.strength,
                    "label": str(influence.strength),
                }
            }
        )
    for appointment in profile.appointments:
        pid = f"a{appointment.pk}"
        label = appointment.post.name
        if person_names_visible(appointment.person, user):
            label = f"{label}: {appointment.person.name_en}"
        nodes.append({"data": {"id": pid, "label": label, "kind": "post"}})
        edges.append({"data": {"id": f"p{appointment.pk}", "source": pid, "target": "town"}})
        for group in appointment.influenced_by_groups.all():
            gid = f"g{group.pk}"
            if not any(n["data"]["id"] == gid for n in nodes):
                nodes.append(
                    {"data": {"id": gid, "label": group_name(group), "kind": group.origin}}
                )
            edges.append(
                {
                    "data": {
                        "id": f"x{appointment.pk}-{group.pk}",
                        "source": gid,
                        "target": pid,
                        "kind": "shapes",
                    }
                }
            )
    return {"nodes": nodes, "edges": edges}


def network_chart(profile: TownProfile, user, *, key: str = "network") -> Chart:
    """The network of groups, posts and the town as a chart: the Cytoscape elements to draw
    and, as its data table and CSV, one row per link (the same names the graph shows)."""
    elements = network_elements(profile, user)
    labels = {n["data"]["id"]: n["data"]["label"] for n in elements["nodes"]}
    rows = []
    for edge in elements["edges"]:
        data = edge["data"]
        if data.get("kind") == "shapes":
            link = _("shapes the appointment")
        elif "weight" in data:
            link = _("influence, strength %(n)s of 5") % {"n": data["weight"]}
        else:
            link = _("key post of the town")
        rows.append([labels[data["source"]], labels[data["target"]], link])
    return Chart(
        key=key,
        title=_("Groups, posts and the town"),
        kind="network",
        columns=[_("From"), _("To"), _("Link")],
        rows=rows,
        spec=elements,
        synthetic=any(i.is_synthetic for i in profile.influences)
        or any(a.is_synthetic for a in profile.appointments),
    )


# --- Indicators: series against the standard and the regional median -------------------------


def trend_slope(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of ``(year, value)`` points, in units per year.

    slope = Σ(x − x̄)(y − ȳ) / Σ(x − x̄)²; None with fewer than two distinct years.
    """
    if len({x for x, _y in points}) < 2:
        return None
    mean_x = sum(x for x, _y in points) / len(points)
    mean_y = sum(y for _x, y in points) / len(points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _y in points)
    return num / den


def trend_word(slope: float | None, mean: float, direction: str) -> str:
    """ "improving", "worsening" or "stable": stable when the yearly change is under 0.5 % of
    the mean value; otherwise improving when it goes the indicator's better direction."""
    if slope is None:
        return _("no trend (one year)")
    if mean == 0 or abs(slope) < abs(mean) * 0.005:
        return _("stable")
    better = slope > 0 if direction == Direction.HIGHER_BETTER else slope < 0
    return _("improving") if better else _("worsening")


@dataclass
class IndicatorSeries:
    indicator: Indicator
    years: list[int]
    values: dict[str, dict[int, float]]  # town slug → year → value
    medians: dict[int, float]  # year → regional median
    synthetic: bool
    sources: list[Source]


def indicator_series(
    *, towns: list[Town], user, regional_median: bool = True
) -> list[IndicatorSeries]:
    """Annual series of every indicator for ``towns``, with the median of each year over the
    towns of the first town's region (when ``regional_median``). Four queries whatever the
    data: the towns' values, the region's medians (kept per change in PostgreSQL, see
    :class:`~towns.models.RegionalIndicatorStat`: a region holds hundreds of thousands of values
    at scale), the indicators and the sources.
    """
    if not towns:
        return []
    ids = {t.pk for t in towns}
    visible = IndicatorValue.objects.visible_to(user).filter(quarter=0)
    rows = (
        visible.filter(town_id__in=ids)
        .values_list("town_id", "indicator_id", "year", "value", "is_synthetic", "source_id")
        .order_by()
    )
    slug = {t.pk: t.slug for t in towns}
    own: dict[int, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    synthetic: dict[int, bool] = defaultdict(bool)
    source_ids: dict[int, set[int]] = defaultdict(set)
    for town_id, indicator_id, year, value, is_synthetic, source_id in rows:
        own[indicator_id][slug[town_id]][year] = float(value)
        synthetic[indicator_id] |= is_synthetic
        if source_id:
            source_ids[indicator_id].add(source_id)
    medians: dict[int, dict[int, float]] = defaultdict(dict)
    if regional_median and own:
        medians = selectors.regional_medians(
            region_id=towns[0].region_id, indicator_ids=list(own.keys()), user=user
        )
    wanted = {pk for pks in source_ids.values() for pk in pks}
    sources = (
        {s.pk: s for s in Source.objects.visible_to(user).filter(pk__in=wanted)} if wanted else {}
    )
    result = []
    for indicator in Indicator.objects.filter(pk__in=own.keys()).order_by("system", "code"):
        per_town = own[indicator.pk]
        years = sorted({y for series in per_town.values() for y in series})
        by_year = medians[indicator.pk]
        result.append(
            IndicatorSeries(
                indicator=indicator,
                years=years,
                values={t.slug: per_town.get(t.slug, {}) for t in towns},
                medians={y: round(by_year[y], 4) for y in years if by_year.get(y) is not None},
                synthetic=synthetic[indicator.pk],
                sources=[sources[pk] for pk in sorted(source_ids[indicator.pk]) if pk in sources],
            )
        )
    return result


def indicator_chart(series: IndicatorSeries, towns: list[Town], *, with_median: bool) -> Chart:
    """Line chart of the series of ``towns``, the national standard and the regional median."""
    indicator = series.indicator
    datasets = []
    columns = [_("Year")]
    for i, town in enumerate(towns):
        values = series.values.get(town.slug, {})
        datasets.append(
            {
                "label": town.name,
                "data": [values.get(y) for y in series.years],
                "colour": SERIES_COLOURS[i % len(SERIES_COLOURS)],
            }
        )
        columns.append(town.name)
    if with_median:
        datasets.append(
            {
                "label": _("Regional median"),
                "data": [series.medians.get(y) for y in series.years],
                "colour": "#555555",
                "dash": True,
            }
        )
        columns.append(_("Regional median"))
    standard = _num(indicator.standard)
    if standard is not None:
        datasets.append(
            {
                "label": _("National standard"),
                "data": [standard for _y in series.years],
                "colour": "#000000",
                "dash": True,
                "standard": True,
            }
        )
        columns.append(_("National standard"))
    rows = [
        [y, *[d["data"][i] if d["data"][i] is not None else "" for d in datasets]]
        for i, y in enumerate(series.years)
    ]
    return Chart(
        key=f"indicator-{indicator.code}",
        title=f"{indicator.name} ({indicator.local_unit})",
        kind="line",
        columns=columns,
        rows=rows,
        spec={
            "type": "line",
            "labels": series.years,
            "datasets": datasets,
            "yTitle": indicator.local_unit,
        },
        synthetic=series.synthetic,
        sources=series.sources,
    )


@dataclass
class IndicatorSummary:
    """One row of the dashboard's indicator overview: latest value, trend, rank, chart."""

    row: object  # towns.selectors.IndicatorRow
    trend: str
    slope: float | None
    median: float | None
    rank: int | None
    of: int | None
    chart: Chart


def indicator_dashboard(*, town: Town, rows: list, user) -> list[IndicatorSummary]:
    """The latest-value rows of ``town`` joined with their series, trend and chart."""
    series = {s.indicator.pk: s for s in indicator_series(towns=[town], user=user)}
    out = []
    for row in rows:
        s = series.get(row.indicator.pk)
        if s is None:
            continue
        points = [(y, v) for y, v in s.values[town.slug].items()]
        slope = trend_slope(points)
        mean = sum(v for _y, v in points) / len(points) if points else 0.0
        # The rank among the region's towns comes with the row (towns.selectors).
        rank, of = row.rank, row.of
        out.append(
            IndicatorSummary(
                row=row,
                trend=trend_word(slope, mean, row.indicator.direction),
                slope=slope,
                median=s.medians.get(row.year),
                rank=rank,
                of=of,
                chart=indicator_chart(s, [town], with_median=True),
            )
        )
    return out


def sources_prefetch(user) -> Prefetch:
    return Prefetch("sources", queryset=Source.objects.visible_to(user))


def nice_max(values: list[float]) -> float | None:
    """A round upper bound for shared axes (1, 2 or 5 × 10ⁿ above the largest value)."""
    top = max((v for v in values if v is not None), default=None)
    if top is None or top <= 0:
        return None
    exp = 10 ** math.floor(math.log10(top))
    for step in (1, 2, 5, 10):
        if top <= step * exp:
            return float(step * exp)
    return float(10 * exp)


def profile_api_url(town: Town) -> str:
    """The town profile in the API (built by the API side; linked, never duplicated)."""
    return reverse("town-profile", kwargs={"version": "v1", "slug": town.slug})


def today() -> date:
    return timezone.localdate()
