"""Pure measures of society, freedom of choice and the urban environment of a town.

Input in, explained result out, no database access (``towns.society_selectors`` gathers the
inputs at the viewer's level). Every measure shows its parts and the evidence it rests on;
none is a single opaque score. ``docs/scoring.md`` ("Society, freedom of choice, communication
sites") explains each one in plain words with a worked example.

1. :func:`engagement_summary`: how engaged or alienated a town's people are, from the readings
   (levels 1-5) of the society observations, with the number of observations, the independent
   sources and the confidence it rests on. Below :data:`MIN_OBSERVATIONS` readings from
   :data:`MIN_SOURCES` independent sources no verdict is given.
2. :func:`choice_range`: the range and evenness of choice: how many ways of life are realisable
   per category, and how evenly the realisable choice spreads over the five categories
   (Shannon evenness weighted by availability), each compared with the region's median.
3. :func:`site_density`: communication sites per 1,000 inhabitants and the share open to
   independent activity.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import median

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from towns.models.society import (
    Availability,
    EngagementLevel,
    Openness,
    SocietyMeasure,
    WayOfLifeCategory,
)

#: No verdict on engagement from fewer readings than this ...
MIN_OBSERVATIONS = 3
#: ... or from fewer independent sources than this (one survey read three times is one source).
MIN_SOURCES = 2
#: Median reading at or below which people are "alienated", at or above which "engaged".
ALIENATED_AT = 2.0
ENGAGED_AT = 4.0

#: How much a way of life counts towards choice, by how realisable it is. A marginal way of
#: life exists but can hardly be lived: it is listed, not counted as a choice.
AVAILABILITY_WEIGHT: dict[str, float] = {
    Availability.OPEN: 1.0,
    Availability.LIMITED: 0.5,
    Availability.MARGINAL: 0.0,
}
CATEGORIES: tuple[str, ...] = tuple(WayOfLifeCategory.values)
CONFIDENCE_ORDER = ("low", "medium", "high")


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------------------------------------
# 1. Engagement and alienation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservationInput:
    """One society observation. ``sources`` are the ids of its (visible) sources."""

    measure: str
    year: int
    level: int | None
    confidence: str = "medium"
    sources: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.measure not in SocietyMeasure.values:
            raise ValueError(f"Unknown measure {self.measure!r}.")
        if self.level is not None and self.level not in EngagementLevel.values:
            raise ValueError(f"The level {self.level!r} is not between 1 and 5.")
        if self.confidence not in CONFIDENCE_ORDER:
            raise ValueError(f"Unknown confidence {self.confidence!r}.")


@dataclass(frozen=True)
class EngagementSummary:
    """How engaged the town's people are, and what that rests on."""

    verdict: str | None  # "engaged", "mixed", "alienated" or None (too little evidence)
    median_level: float | None
    readings: int
    unread: int
    independent_sources: int
    confidence: str | None
    years: tuple[int, int] | None
    by_measure: dict[str, float]
    events: int
    events_by_kind: dict[str, int]
    explanation: str
    missing: list[str] = field(default_factory=list)

    @property
    def verdict_label(self) -> str:
        return {
            "engaged": _("engaged"),
            "mixed": _("between engagement and alienation"),
            "alienated": _("alienated from power"),
            None: _("no verdict (too little evidence)"),
        }[self.verdict]


