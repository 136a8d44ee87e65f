"""A town's society and environment as a viewer may see them: records and measures.

The selector side of :mod:`towns.society`: every record is read through ``visible_to(user)``,
related records (groups, activities, sources) are narrowed to what the viewer may see, and a
site's coordinates are present only when the redaction policy lets the viewer see them. The
pure measures are then computed from exactly these records. Ten queries, whatever the town.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from statistics import median

from django.contrib.postgres.aggregates import JSONBAgg
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, Prefetch, Subquery
from django.db.models.functions import JSONObject
from django.utils.translation import gettext as _

from governance.models import Source
from governance.redaction import may_see_field
from towns.models import (
    Activity,
    CommunicationSite,
    InfluenceGroup,
    ManagementMechanism,
    SelfOrganisationEvent,
    SocietyObservation,
    Town,
    WayOfLife,
)
from towns.society import (
    EnrichmentEvidence,
    ObservationInput,
    SiteInput,
    WayInput,
    enrichment_evidence,
)

#: The keys :func:`enrichment_annotations` adds to a town row.
ENRICHMENT_KEYS = (
    "enrich_sites",
    "enrich_ways",
    "enrich_events",
    "enrich_observations",
    "enrich_region_ways",
)


def _sources(user) -> Prefetch:
    return Prefetch("sources", queryset=Source.objects.visible_to(user))


@dataclass
class TownSociety:
    """What the town page, the API and the advisor show of a town's society and environment."""

    town: Town
    mechanisms: list[ManagementMechanism]
    observations: list[SocietyObservation]
    events: list[SelfOrganisationEvent]
    ways: list[WayOfLife]
    sites: list[CommunicationSite]
    evidence: EnrichmentEvidence
    map_sites: list[dict]

    @property
    def ways_by_category(self) -> list[tuple[str, list[WayOfLife]]]:
        grouped: dict[str, list[WayOfLife]] = defaultdict(list)
        for way in self.ways:
            grouped[way.get_category_display()].append(way)
        return list(grouped.items())

    @property
    def is_empty(self) -> bool:
        return not (self.mechanisms or self.observations or self.events or self.ways or self.sites)


def mechanisms_for(town: Town, user) -> list[ManagementMechanism]:
    return list(
        ManagementMechanism.objects.visible_to(user)
        .filter(town=town)
        .select_related("kind")
        .prefetch_related(
            "indicators",
            Prefetch("groups", queryset=InfluenceGroup.objects.visible_to(user)),
            Prefetch("suppresses", queryset=Activity.objects.visible_to(user)),
            Prefetch("tolerates", queryset=Activity.objects.visible_to(user)),
            _sources(user),
        )
    )


def site_point(site: CommunicationSite, user) -> dict | None:
    """A site on the map: only when it has coordinates the viewer may see."""
    if site.latitude is None or not may_see_field(site, "latitude", user):
        return None
    return {
        "name": site.name,
        "lat": float(site.latitude),
        "lon": float(site.longitude),
        "kind": site.get_kind_display(),
        "operator": site.get_operator_display(),
        "open": _("Open to independent activity: %(answer)s")
        % {"answer": site.get_open_to_independent_display()},
        "openness": site.open_to_independent,
        "dialogue": site.dialogue_place,
        "synthetic": site.is_synthetic,
    }


def _region_ways(town: Town, user) -> list[list[WayInput]]:
    rows = (
        WayOfLife.objects.visible_to(user)
        .filter(town__region_id=town.region_id)
        .values_list("town_id", "category", "availability")
        .order_by()
    )
    by_town: dict[int, list[WayInput]] = defaultdict(list)
    for town_id, category, availability in rows:
        by_town[town_id].append(WayInput(category, availability))
    return list(by_town.values())


