"""Pure scoring of a town profile: influence balance, typology, criteria and venture assessment.

Input in, explained result out: these functions never touch the database, so they can be
unit-tested with tables of cases and reused by pages, the API, the admin and the demo loader.
``towns.profile`` turns database records into the inputs defined here. ``docs/scoring.md``
explains every formula and threshold in plain language with a worked example.

Bad input (a strength outside 1-5, an unknown confidence, origin, kind or stance) raises
``ValueError`` naming the field: a silent wrong score would mislead a researcher.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from governance.models import Confidence
from towns.models.places import Typology
from towns.models.power import GroupKind, GroupOrigin

# ---------------------------------------------------------------------------------------------
# Influence balance
# ---------------------------------------------------------------------------------------------

#: How much a claim counts, by the researcher's confidence in it. A low-confidence claim still
#: counts, at half weight, because in this field most evidence is indirect.
CONFIDENCE_WEIGHT: dict[str, float] = {"low": 0.5, "medium": 0.75, "high": 1.0}


@dataclass(frozen=True)
class Thresholds:
    """The research's thresholds (``towns.models.ResearchSettings`` keeps them in the database,
    where reviewers change them; these defaults are the team's first choices)."""

    min_typology_weight: float = 3.0
    dominant_share: float = 0.5
    dominance_ratio: float = 2.0
    min_typology_claims: int = 2
    min_typology_sources: int = 2
    considerable_benefit: int = 4
    low_cost: int = 2
    small_threat: int = 2
    min_cultural_institutions: int = 3
    min_stance_observations: int = 2
    min_cases: int = 2

    @classmethod
    def from_settings(cls, row) -> Thresholds:
        return cls(
            **{f: type(getattr(cls(), f))(getattr(row, f)) for f in cls.__dataclass_fields__}
        )


DEFAULT_THRESHOLDS = Thresholds()

#: Below this total weight no type is named (one strength-5 claim at low confidence is 2.5).
MIN_TYPOLOGY_WEIGHT = 3.0
#: A kind of group gives the town its type when it holds at least this share of the weight ...
DOMINANT_SHARE = 0.5
#: ... and at least this many times the share of the next kind.
DOMINANCE_RATIO = 2.0
#: Tolerance for comparing floating-point shares with the thresholds (0.5 is 0.5, not 0.4999).
_EPSILON = 1e-9

ORIGINS = frozenset(GroupOrigin.values)
KINDS = frozenset(GroupKind.values)
# The five kinds that are types of the research; "other" dominating gives "mixed".
TYPE_OF_KIND: dict[str, str] = {
    GroupKind.SUPERIOR_STATE: Typology.SUPERIOR_STATE,
    GroupKind.OUTSIDE_CORPORATE: Typology.OUTSIDE_CORPORATE,
    GroupKind.CLAN_FAMILY: Typology.CLAN_FAMILY,
    GroupKind.QUASI_COMMUNITY: Typology.QUASI_COMMUNITY,
    GroupKind.ECCLESIAL: Typology.ECCLESIAL,
}
# Deterministic order for ties: the order of GroupKind.
_KIND_ORDER = {kind: index for index, kind in enumerate(GroupKind.values)}