def engagement_summary(
    observations: Sequence[ObservationInput],
    *,
    events: Iterable[str] = (),
    min_observations: int = MIN_OBSERVATIONS,
    min_sources: int = MIN_SOURCES,
) -> EngagementSummary:
    """Summarise the readings of ``observations``; ``events`` are the kinds of the town's
    self-organisation events (counted, not scored: they are signs, not a measure).

    The verdict is the median reading: at most :data:`ALIENATED_AT` is *alienated*, at least
    :data:`ENGAGED_AT` *engaged*, in between *mixed*. The confidence of the summary is that of
    its least certain reading (a chain is as strong as its weakest link)."""
    read = [o for o in observations if o.level is not None]
    unread = len(observations) - len(read)
    sources = frozenset().union(*(o.sources for o in read)) if read else frozenset()
    event_kinds = Counter(events)
    by_measure = {
        m: float(median(o.level for o in read if o.measure == m))
        for m in SocietyMeasure.values
        if any(o.measure == m for o in read)
    }
    years = (min(o.year for o in read), max(o.year for o in read)) if read else None
    confidence = min((o.confidence for o in read), key=CONFIDENCE_ORDER.index) if read else None
    missing = []
    if unread:
        missing.append(
            ngettext(
                "%(n)d observation has a figure but no reading of it",
                "%(n)d observations have a figure but no reading of it",
                unread,
            )
            % {"n": unread}
        )
    events_text = (
        ngettext(
            " %(n)d sign of self-organisation is recorded.",
            " %(n)d signs of self-organisation are recorded.",
            sum(event_kinds.values()),
        )
        % {"n": sum(event_kinds.values())}
        if event_kinds
        else " " + _("No sign of self-organisation is recorded.")
    )
    common = {
        "n": len(read),
        "sources": len(sources),
        "min_n": min_observations,
        "min_sources": min_sources,
    }
    if len(read) < min_observations or len(sources) < min_sources:
        missing.append(
            _(
                "Observations of engagement: at least %(min_n)d readings from %(min_sources)d "
                "independent sources are needed for a verdict"
            )
            % common
        )
        explanation = (
            _(
                "No verdict: %(n)d reading(s) from %(sources)d independent source(s); at least "
                "%(min_n)d readings from %(min_sources)d sources are needed."
            )
            % common
        ) + events_text
        return EngagementSummary(
            verdict=None,
            median_level=float(median(o.level for o in read)) if read else None,
            readings=len(read),
            unread=unread,
            independent_sources=len(sources),
            confidence=confidence,
            years=years,
            by_measure=by_measure,
            events=sum(event_kinds.values()),
            events_by_kind=dict(event_kinds),
            explanation=explanation,
            missing=missing,
        )
    level = float(median(o.level for o in read))
    if level <= ALIENATED_AT:
        verdict = "alienated"
    elif level >= ENGAGED_AT:
        verdict = "engaged"
    else:
        verdict = "mixed"
    explanation = (
        _(
            "The median of %(n)d readings (1 alienated … 5 engaged) from %(sources)d independent "
            "sources, %(first)d–%(last)d, is %(median)s: at most %(low)s reads as alienated, at "
            "least %(high)s as engaged."
        )
        % {
            **common,
            "first": years[0],
            "last": years[1],
            "median": _number(level),
            "low": _number(ALIENATED_AT),
            "high": _number(ENGAGED_AT),
        }
        + events_text
    )
    return EngagementSummary(
        verdict=verdict,
        median_level=level,
        readings=len(read),
        unread=unread,
        independent_sources=len(sources),
        confidence=confidence,
        years=years,
        by_measure=by_measure,
        events=sum(event_kinds.values()),
        events_by_kind=dict(event_kinds),
        explanation=explanation,
        missing=missing,
    )


# ---------------------------------------------------------------------------------------------
# 2. Range and evenness of choice
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WayInput:
    category: str
    availability: str

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"Unknown category {self.category!r}.")
        if self.availability not in AVAILABILITY_WEIGHT:
            raise ValueError(f"Unknown availability {self.availability!r}.")


@dataclass(frozen=True)
class ChoiceComponents:
    """The parts of a town's range of choice."""

    recorded: int
    realisable: int
    realisable_by_category: dict[str, int]
    weight_by_category: dict[str, float]
    categories_covered: int
    evenness: float | None


def choice_components(ways: Sequence[WayInput]) -> ChoiceComponents:
    """Count the realisable ways of life (open or limited) per category, and the evenness of
    the availability-weighted choice over the five categories: Shannon entropy of the category
    shares divided by ln 5, so 0 is all choice in one category and 1 an equal share in each.
    None when nothing is realisable."""
    weights = dict.fromkeys(CATEGORIES, 0.0)
    counts = dict.fromkeys(CATEGORIES, 0)
    for way in ways:
        weight = AVAILABILITY_WEIGHT[way.availability]
        weights[way.category] += weight
        if weight > 0:
            counts[way.category] += 1
    total = sum(weights.values())
    evenness = None
    if total > 0:
        entropy = -sum((w / total) * math.log(w / total) for w in weights.values() if w > 0)
        evenness = round(entropy / math.log(len(CATEGORIES)), 3)
    return ChoiceComponents(
        recorded=len(ways),
        realisable=sum(counts.values()),
        realisable_by_category=counts,
        weight_by_category=weights,
        categories_covered=sum(1 for c in counts.values() if c),
        evenness=evenness,
    )