def _evidence(town: Town, user, *, sites, ways, events, observations, synthetic: bool):
    """``sites``, ``ways``, ``events`` and ``observations`` are rows (objects or tuples turned
    into the measures' inputs by the two callers)."""
    return enrichment_evidence(
        sites=sites,
        ways=ways,
        events=events,
        observations=observations,
        population=town.population,
        region_ways=_region_ways(town, user),
        synthetic=synthetic,
    )


def _json_rows(queryset, outer: str = "pk", group: str = "town", **fields) -> Subquery:
    """The rows of ``queryset`` related to the outer town as one JSON array (a subquery)."""
    return Subquery(
        queryset.filter(**{group: OuterRef(outer)})
        .order_by()
        .values(group)
        .annotate(rows=JSONBAgg(JSONObject(**fields), order_by="pk"))
        .values("rows")[:1]
    )


def enrichment_annotations(user) -> dict:
    """Annotations of a ``Town`` queryset carrying, as JSON, every row the option-3 evidence
    needs at ``user``'s level, so that the advisor gathers it inside a query it already makes
    (see :func:`enrichment_from_row`)."""
    visible_sources = Source.objects.visible_to(user).filter(societyobservation=OuterRef("pk"))
    return {
        "enrich_sites": _json_rows(
            CommunicationSite.objects.visible_to(user),
            name="name",
            kind="kind",
            operator="operator",
            open="open_to_independent",
            dialogue="dialogue_place",
            synthetic="is_synthetic",
        ),
        "enrich_ways": _json_rows(
            WayOfLife.objects.visible_to(user),
            name="name",
            category="category",
            availability="availability",
            synthetic="is_synthetic",
        ),
        "enrich_events": _json_rows(
            SelfOrganisationEvent.objects.visible_to(user),
            title="title",
            kind="kind",
            outcome="outcome",
            synthetic="is_synthetic",
        ),
        "enrich_observations": _json_rows(
            SocietyObservation.objects.visible_to(user),
            measure="measure",
            year="year",
            level="level",
            confidence="confidence",
            synthetic="is_synthetic",
            sources=ArraySubquery(visible_sources.values("pk")),
        ),
        "enrich_region_ways": _json_rows(
            WayOfLife.objects.visible_to(user),
            outer="region_id",
            group="town__region",
            town="town_id",
            category="category",
            availability="availability",
        ),
    }


def enrichment_from_row(town: Town, row: dict) -> EnrichmentEvidence:
    """The option-3 evidence from a row annotated with :func:`enrichment_annotations`."""
    sites = row["enrich_sites"] or []
    ways = row["enrich_ways"] or []
    events = row["enrich_events"] or []
    observations = row["enrich_observations"] or []
    region: dict[int, list[WayInput]] = defaultdict(list)
    for r in row["enrich_region_ways"] or []:
        region[r["town"]].append(WayInput(r["category"], r["availability"]))
    return enrichment_evidence(
        sites=[
            (r["name"], SiteInput(r["kind"], r["operator"], r["open"], r["dialogue"]))
            for r in sites
        ],
        ways=[(r["name"], WayInput(r["category"], r["availability"])) for r in ways],
        events=[(r["title"], r["kind"], r["outcome"]) for r in events],
        observations=[
            ObservationInput(
                measure=r["measure"],
                year=r["year"],
                level=r["level"],
                confidence=r["confidence"],
                sources=frozenset(r["sources"] or ()),
            )
            for r in observations
        ],
        population=town.population,
        region_ways=list(region.values()),
        synthetic=any(r["synthetic"] for r in [*sites, *ways, *events, *observations]),
    )


def town_enrichment(town: Town, *, user=None) -> EnrichmentEvidence:
    """What option 3 of the strategy advisor can build on in ``town``, at ``user``'s level, in
    one query."""
    row = (
        Town.objects.filter(pk=town.pk)
        .annotate(**enrichment_annotations(user))
        .values(*ENRICHMENT_KEYS)
        .get()
    )
    return enrichment_from_row(town, row)