def _kind_phrase(kind: str) -> str:
    """How a kind of group reads inside a sentence, always plural ("Clans or families hold")."""
    phrases = {
        GroupKind.SUPERIOR_STATE: _("superior state structures"),
        GroupKind.OUTSIDE_CORPORATE: _("outside corporate structures"),
        GroupKind.CLAN_FAMILY: _("clans or families"),
        GroupKind.QUASI_COMMUNITY: _("quasi-communities"),
        GroupKind.ECCLESIAL: _("ecclesial communities"),
        GroupKind.OTHER: _("other groups"),
    }
    return str(phrases[kind])


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def _number(value: float) -> str:
    """1.0 -> "1", 2.5 -> "2.5", 3.25 -> "3.25": weights read naturally."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class InfluenceInput:
    """One claim that a group influences a town.

    ``group`` is the group's display name, ``origin`` is "our_own" or "alien", ``kind`` a
    :class:`towns.models.GroupKind` value, ``strength`` 1-5 and ``confidence`` low/medium/high.
    """

    group: str
    origin: str
    kind: str
    strength: int
    confidence: str
    #: The claim (or its group) is generated demonstration data, not a researched fact.
    synthetic: bool = False
    #: Ids of the sources the claim cites (to count independent sources behind a verdict).
    sources: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.origin not in ORIGINS:
            raise ValueError(f"origin must be one of {sorted(ORIGINS)}, not {self.origin!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, not {self.kind!r}")
        if isinstance(self.strength, bool) or not isinstance(self.strength, int):
            raise ValueError(f"strength must be an integer from 1 to 5, not {self.strength!r}")
        if not 1 <= self.strength <= 5:
            raise ValueError(f"strength must be from 1 to 5, not {self.strength}")
        if self.confidence not in CONFIDENCE_WEIGHT:
            raise ValueError(
                f"confidence must be one of {sorted(CONFIDENCE_WEIGHT)}, not {self.confidence!r}"
            )

    @property
    def weight(self) -> float:
        """strength × confidence weight: 0.5 (strength 1, low) to 5.0 (strength 5, high)."""
        return self.strength * CONFIDENCE_WEIGHT[self.confidence]


@dataclass(frozen=True)
class Balance:
    """The split of a town's weighted influence between "our own" and "aliens"."""

    own_share: float | None
    alien_share: float | None
    own_weight: float
    alien_weight: float
    explanation: str
    #: Computed from at least one synthetic claim: shown with the "synthetic" marker.
    derived_from_synthetic: bool = False
    #: How many claims it rests on.
    claims: int = 0


def _side_summary(influences: Sequence[InfluenceInput]) -> str:
    """ "superior state structures (Group A, Group B)": the heaviest kind of a side, its groups.

    Groups are listed by weight, at most three, so that the sentence stays readable.
    """
    by_kind: dict[str, float] = defaultdict(float)
    by_group: dict[tuple[str, str], float] = defaultdict(float)
    for item in influences:
        by_kind[item.kind] += item.weight
        by_group[(item.kind, item.group)] += item.weight
    kind = min(by_kind, key=lambda k: (-by_kind[k], _KIND_ORDER[k]))
    groups = sorted(
        ((name, weight) for (k, name), weight in by_group.items() if k == kind),
        key=lambda pair: (-pair[1], pair[0]),
    )
    names = [name for name, _weight in groups[:3]]
    if len(groups) > 3:
        names.append(_("and %(count)d more") % {"count": len(groups) - 3})
    return f"{_kind_phrase(kind)} ({', '.join(names)})"


