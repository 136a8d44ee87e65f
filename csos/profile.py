"""Database → network metrics and strategy advice, for a viewer.

Only records ``visible_to(user)`` are read, and the leaders of a CSO only when the viewer may
see that CSO's leaders (``may_see_level(user, cso.leaders_access_level)``). The number of
queries is fixed, whatever the number of CSOs, links, activities or cases.

The network is the one *as of* a day (today unless given): CSOs liquidated on or before that
day, or founded after its year, are left out, and so are links and leaderships whose period
does not cover the day. A town's network holds the CSOs serving the town and the links between
two of them; a region's network holds the CSOs serving any town of the region.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from csos.advisor import AdvisorInputs, StrategyAdvice, advise
from csos.models import CSO, Character, CooperationCase, CSOLeadership, CSOLink, CulturalAsset
from csos.network import NetworkMetrics, network_metrics
from governance.access import PublicationState, may_see_level
from towns.models import Activity, Influence, Person, Region, ResearchSettings, Town
from towns.models.activities import ActivityStatus, Stance
from towns.pages import Chart
from towns.scoring import DEFAULT_THRESHOLDS
from towns.society_profile import ENRICHMENT_KEYS, enrichment_annotations, enrichment_from_row


def _active_on(day: date) -> Q:
    """Rows of a ``Dated`` model whose period covers ``day`` (open ends cover every day)."""
    return (Q(start_date__isnull=True) | Q(start_date__lte=day)) & (
        Q(end_date__isnull=True) | Q(end_date__gte=day)
    )


def _current_csos(qs: QuerySet[CSO], day: date, *, with_sources: bool = False) -> list[dict]:
    """The CSOs of ``qs`` that exist on ``day``, as plain rows (one query); with the ids of
    their sources (``src``) when asked (the evidence behind a verdict)."""
    qs = qs.filter(
        Q(liquidation_date__isnull=True) | Q(liquidation_date__gt=day),
        Q(founding_year__isnull=True) | Q(founding_year__lte=day.year),
    ).values("pk", "slug", "character", "leaders_access_level", "is_synthetic")
    if with_sources:
        qs = qs.annotate(src=ArrayAgg("sources", distinct=True))
    return list(qs.distinct().order_by("slug"))


def _network_of(rows: list[dict], *, user, day: date) -> NetworkMetrics:
    """The network of the CSO ``rows`` (two queries): visible links and visible leaders."""
    slug_of = {row["pk"]: row["slug"] for row in rows}
    pks = list(slug_of)
    links = []
    leaders: dict[str, list[str]] = {}
    synthetic = any(row["is_synthetic"] for row in rows)
    if pks:
        pairs = list(
            CSOLink.objects.visible_to(user)
            .filter(_active_on(day), source_cso_id__in=pks, target_cso_id__in=pks)
            .values_list("source_cso_id", "target_cso_id", "is_synthetic")
        )
        links = [(slug_of[a], slug_of[b]) for a, b, _synthetic in pairs]
        synthetic = synthetic or any(flag for _a, _b, flag in pairs)
        # Leaders are sensitive: only where this viewer may see the leaders of the CSO.
        open_pks = [row["pk"] for row in rows if may_see_level(user, row["leaders_access_level"])]
        if open_pks:
            leaderships = (
                CSOLeadership.objects.visible_to(user)
                .filter(
                    _active_on(day),
                    cso_id__in=open_pks,
                    person__in=Person.objects.visible_to(user).values("pk"),
                )
                .values_list("cso_id", "person_id")
                .order_by("cso_id", "person_id")
            )
            for cso_id, person_id in leaderships:
                leaders.setdefault(slug_of[cso_id], []).append(str(person_id))
    metrics = network_metrics([row["slug"] for row in rows], links, leaders)
    return replace(metrics, derived_from_synthetic=synthetic)


def town_network(town: Town, *, user=None, as_of: date | None = None) -> NetworkMetrics:
    """The network of the CSOs serving ``town`` that ``user`` may see (three queries).

    CSOs are identified by their slug; leaders among the brokers as ``leader:<person id>``.
    """
    day = as_of or timezone.localdate()
    rows = _current_csos(CSO.objects.visible_to(user).filter(towns=town), day)
    return _network_of(rows, user=user, day=day)


def region_network(region: Region, *, user=None, as_of: date | None = None) -> NetworkMetrics:
    """The network of the CSOs serving any town of ``region`` that ``user`` may see."""
    day = as_of or timezone.localdate()
    rows = _current_csos(CSO.objects.visible_to(user).filter(towns__region=region), day)
    return _network_of(rows, user=user, day=day)


def town_advisor_inputs(town: Town, *, user=None, as_of: date | None = None) -> AdvisorInputs:
    """What the advisor needs about ``town``, from the records ``user`` may see (six queries).

    The typology and the share of "our own" influence are the town's stored aggregates, which
    are computed from published claims and public by design.
    """
    day = as_of or timezone.localdate()
    rows = _current_csos(CSO.objects.visible_to(user).filter(towns=town), day, with_sources=True)
    characters = Counter(row["character"] for row in rows)

    activities = (
        Activity.objects.visible_to(user)
        .filter(town=town)
        .values("status", "la_stance", "is_synthetic")
        .annotate(n=Count("pk", distinct=True), src=ArrayAgg("sources", distinct=True))
        .order_by()
    )
    activities_total = 0
    gap_stances: Counter[str] = Counter()
    synthetic: set[str] = set()
    cited: dict[str, set[int]] = {}
    for row in activities:
        activities_total += row["n"]
        if row["status"] == ActivityStatus.GAP:
            gap_stances[row["la_stance"]] += row["n"]
            if row["is_synthetic"]:
                synthetic.add("activities")
            if row["la_stance"] != Stance.UNKNOWN:
                cited.setdefault("activities", set()).update(pk for pk in row["src"] if pk)

    cases = list(
        CooperationCase.objects.visible_to(user)
        .filter(town=town)
        .annotate(src=ArrayAgg("sources", distinct=True))
        .order_by("pk")
        .values_list("strategy", "outcome", "is_synthetic", "src")
    )
    for strategy, _outcome, _synthetic, src in cases:
        cited.setdefault(f"past_cases_{strategy}", set()).update(pk for pk in src if pk)
    published = Influence.objects.filter(
        _active_on(day),
        town=OuterRef("pk"),
        state=PublicationState.PUBLISHED,
        deleted_at__isnull=True,
    ).order_by()
    settings = ResearchSettings.objects.filter(pk=1)
    # One query for the assets and for whether the stored typology and share (computed from
    # every published influence claim, public by design) rest on a synthetic claim.
    assets = CulturalAsset.objects.visible_to(user).filter(town=OuterRef("pk"))
    extra = (
        Town.objects.filter(pk=town.pk)
        .annotate(
            n_assets=Coalesce(
                Subquery(assets.order_by().values("town").annotate(n=Count("pk")).values("n")[:1]),
                0,
            ),
            assets_synthetic=Exists(assets.filter(is_synthetic=True)),
            assets_sources=Subquery(
                assets.order_by()
                .values("town")
                .annotate(a=ArrayAgg("sources", distinct=True))
                .values("a")[:1]
            ),
            # The evidence behind the stored typology, and the research's minimums.
            influence_claims=Coalesce(
                Subquery(published.values("town").annotate(n=Count("pk")).values("n")[:1]), 0
            ),
            influence_sources=Subquery(
                published.values("town")
                .annotate(a=ArrayAgg("sources", distinct=True))
                .values("a")[:1]
            ),
            min_stance_observations=Subquery(settings.values("min_stance_observations")[:1]),
            min_cases=Subquery(settings.values("min_cases")[:1]),
            influence_synthetic=Exists(
                Influence.objects.filter(
                    Q(is_synthetic=True) | Q(group__is_synthetic=True),
                    town=OuterRef("pk"),
                    state=PublicationState.PUBLISHED,
                    deleted_at__isnull=True,
                )
            ),
        )
        # What option 3 can build on (towns.society), in the same query.
        .annotate(**enrichment_annotations(user))
        .values(
            "n_assets",
            "assets_synthetic",
            "assets_sources",
            "influence_synthetic",
            "influence_claims",
            "influence_sources",
            "min_stance_observations",
            "min_cases",
            *ENRICHMENT_KEYS,
        )
        .get()
    )
    if any(case[2] for case in cases):
        synthetic.add("past_cases")
    if extra["assets_synthetic"]:
        synthetic.add("cultural_assets")
    if any(row["is_synthetic"] for row in rows):
        synthetic.update(("csos", "network"))
    if extra["influence_synthetic"]:
        synthetic.add("influence")
    enrichment = enrichment_from_row(town, extra)
    if enrichment.synthetic:
        synthetic.add("society")
    return AdvisorInputs(
        typology=town.typology or None,
        own_share=float(town.own_share) if town.own_share is not None else None,
        activities_total=activities_total,
        activities_in_gap=sum(gap_stances.values()),
        gap_stances=dict(gap_stances),
        independent_csos=characters[Character.INDEPENDENT],
        gongo_csos=characters[Character.GONGO],
        other_csos=len(rows) - characters[Character.INDEPENDENT] - characters[Character.GONGO],
        network=_network_of(rows, user=user, day=day),
        past_cases=[(strategy, outcome) for strategy, outcome, _synthetic, _src in cases],
        cultural_assets=extra["n_assets"],
        enrichment=enrichment,
        synthetic_inputs=frozenset(synthetic),
        influence_claims=extra["influence_claims"],
        source_ids={
            "influence": frozenset(pk for pk in extra["influence_sources"] or () if pk),
            # The CSOs and heritage assets read by options 1-3 cite their sources too.
            "csos": frozenset(pk for row in rows for pk in row["src"] if pk),
            "cultural_assets": frozenset(pk for pk in extra["assets_sources"] or () if pk),
            **{name: frozenset(ids) for name, ids in cited.items()},
        },
        thresholds=replace(
            DEFAULT_THRESHOLDS,
            **{
                name: extra[name]
                for name in ("min_stance_observations", "min_cases")
                if extra[name] is not None
            },
        ),
    )


def town_advice(town: Town, *, user=None, as_of: date | None = None) -> list[StrategyAdvice]:
    """The strategy advice for ``town`` as ``user`` may see it: options 1, 2 and 3."""
    return advise(town_advisor_inputs(town, user=user, as_of=as_of))


#: How the network graph tells the character of a CSO: by colour and by shape (never by colour
#: alone), the same in its legend (templates/csos/_network_legend.html).
CHARACTER_STYLE = {
    Character.INDEPENDENT: ("#009E73", "ellipse"),
    Character.GONGO: ("#D55E00", "diamond"),
    Character.CHURCH: ("#56B4E9", "triangle"),
    Character.BUSINESS: ("#E69F00", "round-rectangle"),
    Character.OTHER: ("#999999", "hexagon"),
}


def town_network_chart(
    town: Town, *, user=None, as_of: date | None = None, key: str = "csos"
) -> Chart:
    """The CSOs serving ``town`` that ``user`` may see and the links between them, as a chart:
    Cytoscape elements to draw, and one row per link (or per isolated CSO) for its data table
    and CSV. Two queries. Leaders are never part of it: brokers among leaders are counted by
    :func:`town_network`, not named.
    """
    day = as_of or timezone.localdate()
    csos = list(
        CSO.objects.visible_to(user)
        .filter(towns=town)
        .filter(
            Q(liquidation_date__isnull=True) | Q(liquidation_date__gt=day),
            Q(founding_year__isnull=True) | Q(founding_year__lte=day.year),
        )
        .only("pk", "slug", "name_en", "name_be", "name_ru", "character", "is_synthetic")
        .distinct()
        .order_by("name_en", "pk")
    )
    by_pk = {cso.pk: cso for cso in csos}
    links = list(
        CSOLink.objects.visible_to(user)
        .filter(_active_on(day), source_cso_id__in=by_pk, target_cso_id__in=by_pk)
        .order_by("pk")
        .only("pk", "source_cso_id", "target_cso_id", "kind", "is_synthetic")
    )
    nodes = []
    for cso in csos:
        colour, shape = CHARACTER_STYLE.get(cso.character, CHARACTER_STYLE[Character.OTHER])
        nodes.append(
            {
                "data": {
                    "id": f"c{cso.pk}",
                    "label": cso.name,
                    "kind": cso.character,
                    "colour": colour,
                    "shape": shape,
                }
            }
        )
    edges = [
        {
            "data": {
                "id": f"l{link.pk}",
                "source": f"c{link.source_cso_id}",
                "target": f"c{link.target_cso_id}",
                "kind": link.kind,
            }
        }
        for link in links
    ]
    rows = [
        [by_pk[link.source_cso_id].name, by_pk[link.target_cso_id].name, link.get_kind_display()]
        for link in links
    ]
    linked = {pk for link in links for pk in (link.source_cso_id, link.target_cso_id)}
    rows += [[cso.name, "—", _("no link (isolated)")] for cso in csos if cso.pk not in linked]
    return Chart(
        key=key,
        title=_("Network of the civil society organisations"),
        kind="network",
        columns=[_("Organisation"), _("Linked with"), _("Link")],
        rows=rows,
        spec={"nodes": nodes, "edges": edges, "directed": False},
        synthetic=any(c.is_synthetic for c in csos) or any(lk.is_synthetic for lk in links),
    )