@dataclass(frozen=True)
class ChoiceRange:
    """A town's range of choice next to its region's median (towns with ways of life recorded)."""

    town: ChoiceComponents
    region_towns: int
    region_median_realisable: float | None
    region_median_evenness: float | None
    explanation: str
    missing: list[str] = field(default_factory=list)


def choice_range(
    ways: Sequence[WayInput], region: Sequence[Sequence[WayInput]] = ()
) -> ChoiceRange:
    """The town's components and the medians over ``region`` (the ways of life of each town of
    the region that has any recorded, this town included)."""
    own = choice_components(ways)
    others = [choice_components(w) for w in region if w]
    realisable = [c.realisable for c in others]
    evenness = [c.evenness for c in others if c.evenness is not None]
    med_real = float(median(realisable)) if realisable else None
    med_even = round(float(median(evenness)), 3) if evenness else None
    missing = []
    if not ways:
        missing.append(_("Ways of life (none recorded for this town)"))
        explanation = _("No way of life is recorded for this town, so nothing is measured.")
    else:
        explanation = _(
            "%(realisable)d of %(recorded)d recorded ways of life are realisable (open or "
            "limited), in %(covered)d of %(categories)d categories; evenness of the choice "
            "over the categories %(evenness)s (0 all in one, 1 equal in all)."
        ) % {
            "realisable": own.realisable,
            "recorded": own.recorded,
            "covered": own.categories_covered,
            "categories": len(CATEGORIES),
            "evenness": "—" if own.evenness is None else _number(own.evenness),
        }
        if len(others) >= 2 and med_real is not None:
            explanation += " " + _(
                "Region median over %(n)d towns with records: %(real)s realisable, "
                "evenness %(even)s."
            ) % {
                "n": len(others),
                "real": _number(med_real),
                "even": "—" if med_even is None else _number(med_even),
            }
        else:
            missing.append(_("Ways of life in other towns of the region (for the comparison)"))
    return ChoiceRange(
        town=own,
        region_towns=len(others),
        region_median_realisable=med_real if len(others) >= 2 else None,
        region_median_evenness=med_even if len(others) >= 2 else None,
        explanation=explanation,
        missing=missing,
    )


# ---------------------------------------------------------------------------------------------
# 3. Communication sites
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteInput:
    kind: str
    operator: str
    open_to_independent: str
    dialogue_place: bool = False

    def __post_init__(self) -> None:
        if self.open_to_independent not in Openness.values:
            raise ValueError(f"Unknown openness {self.open_to_independent!r}.")


@dataclass(frozen=True)
class SiteDensity:
    sites: int
    physical: int
    per_1000: float | None
    open_yes: int
    open_partly: int
    open_no: int
    open_share: float | None
    open_or_partly_share: float | None
    dialogue_places: int
    by_operator: dict[str, int]
    explanation: str
    missing: list[str] = field(default_factory=list)


def site_density(sites: Sequence[SiteInput], *, population: int | None) -> SiteDensity:
    """Communication sites per 1,000 inhabitants (online groups are counted apart: they are
    not part of the urban environment) and the share open to independent activity."""
    physical = [s for s in sites if s.kind != "online"]
    openness = Counter(s.open_to_independent for s in sites)
    n = len(sites)
    missing = []
    per_1000 = None
    if population:
        per_1000 = round(len(physical) * 1000 / population, 2)
    else:
        missing.append(_("Population (for the density of sites)"))
    if not sites:
        missing.append(_("Communication sites (none recorded for this town)"))
        explanation = _("No communication site is recorded for this town.")
    else:
        explanation = _(
            "%(physical)d places to meet and %(online)d online groups are recorded; "
            "%(yes)d of the %(n)d are open to independent activity and %(partly)d partly."
        ) % {
            "physical": len(physical),
            "online": n - len(physical),
            "yes": openness[Openness.YES],
            "partly": openness[Openness.PARTLY],
            "n": n,
        }
        if per_1000 is not None:
            explanation += " " + _(
                "That is %(density)s places per 1,000 inhabitants (population %(population)d)."
            ) % {"density": _number(per_1000), "population": population}
    return SiteDensity(
        sites=n,
        physical=len(physical),
        per_1000=per_1000,
        open_yes=openness[Openness.YES],
        open_partly=openness[Openness.PARTLY],
        open_no=openness[Openness.NO],
        open_share=round(openness[Openness.YES] / n, 3) if n else None,
        open_or_partly_share=(
            round((openness[Openness.YES] + openness[Openness.PARTLY]) / n, 3) if n else None
        ),
        dialogue_places=sum(1 for s in sites if s.dialogue_place),
        by_operator=dict(Counter(s.operator for s in sites)),
        explanation=explanation,
        missing=missing,
    )