def influence_balance(influences: Iterable[InfluenceInput]) -> Balance:
    """Share of "our own" versus "aliens" in a town's influence.

    Formula: each claim weighs ``strength × CONFIDENCE_WEIGHT[confidence]``;
    ``own_weight`` and ``alien_weight`` are the sums over the claims of each origin;
    ``own_share = own_weight / (own_weight + alien_weight)`` and
    ``alien_share = 1 − own_share``. Both shares are None when the total weight is 0 (no
    claims): a balance of nothing is unknown, not 50/50.
    """
    items = list(influences)
    synthetic = any(i.synthetic for i in items)
    own = [i for i in items if i.origin == GroupOrigin.OUR_OWN]
    alien = [i for i in items if i.origin == GroupOrigin.ALIEN]
    own_weight = sum(i.weight for i in own)
    alien_weight = sum(i.weight for i in alien)
    total = own_weight + alien_weight
    if total == 0:
        return Balance(
            own_share=None,
            alien_share=None,
            own_weight=0.0,
            alien_weight=0.0,
            explanation=_(
                "No influence of any group is recorded, so the balance between our own and "
                "aliens cannot be computed."
            ),
        )
    own_share = own_weight / total
    alien_share = alien_weight / total
    if alien_weight > own_weight:
        lead, lead_items, lead_share = _("Aliens"), alien, alien_share
        rest, rest_items, rest_share = _("our own"), own, own_share
    else:
        lead, lead_items, lead_share = _("Our own"), own, own_share
        rest, rest_items, rest_share = _("aliens"), alien, alien_share
    if alien_weight == own_weight:
        first = _(
            "Our own and aliens hold equal shares (50%% each) of the weighted influence: our "
            "own mostly %(own)s, aliens mostly %(alien)s."
        ) % {"own": _side_summary(own), "alien": _side_summary(alien)}
    elif not rest_items:
        first = _(
            "%(lead)s hold all (100%%) of the weighted influence, mostly %(summary)s; no "
            "influence of %(rest)s is recorded."
        ) % {"lead": lead, "summary": _side_summary(lead_items), "rest": rest}
    else:
        first = _(
            "%(lead)s hold %(lead_share)s of the weighted influence, mostly %(summary)s; "
            "%(rest)s hold %(rest_share)s, mostly %(rest_summary)s."
        ) % {
            "lead": lead,
            "lead_share": _percent(lead_share),
            "summary": _side_summary(lead_items),
            "rest": rest,
            "rest_share": _percent(rest_share),
            "rest_summary": _side_summary(rest_items),
        }
    second = ngettext(
        "Each claim weighs its strength (1-5) times the confidence in it (low 0.5, medium "
        "0.75, high 1); %(count)d claim weighs %(total)s in all.",
        "Each claim weighs its strength (1-5) times the confidence in it (low 0.5, medium "
        "0.75, high 1); %(count)d claims weigh %(total)s in all.",
        len(items),
    ) % {"count": len(items), "total": _number(total)}
    return Balance(
        own_share=own_share,
        alien_share=alien_share,
        own_weight=own_weight,
        alien_weight=alien_weight,
        explanation=f"{first} {second}",
        derived_from_synthetic=synthetic,
        claims=len(items),
    )


# ---------------------------------------------------------------------------------------------
# Typology
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypologyResult:
    """The type of a town (a :class:`towns.models.Typology` value) and why."""

    label: str
    explanation: str
    shares_by_kind: dict[str, float] = field(default_factory=dict)
    #: Computed from at least one synthetic claim.
    derived_from_synthetic: bool = False
    #: The evidence it rests on: claims, different sources, and the share of the weight held by
    #: claims at high confidence.
    claims: int = 0
    sources: int = 0
    high_confidence_share: float | None = None
    #: The smallest single new claim that would change the type, in words ("" when none would).
    margin: str = ""
    #: Weight of that claim (strength × confidence), None when no single claim changes it.
    margin_weight: float | None = None


def classify_typology(
    influences: Iterable[InfluenceInput],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    *,
    with_margin: bool = True,
) -> TypologyResult:
    """The type of a town (:func:`_classify`), the evidence it rests on, and its margin.

    Evidence: the number of claims, of different sources they cite, and the share of the
    weight held by claims at high confidence. A type resting on fewer than
    ``min_typology_claims`` claims, or (when the claims carry their sources) fewer than
    ``min_typology_sources`` different sources, is refused: "insufficient_evidence".

    Margin: the smallest single new claim (by weight, any kind, strength 1-5, any confidence)
    that would change the result, in words, for researchers and donors to judge how firm the
    type is.
    """
    items = list(influences)
    result = _classify(items, thresholds)
    claims, sources = _evidence(items)
    total = sum(i.weight for i in items)
    high = sum(i.weight for i in items if i.confidence == "high")
    counted = {
        "claims": claims,
        "sources": sources,
        "high_confidence_share": high / total if total else None,
    }
    if _too_thin(items, result.label, thresholds):
        refusal = _(
            "%(why)s But this rests on %(claims)s from %(sources)s; a type needs at least "
            "%(min_claims)d claims from %(min_sources)d different sources, so none is named yet."
        ) % {
            "why": result.explanation,
            "claims": ngettext("%(n)d claim", "%(n)d claims", claims) % {"n": claims},
            "sources": ngettext("%(n)d source", "%(n)d sources", sources) % {"n": sources},
            "min_claims": thresholds.min_typology_claims,
            "min_sources": thresholds.min_typology_sources,
        }
        result = replace(result, label=Typology.INSUFFICIENT.value, explanation=refusal)
    result = replace(result, **counted)
    if with_margin:
        result = replace(result, **_margin(items, result.label, thresholds))
    return result