def town_society(town: Town, *, user=None) -> TownSociety:
    """Everything of ``town``'s society and environment that ``user`` may see, with measures."""
    mechanisms = mechanisms_for(town, user)
    observations = list(
        SocietyObservation.objects.visible_to(user)
        .filter(town=town)
        .prefetch_related(_sources(user))
    )
    events = list(
        SelfOrganisationEvent.objects.visible_to(user)
        .filter(town=town)
        .prefetch_related(_sources(user))
    )
    ways = list(
        WayOfLife.objects.visible_to(user).filter(town=town).prefetch_related(_sources(user))
    )
    sites = list(
        CommunicationSite.objects.visible_to(user)
        .filter(town=town)
        .prefetch_related(_sources(user))
    )
    evidence = _evidence(
        town,
        user,
        sites=[
            (s.name, SiteInput(s.kind, s.operator, s.open_to_independent, s.dialogue_place))
            for s in sites
        ],
        ways=[(w.name, WayInput(w.category, w.availability)) for w in ways],
        events=[(e.title, e.kind, e.outcome) for e in events],
        observations=[
            ObservationInput(
                measure=o.measure,
                year=o.year,
                level=o.level,
                confidence=o.confidence,
                sources=frozenset(s.pk for s in o.sources.all()),
            )
            for o in observations
        ],
        synthetic=any(r.is_synthetic for r in [*observations, *events, *ways, *sites]),
    )
    points = [p for p in (site_point(s, user) for s in sites) if p is not None]
    return TownSociety(
        town=town,
        mechanisms=mechanisms,
        observations=observations,
        events=events,
        ways=ways,
        sites=sites,
        evidence=evidence,
        map_sites=points,
    )


def towns_enrichment(towns: list[Town], *, user=None) -> dict[int, EnrichmentEvidence]:
    """The evidence of each of ``towns`` (by pk) at ``user``'s level, in one query."""
    by_pk = {t.pk: t for t in towns}
    rows = (
        Town.objects.filter(pk__in=by_pk)
        .annotate(**enrichment_annotations(user))
        .values("pk", *ENRICHMENT_KEYS)
    )
    return {row["pk"]: enrichment_from_row(by_pk[row["pk"]], row) for row in rows}


@dataclass
class GroupSociety:
    """Society and environment over a group of towns (a type of the typology): the medians over
    the towns that have records, and how many of them have each engagement verdict."""

    towns: int
    with_records: int
    verdicts: dict[str, int]
    median_sites_per_1000: float | None
    median_open_share: float | None
    median_realisable: float | None
    median_evenness: float | None
    synthetic: bool


def _median(values: list[float]) -> float | None:
    return round(float(median(values)), 3) if values else None


def group_society(
    towns: list[Town], *, user=None, known: dict[int, EnrichmentEvidence] | None = None
) -> GroupSociety:
    """Medians of ``towns``; ``known`` is evidence already read for them (one query for a page
    of several groups instead of one per group)."""
    if known is not None:
        evidence = [known[t.pk] for t in towns if t.pk in known]
    else:
        evidence = list(towns_enrichment(towns, user=user).values()) if towns else []
    recorded = [
        e
        for e in evidence
        if e.sites.sites or e.choice.town.recorded or e.engagement.readings or e.engagement.events
    ]
    verdicts = Counter(e.engagement.verdict or "none" for e in recorded)
    return GroupSociety(
        towns=len(towns),
        with_records=len(recorded),
        verdicts=dict(verdicts),
        median_sites_per_1000=_median(
            [e.sites.per_1000 for e in recorded if e.sites.sites and e.sites.per_1000 is not None]
        ),
        median_open_share=_median(
            [e.sites.open_share for e in recorded if e.sites.open_share is not None]
        ),
        median_realisable=_median(
            [e.choice.town.realisable for e in recorded if e.choice.town.recorded]
        ),
        median_evenness=_median(
            [e.choice.town.evenness for e in recorded if e.choice.town.evenness is not None]
        ),
        synthetic=any(e.synthetic for e in recorded),
    )