# ---------------------------------------------------------------------------------------------
# 4. What enrichment (cooperation option 3) can build on
# ---------------------------------------------------------------------------------------------

#: Outcomes of self-organisation that show people can act together here.
LIVE_OUTCOMES = frozenset({"achieved", "partly", "ongoing"})


@dataclass(frozen=True)
class EnrichmentEvidence:
    """What option 3 ("enrichment techniques") can build on in a town, named item by item.

    ``sites_to_develop``: places open or partly open to independent activity (places of dialogue
    first); ``ways_to_develop``: ways of life that exist but are only limited or marginal;
    ``self_organisation``: events that achieved, partly achieved or still pursue their aim.
    """

    sites_to_develop: list[str]
    ways_to_develop: list[str]
    self_organisation: list[str]
    engagement: EngagementSummary
    sites: SiteDensity
    choice: ChoiceRange
    #: Some record it rests on is synthetic (generated for the demo), not a researched fact.
    synthetic: bool = False

    @property
    def has_base(self) -> bool:
        """Something recorded to build on: an open place or living self-organisation."""
        return bool(self.sites_to_develop or self.self_organisation)

    def reasons(self) -> list[str]:
        out = []
        if self.sites_to_develop:
            out.append(
                _("Places to meet that could be developed: %(names)s.")
                % {"names": quoted(self.sites_to_develop)}
            )
        if self.self_organisation:
            out.append(
                _("Self-organisation already exists: %(names)s.")
                % {"names": quoted(self.self_organisation)}
            )
        if self.ways_to_develop:
            out.append(
                _("Ways of life that exist but are hard to realise, to widen choice: %(names)s.")
                % {"names": quoted(self.ways_to_develop)}
            )
        if self.engagement.verdict is not None:
            out.append(
                _("People here are %(verdict)s (%(explanation)s)")
                % {
                    "verdict": self.engagement.verdict_label,
                    "explanation": self.engagement.explanation.strip(),
                }
            )
        return out

    def missing(self) -> list[str]:
        return [*self.engagement.missing, *self.sites.missing, *self.choice.missing]


def quoted(names) -> str:
    """Names a researcher entered, each in “quotes”, separated by commas: the quotes set them
    apart from the sentence around them, and let a page mark each with its language (the
    ``quotes_in_their_language`` filter)."""
    return ", ".join(f"“{name}”" for name in names)


def enrichment_evidence(
    *,
    sites: Sequence[tuple[str, SiteInput]],
    ways: Sequence[tuple[str, WayInput]],
    events: Sequence[tuple[str, str, str]],
    observations: Sequence[ObservationInput],
    population: int | None,
    region_ways: Sequence[Sequence[WayInput]] = (),
    synthetic: bool = False,
) -> EnrichmentEvidence:
    """``sites`` and ``ways`` are (name, input) pairs, ``events`` (title, kind, outcome)."""
    open_sites = [
        (name, s) for name, s in sites if s.open_to_independent in (Openness.YES, Openness.PARTLY)
    ]
    # Places of dialogue first, then fully open ones: they are where enrichment starts.
    open_sites.sort(key=lambda p: (not p[1].dialogue_place, p[1].open_to_independent != "yes"))
    return EnrichmentEvidence(
        sites_to_develop=[name for name, _s in open_sites],
        ways_to_develop=[
            name
            for name, w in ways
            if w.availability in (Availability.LIMITED, Availability.MARGINAL)
        ],
        self_organisation=[title for title, _k, outcome in events if outcome in LIVE_OUTCOMES],
        engagement=engagement_summary(observations, events=[k for _t, k, _o in events]),
        sites=site_density([s for _n, s in sites], population=population),
        choice=choice_range([w for _n, w in ways], region_ways),
        synthetic=synthetic,
    )