def typology_label(
    influences: Iterable[InfluenceInput], thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> str:
    """The label :func:`classify_typology` gives, without writing any explanation: what the
    stored aggregates and the margin's 210 trial classifications need (a tenth of the time)."""
    items = list(influences)
    label = _decide(items, thresholds)[0]
    return Typology.INSUFFICIENT.value if _too_thin(items, label, thresholds) else label


def _evidence(items: list[InfluenceInput]) -> tuple[int, int]:
    """The number of claims, and of different sources they cite."""
    cited = [i.sources for i in items if i.sources]
    return len(items), len(frozenset().union(*cited)) if cited else 0


def _too_thin(items: list[InfluenceInput], label: str, thresholds: Thresholds) -> bool:
    """A named type that rests on too few claims, or (when the claims carry their sources) on
    too few different sources: it is refused."""
    if label in (Typology.INSUFFICIENT, Typology.MIXED):
        return False
    claims, sources = _evidence(items)
    # No source counted means no claim carries its sources: then only the claims are counted.
    return claims < thresholds.min_typology_claims or (
        0 < sources < thresholds.min_typology_sources
    )


_ORIGIN_OF_KIND = {
    GroupKind.SUPERIOR_STATE: GroupOrigin.ALIEN,
    GroupKind.OUTSIDE_CORPORATE: GroupOrigin.ALIEN,
    GroupKind.CLAN_FAMILY: GroupOrigin.OUR_OWN,
    GroupKind.QUASI_COMMUNITY: GroupOrigin.OUR_OWN,
    GroupKind.ECCLESIAL: GroupOrigin.OUR_OWN,
    GroupKind.OTHER: GroupOrigin.ALIEN,
}


def _margin(items: list[InfluenceInput], label: str, thresholds: Thresholds) -> dict:
    """The lightest single claim that changes ``label`` (ties: order of kinds, then strength)."""
    best: tuple[float, int, int, InfluenceInput, str] | None = None
    for kind in GroupKind.values:
        for strength in range(1, 6):
            for confidence in CONFIDENCE_WEIGHT:
                new = InfluenceInput(
                    group="(new)",
                    origin=_ORIGIN_OF_KIND[kind],
                    kind=kind,
                    strength=strength,
                    confidence=confidence,
                    sources=frozenset({-1}),
                )
                key = (new.weight, _KIND_ORDER[kind], strength)
                if best is not None and key >= best[:3]:
                    continue
                changed = typology_label([*items, new], thresholds)
                if changed != label:
                    best = (*key, new, changed)
    if best is None:
        return {"margin": _("No single new claim would change this."), "margin_weight": None}
    weight, _order, _strength, new, changed = best
    return {
        "margin": _(
            "Margin: one more claim of weight %(weight)s (strength %(strength)d at %(confidence)s "
            "confidence) about %(kind)s would make it “%(type)s”."
        )
        % {
            "weight": _number(weight),
            "strength": new.strength,
            "confidence": str(Confidence(new.confidence).label).lower(),
            "kind": _kind_phrase(new.kind),
            "type": Typology(changed).label,
        },
        "margin_weight": weight,
    }


def _classify(items: list[InfluenceInput], thresholds: Thresholds) -> TypologyResult:
    """The research's type of a town, from the weighted influence of each kind of group.

    Rules, in order:

    1. total weight (``strength × confidence weight`` summed) below ``MIN_TYPOLOGY_WEIGHT``
       (3.0) gives "insufficient_evidence": one weak or doubtful claim does not type a town;
    2. the kind with the largest share gives its type when its share is at least
       ``DOMINANT_SHARE`` (0.5) and at least ``DOMINANCE_RATIO`` (2) times the share of the
       next kind (0 if there is none);
    3. otherwise, or when the dominant kind is "other" (no type of the research), "mixed".

    ``shares_by_kind`` maps each kind present to its share of the total weight.
    """
    synthetic = any(i.synthetic for i in items)
    label, total, shares, ranked = _decide(items, thresholds)
    if label == Typology.INSUFFICIENT:
        if not items:
            explanation = _("No influence of any group is recorded, so no type can be named.")
        else:
            explanation = ngettext(
                "The recorded influence weighs only %(total)s (%(count)d claim; a claim "
                "weighs its strength times the confidence in it); at least %(minimum)s is "
                "needed before a type is named. More or firmer evidence is needed.",
                "The recorded influence weighs only %(total)s (%(count)d claims; a claim "
                "weighs its strength times the confidence in it); at least %(minimum)s is "
                "needed before a type is named. More or firmer evidence is needed.",
                len(items),
            ) % {
                "total": _number(total),
                "count": len(items),
                "minimum": _number(thresholds.min_typology_weight),
            }
        return TypologyResult(Typology.INSUFFICIENT.value, explanation, shares, synthetic)

    top = ranked[0]
    top_share = shares[top]
    next_share = shares[ranked[1]] if len(ranked) > 1 else 0.0
    if label != Typology.MIXED:
        if len(ranked) > 1:
            why = _(
                "%(kind)s hold %(share)s of the weighted influence, at least %(minimum)s and "
                "at least %(ratio)s times the next kind (%(next_kind)s, %(next_share)s)"
            ) % {
                "kind": _kind_phrase(top).capitalize(),
                "share": _percent(top_share),
                "minimum": _percent(thresholds.dominant_share),
                "ratio": _number(thresholds.dominance_ratio),
                "next_kind": _kind_phrase(ranked[1]),
                "next_share": _percent(next_share),
            }
        else:
            why = _("%(kind)s hold all the recorded influence") % {
                "kind": _kind_phrase(top).capitalize()
            }
        explanation = _("%(why)s, so the town is of the type “%(type)s”.") % {
            "why": why,
            "type": Typology(label).label,
        }
        return TypologyResult(str(label), explanation, shares, synthetic)

    if _dominates(shares, ranked, thresholds):
        explanation = _(
            "%(kind)s hold %(share)s of the weighted influence; they match none of the five "
            "types of the research, so the town is mixed."
        ) % {"kind": _kind_phrase(top).capitalize(), "share": _percent(top_share)}
    else:
        parts = ", ".join(f"{_kind_phrase(k)} {_percent(shares[k])}" for k in ranked[:3])
        explanation = _(
            "No kind of group dominates (%(parts)s): a type needs one kind with at least "
            "%(minimum)s of the weighted influence and at least %(ratio)s times the share of "
            "the next, so the town is mixed."
        ) % {
            "parts": parts,
            "minimum": _percent(thresholds.dominant_share),
            "ratio": _number(thresholds.dominance_ratio),
        }
    return TypologyResult(Typology.MIXED.value, explanation, shares, synthetic)


def _decide(
    items: list[InfluenceInput], thresholds: Thresholds
) -> tuple[str, float, dict[str, float], list[str]]:
    """The rules of :func:`_classify`, without words: the label, the total weight, each kind's
    share of it and the kinds from the largest share down (ties: the order of kinds)."""
    weights: dict[str, float] = defaultdict(float)
    for item in items:
        weights[item.kind] += item.weight
    total = sum(weights.values())
    shares = {kind: weight / total for kind, weight in weights.items()} if total else {}
    ranked = sorted(shares, key=lambda k: (-shares[k], _KIND_ORDER[k]))
    if total < thresholds.min_typology_weight - _EPSILON:
        return Typology.INSUFFICIENT.value, total, shares, ranked
    if _dominates(shares, ranked, thresholds) and ranked[0] in TYPE_OF_KIND:
        return str(TYPE_OF_KIND[ranked[0]]), total, shares, ranked
    return Typology.MIXED.value, total, shares, ranked


def _dominates(shares: dict[str, float], ranked: list[str], thresholds: Thresholds) -> bool:
    """The largest share is at least ``dominant_share`` and ``dominance_ratio`` times the next."""
    top_share = shares[ranked[0]]
    next_share = shares[ranked[1]] if len(ranked) > 1 else 0.0
    return (
        top_share >= thresholds.dominant_share - _EPSILON
        and top_share >= thresholds.dominance_ratio * next_share - _EPSILON
    )


# ---------------------------------------------------------------------------------------------
# Criteria of a town of regional subordination
# ---------------------------------------------------------------------------------------------

POPULATION_THRESHOLD = 6000  # "over 6,000": 6,000 itself does not qualify
MIN_INDUSTRIAL_ENTERPRISES = 1
MIN_CULTURAL_INSTITUTIONS = 3  # "a set of" institutions: at least three
MIN_POPULATION_CHANGE_5Y = 0.0  # "prospects of development and population growth": no decline


@dataclass(frozen=True)
class TownFacts:
    """The facts the criteria need; None where no figure is recorded.

    ``population_change_5y`` is a relative change (0.02 = grew by 2%, −0.05 = fell by 5%)
    between the latest year and the year five years before it.
    """

    population: int | None
    industrial_enterprises: float | None
    cultural_institutions: float | None
    population_change_5y: float | None
    #: The fields whose figure is generated demonstration data (e.g. {"industrial_enterprises"}).
    synthetic: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CriterionResult:
    """One criterion: whether it holds (None when unknown), the evidence, what is missing."""

    code: str
    label: str
    holds: bool | None
    evidence: str
    missing: list[str] = field(default_factory=list)
    #: The figure it is checked against is synthetic: shown with the "synthetic" marker.
    derived_from_synthetic: bool = False


def _count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def regional_subordination_check(
    facts: TownFacts, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[CriterionResult]:
    """Which of the four criteria of a town of regional subordination hold.

    1. ``population``: population > 6,000 (strictly over);
    2. ``industrial_enterprises``: at least 1 industrial enterprise;
    3. ``cultural_institutions``: at least 3 socio-cultural institutions (clubs, libraries,
       museums);
    4. ``prospects``: population change over five years ≥ 0 (not shrinking).

    A criterion without its figure has ``holds=None`` and names the missing figure (the
    TownFacts field, which is also the indicator code) in ``missing``.
    """
    results: list[CriterionResult] = []

    label = _("Population over 6,000")
    if facts.population is None:
        results.append(
            CriterionResult(
                "population", label, None, _("No population figure is recorded."), ["population"]
            )
        )
    else:
        holds = facts.population > POPULATION_THRESHOLD
        evidence = (
            _("Population %(value)s: over 6,000.")
            if holds
            else _("Population %(value)s: not over 6,000.")
        ) % {"value": f"{facts.population:,}"}
        results.append(CriterionResult("population", label, holds, evidence))

    label = _("Has industrial enterprises")
    if facts.industrial_enterprises is None:
        results.append(
            CriterionResult(
                "industrial_enterprises",
                label,
                None,
                _("No figure for the number of industrial enterprises is recorded."),
                ["industrial_enterprises"],
            )
        )
    else:
        holds = facts.industrial_enterprises >= MIN_INDUSTRIAL_ENTERPRISES
        evidence = (
            _("Industrial enterprises: %(value)s (at least one).")
            if holds
            else _("Industrial enterprises: %(value)s (none).")
        ) % {"value": _count(facts.industrial_enterprises)}
        results.append(CriterionResult("industrial_enterprises", label, holds, evidence))

    label = _("Has a set of socio-cultural institutions (at least 3)")
    if facts.cultural_institutions is None:
        results.append(
            CriterionResult(
                "cultural_institutions",
                label,
                None,
                _("No figure for the number of clubs, libraries and museums is recorded."),
                ["cultural_institutions"],
            )
        )
    else:
        holds = facts.cultural_institutions >= thresholds.min_cultural_institutions
        evidence = (
            _("Clubs, libraries and museums: %(value)s (at least three).")
            if holds
            else _("Clubs, libraries and museums: %(value)s (fewer than three).")
        ) % {"value": _count(facts.cultural_institutions)}
        results.append(CriterionResult("cultural_institutions", label, holds, evidence))

    label = _("Prospects of development: population not falling over five years")
    change = facts.population_change_5y
    if change is None:
        results.append(
            CriterionResult(
                "prospects",
                label,
                None,
                _("The population five years apart is not recorded, so the trend is unknown."),
                ["population_change_5y"],
            )
        )
    else:
        holds = change >= MIN_POPULATION_CHANGE_5Y
        if change > 0:
            evidence = _("The population grew by %(value)s over five years.")
        elif change < 0:
            evidence = _("The population fell by %(value)s over five years.")
        else:
            evidence = _("The population stayed the same over five years (%(value)s).")
        results.append(
            CriterionResult(
                "prospects", label, holds, evidence % {"value": f"{abs(change) * 100:.1f}%"}
            )
        )
    return [
        replace(result, derived_from_synthetic=_FACT_OF[result.code] in facts.synthetic)
        if result.holds is not None
        else result
        for result in results
    ]


#: The TownFacts field each criterion reads.
_FACT_OF = {
    "population": "population",
    "industrial_enterprises": "industrial_enterprises",
    "cultural_institutions": "cultural_institutions",
    "prospects": "population_change_5y",
}


# ---------------------------------------------------------------------------------------------
# Venture assessment: will the LA back an activity in the gap?
# ---------------------------------------------------------------------------------------------

CONSIDERABLE_BENEFIT = 4  # benefit 4 or 5 is "considerable"
LOW_COST = 2  # cost 1 or 2 is "low"
SMALL_THREAT = 2  # threat 1 or 2 is "small"
HIGH_THREAT = 4  # threat 4 or 5: the LA risks the indicators it is judged by
STANCES = frozenset({"supported", "tolerated", "ignored", "suppressed", "unknown"})


@dataclass(frozen=True)
class VentureAssessment:
    """How likely the LA is to back an activity, the score, the reasons and any contradiction."""

    likelihood: str  # "likely" | "possible" | "unlikely" | "unknown"
    score: float | None
    reasons: list[str]
    contradicts_stance: bool = False
    flag: str = ""


def _check_score(name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ValueError(f"{name} must be an integer from 1 to 5 or None, not {value!r}")


def venture_assessment(
    *,
    benefit: int | None,
    cost: int | None,
    threat: int | None,
    stance: str | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> VentureAssessment:
    """Predict whether the LA backs an activity, following the seed's rule.

    The seed: an LA may back a risky venture in the gap when the benefit is considerable, the
    cost low and the threat of breaking the established indicators small.

    * ``score = benefit − (cost + threat) / 2`` (each 1-5, so −4 to 4): the benefit against the
      average of what the LA pays and risks.
    * "likely": all three conditions of the rule hold: benefit ≥ 4, cost ≤ 2, threat ≤ 2
      (the score is then at least 2);
    * "unlikely": threat ≥ 4 (the LA is judged by its indicators and avoids breaking them
      whatever the benefit) or score ≤ 0 (the costs and the threat outweigh the benefit);
    * "possible": anything in between;
    * "unknown": any of the three is not assessed; the reasons name what is missing.

    ``stance`` is the LA's observed stance (supported, tolerated, ignored, suppressed,
    unknown). A prediction of "unlikely" with the activity supported, or of "likely" with it
    suppressed, sets ``contradicts_stance`` and a ``flag`` for the researcher: either the
    assessment is off or something the rule does not see (a patron, a group) is at work.
    """
    _check_score("benefit", benefit)
    _check_score("cost", cost)
    _check_score("threat", threat)
    if stance is not None and stance not in STANCES:
        raise ValueError(f"stance must be one of {sorted(STANCES)} or None, not {stance!r}")

    reasons: list[str] = []
    if benefit is not None:
        if benefit >= thresholds.considerable_benefit:
            reasons.append(_("Benefit %(v)d/5: considerable.") % {"v": benefit})
        else:
            reasons.append(
                _("Benefit %(v)d/5: not considerable (the rule asks for 4 or more).")
                % {"v": benefit}
            )
    if cost is not None:
        if cost <= thresholds.low_cost:
            reasons.append(_("Cost %(v)d/5: low.") % {"v": cost})
        else:
            reasons.append(_("Cost %(v)d/5: not low (the rule asks for 2 or less).") % {"v": cost})
    if threat is not None:
        if threat <= thresholds.small_threat:
            reasons.append(_("Threat to the indicators %(v)d/5: small.") % {"v": threat})
        elif threat >= HIGH_THREAT:
            reasons.append(
                _(
                    "Threat to the indicators %(v)d/5: high; the LA is judged by these "
                    "indicators and avoids breaking them whatever the benefit."
                )
                % {"v": threat}
            )
        else:
            reasons.append(
                _("Threat to the indicators %(v)d/5: not small (the rule asks for 2 or less).")
                % {"v": threat}
            )

    missing = [
        name
        for name, value in (
            (str(_("benefit")), benefit),
            (str(_("cost")), cost),
            (str(_("threat to the indicators")), threat),
        )
        if value is None
    ]
    if benefit is None or cost is None or threat is None:
        reasons.append(
            _(
                "Not assessed: %(missing)s. The likelihood cannot be predicted until benefit, "
                "cost and threat are all assessed."
            )
            % {"missing": ", ".join(missing)}
        )
        return VentureAssessment("unknown", None, reasons)

    score = benefit - (cost + threat) / 2
    if (
        benefit >= thresholds.considerable_benefit
        and cost <= thresholds.low_cost
        and threat <= thresholds.small_threat
    ):
        likelihood = "likely"
        reasons.append(
            _(
                "Score %(s)s (benefit minus the average of cost and threat): considerable "
                "benefit, low cost and small threat, so the LA may go for it."
            )
            % {"s": _number(score)}
        )
    elif threat >= HIGH_THREAT or score <= 0:
        likelihood = "unlikely"
        if threat >= HIGH_THREAT:
            reasons.append(
                _("Score %(s)s; the high threat to the indicators alone makes backing unlikely.")
                % {"s": _number(score)}
            )
        else:
            reasons.append(
                _(
                    "Score %(s)s: cost and threat weigh at least as much as the benefit, so "
                    "backing is unlikely."
                )
                % {"s": _number(score)}
            )
    else:
        likelihood = "possible"
        reasons.append(
            _(
                "Score %(s)s: the benefit outweighs cost and threat, but not every condition "
                "of the rule holds, so backing is possible, not likely."
            )
            % {"s": _number(score)}
        )

    contradicts = False
    flag = ""
    if likelihood == "unlikely" and stance == "supported":
        contradicts = True
        flag = _(
            "Predicted unlikely (score %(s)s) but the LA supported it: check the assessment of "
            "benefit, cost and threat, or look for a patron or group that backed it."
        ) % {"s": _number(score)}
    elif likelihood == "likely" and stance == "suppressed":
        contradicts = True
        flag = _(
            "Predicted likely (score %(s)s) but the LA suppressed it: check for a threat the "
            "assessment misses, such as who runs the activity."
        ) % {"s": _number(score)}
    return VentureAssessment(likelihood, score, reasons, contradicts, flag)
