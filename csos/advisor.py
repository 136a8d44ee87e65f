"""The strategy advisor: which of the three LA–CSO cooperation options are open in a town, and why.

Pure and deterministic: :class:`AdvisorInputs` in (gathered from the database by
``csos.profile.town_advice``), one :class:`StrategyAdvice` per option out. Every status comes
with at least one reason citing the town's data, and data the rules need but do not have is
named in ``missing``, never guessed. The rules in plain language are in ``docs/advisor.md``.

Derived facts (each one None when its data is missing):

* **Control** from the influence balance: the typology when it is one of the five types
  (clan/family, quasi-community, ecclesial are "our own"; superior state, outside corporate are
  "alien"); otherwise the stored share of "our own" influence: at least 0.6 is "our own", at
  most 0.4 is "alien", in between "balanced". No share and no type: missing
  :data:`MISSING_INFLUENCE`; a share but no type: :data:`MISSING_TYPOLOGY`.
* **The LA's stance towards the gap** over the gap activities whose stance was observed (not
  "unknown"): *accepting* when supported + tolerated are more than half of them, else *ignoring*
  when supported + tolerated + ignored are more than half, else *suppressive* when suppressed are
  more than half, else *mixed*. No activity, no gap activity or no observed stance: missing
  (:data:`MISSING_ACTIVITIES`, :data:`MISSING_GAP`, :data:`MISSING_STANCE`).
* **CSO landscape**: independent, GONGO and other CSOs; none at all is missing
  (:data:`MISSING_CSOS`), since no record is not proof that none exists.

Rules per option (first matching status wins, then past cases adjust it):

1. *CSOs built into the system*: **promising** when at least one GONGO is recorded and the LA is
   accepting towards the gap (alien control is cited as a further reason: there the LA executes
   the vertical's decisions and works through CSOs inside the system); **closed** when CSOs are
   recorded, none is a GONGO and the LA is suppressive; otherwise **open**.
2. *Strengthening marginalised actors*: **closed** when CSOs are recorded, none is independent
   and the LA is suppressive; **promising** when control is "our own" and the LA is accepting;
   otherwise **open** (the reasons say whether independent CSOs exist, whether they are
   fragmented, so that strengthening starts with connecting them, and whether the LA's
   suppression calls for caution).
3. *Enrichment techniques*: **promising** when at least one cultural asset is recorded and the
   LA is accepting or ignoring towards the gap; **closed** when the LA is suppressive and no
   cultural asset is recorded; otherwise **open**.

Past cases under an option (success and partial success count as positive, failure as
negative, ongoing as neither): with at least one positive and no more negatives than
positives, the option becomes **promising**, or **open** if the rules above closed it (it has
worked here before); with more negatives than positives a **promising** option is lowered to
**open** as a reason for caution. No case under an option is missing data for that option.
An option left without any reason says that too little is recorded and stays **open**.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from csos.models import Outcome, Strategy
from csos.network import NetworkMetrics
from towns.models.activities import Stance
from towns.models.places import Typology
from towns.scoring import DEFAULT_THRESHOLDS, Thresholds
from towns.society import EnrichmentEvidence

Status = Literal["open", "promising", "closed"]
Control = Literal["our_own", "alien", "balanced"]
Leaning = Literal["accepting", "ignoring", "suppressive", "mixed"]

OWN_TYPES = frozenset({Typology.CLAN_FAMILY, Typology.QUASI_COMMUNITY, Typology.ECCLESIAL})
ALIEN_TYPES = frozenset({Typology.SUPERIOR_STATE, Typology.OUTSIDE_CORPORATE})
#: Thresholds on the share of "our own" influence when the typology gives no type.
OWN_SHARE_OWN = 0.6
OWN_SHARE_ALIEN = 0.4

MISSING_INFLUENCE = gettext_noop("Influence balance (no published influence claims)")
MISSING_TYPOLOGY = gettext_noop(
    "Typology (too little published influence evidence to classify the town)"
)
MISSING_ACTIVITIES = gettext_noop(
    "Activities and the LA's stance towards the gap (no activity recorded)"
)
MISSING_GAP = gettext_noop("LA's stance towards the gap (no activity in the gap recorded)")
MISSING_STANCE = gettext_noop("LA's stance towards the gap (not observed for any gap activity)")
MISSING_CSOS = gettext_noop("CSO landscape (no CSO recorded for this town)")
MISSING_NETWORK = gettext_noop("CSO network (links between the CSOs not measured)")
MISSING_ASSETS = gettext_noop("Cultural assets (none recorded)")


#: The inputs of the advisor, by name, as ``AdvisorInputs.synthetic_inputs`` names them.
INPUT_NAMES = (
    "influence",
    "activities",
    "csos",
    "network",
    "past_cases",
    "cultural_assets",
    "society",
)
#: What each input is called in a sentence (the API's ``synthetic_inputs`` keeps the codes).
INPUT_LABELS = {
    "influence": gettext_noop("influence claims"),
    "activities": gettext_noop("activities"),
    "csos": gettext_noop("CSOs"),
    "network": gettext_noop("the CSO network"),
    "past_cases": gettext_noop("past cooperation cases"),
    "cultural_assets": gettext_noop("cultural assets"),
    "society": gettext_noop("society readings"),
}


def input_labels(names) -> str:
    """``names`` of inputs as words of the active language, separated by commas."""
    return ", ".join(_(INPUT_LABELS[name]) for name in names)


#: The inputs each option reads (its verdict is derived from synthetic data when one of them is).
OPTION_INPUTS = {
    1: ("influence", "activities", "csos", "past_cases"),
    2: ("influence", "activities", "csos", "network", "past_cases"),
    3: ("activities", "cultural_assets", "past_cases", "society"),
}


def missing_cases(option: int) -> str:
    return _("Past cooperation cases under option %(option)d (none recorded)") % {"option": option}


@dataclass(frozen=True)
class AdvisorInputs:
    """What the advisor knows about a town. Counts are of records visible to the viewer.

    ``gap_stances`` maps a stance (a ``towns.models.Stance`` value) to the number of gap
    activities with that stance, so its counts add up to ``activities_in_gap``. ``past_cases``
    holds (strategy option 1-3, outcome) pairs.
    """

    typology: str | None = None
    own_share: float | None = None
    activities_total: int = 0
    activities_in_gap: int = 0
    gap_stances: dict[str, int] = field(default_factory=dict)
    independent_csos: int = 0
    gongo_csos: int = 0
    other_csos: int = 0
    network: NetworkMetrics | None = None
    past_cases: list[tuple[int, str]] = field(default_factory=list)
    cultural_assets: int = 0
    #: Communication sites, ways of life, self-organisation and engagement (towns.society), for
    #: option 3; None when not gathered (the rules then read the cultural assets alone).
    enrichment: EnrichmentEvidence | None = None
    #: Which inputs rest on at least one synthetic (generated) record: names from
    #: :data:`INPUT_NAMES`. Advice read from them says so.
    synthetic_inputs: frozenset[str] = frozenset()
    #: The published influence claims behind the stored typology and share.
    influence_claims: int = 0
    #: Ids of the sources cited, per input name ("influence", "activities", "csos",
    #: "cultural_assets") and per option for the past cases ("past_cases_1"...), to count the
    #: independent sources a verdict rests on.
    source_ids: dict[str, frozenset[int]] = field(default_factory=dict)
    #: The research's minimums (``towns.models.ResearchSettings``).
    thresholds: Thresholds = DEFAULT_THRESHOLDS

    def __post_init__(self) -> None:
        # Inconsistent inputs would produce confident but wrong advice: refuse them loudly.
        if self.typology is not None and self.typology not in Typology.values:
            raise ValueError(f"Unknown typology {self.typology!r}.")
        if self.own_share is not None and not 0 <= self.own_share <= 1:
            raise ValueError(f"The own share {self.own_share!r} is not between 0 and 1.")
        counts = {
            "activities_total": self.activities_total,
            "activities_in_gap": self.activities_in_gap,
            "independent_csos": self.independent_csos,
            "gongo_csos": self.gongo_csos,
            "other_csos": self.other_csos,
            "cultural_assets": self.cultural_assets,
            **{f"gap_stances[{k}]": v for k, v in self.gap_stances.items()},
        }
        for name, value in counts.items():
            if value < 0:
                raise ValueError(f"{name} is negative ({value}).")
        if self.activities_in_gap > self.activities_total:
            raise ValueError("More activities in the gap than activities in total.")
        unknown = set(self.gap_stances) - set(Stance.values)
        if unknown:
            raise ValueError(f"Unknown stances {sorted(unknown)}.")
        if sum(self.gap_stances.values()) != self.activities_in_gap:
            raise ValueError("The stances of the gap activities do not add up to their number.")
        for strategy, outcome in self.past_cases:
            if strategy not in Strategy.values or outcome not in Outcome.values:
                raise ValueError(f"Unknown past case ({strategy!r}, {outcome!r}).")
        unknown_inputs = set(self.synthetic_inputs) - set(INPUT_NAMES)
        if unknown_inputs:
            raise ValueError(f"Unknown inputs {sorted(unknown_inputs)}.")

    @property
    def csos_total(self) -> int:
        return self.independent_csos + self.gongo_csos + self.other_csos


@dataclass(frozen=True)
class StrategyAdvice:
    """The advice on one option: its status, the reasons and the data that would sharpen it."""

    option: int
    status: Status
    reasons: list[str]
    missing: list[str]
    #: The inputs of this option that rest on synthetic records (empty when all are real).
    synthetic_inputs: list[str] = field(default_factory=list)
    #: How much evidence the verdict rests on: records read, and different sources they cite.
    evidence_records: int = 0
    evidence_sources: int = 0

    @property
    def evidence(self) -> str:
        return ngettext(
            "Rests on %(records)d record from %(sources)d different sources.",
            "Rests on %(records)d records from %(sources)d different sources.",
            self.evidence_records,
        ) % {"records": self.evidence_records, "sources": self.evidence_sources}

    @property
    def label(self) -> str:
        return str(Strategy(self.option).label)

    @property
    def derived_from_synthetic(self) -> bool:
        return bool(self.synthetic_inputs)


@dataclass(frozen=True)
class _Facts:
    """Facts derived once from the inputs and shared by the three options."""

    control: Control | None
    control_reason: str | None
    influence_missing: list[str]
    leaning: Leaning | None
    gap_reason: str | None
    gap_missing: list[str]
    csos_reason: str | None


def _pct(share: float) -> str:
    return f"{round(share * 100)}%"


def _control(inputs: AdvisorInputs) -> tuple[Control | None, str | None, list[str]]:
    typology, share = inputs.typology, inputs.own_share
    known_type = typology in OWN_TYPES or typology in ALIEN_TYPES
    missing = []
    if share is None and not known_type and typology != Typology.MIXED:
        return None, None, [_(MISSING_INFLUENCE)]
    if share is None:
        missing.append(_(MISSING_INFLUENCE))
    elif not known_type and typology != Typology.MIXED:
        missing.append(_(MISSING_TYPOLOGY))
    share_text = (
        _(", 'our own' share %(share)s of all published influence claims") % {"share": _pct(share)}
        if share is not None
        else ""
    )
    if known_type:
        control: Control | None = "our_own" if typology in OWN_TYPES else "alien"
        label = Typology(typology).label
        reason = _("Influence: the town is of the type “%(type)s”%(share)s.") % {
            "type": label,
            "share": share_text,
        }
        return control, reason, missing
    if share is None:
        # "mixed" without a share: some evidence, no dominant side.
        return "balanced", _("Influence: the town's type is mixed."), missing
    if share >= OWN_SHARE_OWN:
        control = "our_own"
        side = _("mostly 'our own'")
    elif share <= OWN_SHARE_ALIEN:
        control = "alien"
        side = _("mostly alien")
    else:
        control = "balanced"
        side = _("balanced between 'our own' and aliens")
    reason = _("Influence is %(side)s%(share)s.") % {"side": side, "share": share_text}
    return control, reason, missing


def _gap(inputs: AdvisorInputs) -> tuple[Leaning | None, str | None, list[str]]:
    if inputs.activities_total == 0:
        return None, None, [_(MISSING_ACTIVITIES)]
    in_gap = inputs.activities_in_gap
    if in_gap == 0:
        reason = ngettext(
            "The %(total)d recorded activity does not lie in the gap.",
            "None of the %(total)d recorded activities lies in the gap.",
            inputs.activities_total,
        ) % {"total": inputs.activities_total}
        return None, reason, [_(MISSING_GAP)]
    stances = Counter(inputs.gap_stances)
    accepting = stances[Stance.SUPPORTED] + stances[Stance.TOLERATED]
    ignored = stances[Stance.IGNORED]
    suppressed = stances[Stance.SUPPRESSED]
    known = accepting + ignored + suppressed
    share = ngettext(
        "%(in_gap)d of the %(total)d recorded activities (%(pct)s) lies in the gap",
        "%(in_gap)d of the %(total)d recorded activities (%(pct)s) lie in the gap",
        in_gap,
    ) % {
        "in_gap": in_gap,
        "total": inputs.activities_total,
        "pct": _pct(in_gap / inputs.activities_total),
    }
    if known == 0:
        return (
            None,
            share + _("; the LA's stance towards them was not observed."),
            [_(MISSING_STANCE)],
        )
    if known < inputs.thresholds.min_stance_observations:
        return (
            None,
            share
            + ngettext(
                "; the LA's stance was observed for %(known)d of them only: at least %(min)d "
                "observations are needed before a stance is named.",
                "; the LA's stance was observed for %(known)d of them only: at least %(min)d "
                "observations are needed before a stance is named.",
                known,
            )
            % {"known": known, "min": inputs.thresholds.min_stance_observations},
            [
                _("LA's stance towards the gap (%(known)d observed, at least %(min)d needed)")
                % {"known": known, "min": inputs.thresholds.min_stance_observations}
            ],
        )
    leaning: Leaning
    if accepting * 2 > known:
        leaning = "accepting"
    elif (accepting + ignored) * 2 > known:
        leaning = "ignoring"
    elif suppressed * 2 > known:
        leaning = "suppressive"
    else:
        leaning = "mixed"
    reason = share + _(
        "; of the %(known)d with an observed stance the LA supports or tolerates %(accepting)d, "
        "ignores %(ignored)d and suppresses %(suppressed)d."
    ) % {"known": known, "accepting": accepting, "ignored": ignored, "suppressed": suppressed}
    return leaning, reason, []


def _csos_reason(inputs: AdvisorInputs) -> str | None:
    if inputs.csos_total == 0:
        return None
    return ngettext(
        "CSOs: %(total)d recorded, of which %(independent)d independent, %(gongo)d GONGO and "
        "%(other)d other.",
        "CSOs: %(total)d recorded, of which %(independent)d independent, %(gongo)d GONGOs and "
        "%(other)d other.",
        inputs.gongo_csos,
    ) % {
        "total": inputs.csos_total,
        "independent": inputs.independent_csos,
        "gongo": inputs.gongo_csos,
        "other": inputs.other_csos,
    }


def _facts(inputs: AdvisorInputs) -> _Facts:
    control, control_reason, influence_missing = _control(inputs)
    leaning, gap_reason, gap_missing = _gap(inputs)
    return _Facts(
        control=control,
        control_reason=control_reason,
        influence_missing=influence_missing,
        leaning=leaning,
        gap_reason=gap_reason,
        gap_missing=gap_missing,
        csos_reason=_csos_reason(inputs),
    )


def _present(*sentences: str | None) -> list[str]:
    return [s for s in sentences if s]


def _option_built_in(inputs: AdvisorInputs, facts: _Facts) -> tuple[Status, list[str], list[str]]:
    missing = [*facts.influence_missing, *facts.gap_missing]
    if inputs.csos_total == 0:
        missing.append(_(MISSING_CSOS))
    evidence = _present(facts.control_reason, facts.gap_reason, facts.csos_reason)
    if facts.control == "alien":
        evidence.append(
            _(
                "Under alien control the LA executes the vertical's decisions with little "
                "initiative of its own, and works with CSOs that are part of the system."
            )
        )
    if inputs.gongo_csos and facts.leaning == "accepting":
        lead = ngettext(
            "A GONGO is recorded and the LA supports or tolerates activity in the gap, so CSOs "
            "inside the system can take on more of it.",
            "%(count)d GONGOs are recorded and the LA supports or tolerates activity in the gap, "
            "so CSOs inside the system can take on more of it.",
            inputs.gongo_csos,
        ) % {"count": inputs.gongo_csos}
        return "promising", [lead, *evidence], missing
    if inputs.csos_total and not inputs.gongo_csos and facts.leaning == "suppressive":
        lead = _(
            "None of the recorded CSOs is a GONGO and the LA suppresses activity in the gap: "
            "there is no CSO inside the system to build on."
        )
        return "closed", [lead, *evidence], missing
    if inputs.gongo_csos:
        lead = ngettext(
            "A GONGO is recorded, but the LA's stance towards the gap does not show that it "
            "would let CSOs inside the system take on more.",
            "%(count)d GONGOs are recorded, but the LA's stance towards the gap does not show "
            "that it would let CSOs inside the system take on more.",
            inputs.gongo_csos,
        ) % {"count": inputs.gongo_csos}
        evidence.insert(0, lead)
    elif inputs.csos_total:
        evidence.insert(
            0,
            _(
                "No GONGO is recorded; the option needs a CSO the system accepts as its own, "
                "which would have to be found or formed."
            ),
        )
    return "open", evidence, missing


def _option_marginalised(
    inputs: AdvisorInputs, facts: _Facts
) -> tuple[Status, list[str], list[str]]:
    missing = [*facts.influence_missing, *facts.gap_missing]
    if inputs.csos_total == 0:
        missing.append(_(MISSING_CSOS))
    network = inputs.network
    if inputs.independent_csos >= 2 and network is None:
        missing.append(_(MISSING_NETWORK))
    evidence = _present(facts.control_reason, facts.gap_reason, facts.csos_reason)
    if network is not None and network.csos >= 2:
        if network.is_fragmented:
            evidence.append(
                _(
                    "The CSO network is fragmented (%(components)d separate groups, %(isolated)s "
                    "of the CSOs isolated): strengthening starts with connecting them."
                )
                % {
                    "components": network.components,
                    "isolated": _pct(network.isolated_share or 0.0),
                }
            )
        elif network.is_networked:
            evidence.append(
                ngettext(
                    "The CSOs form one connected network with %(brokers)d broker who can carry "
                    "an initiative.",
                    "The CSOs form one connected network with %(brokers)d brokers who can carry "
                    "an initiative.",
                    len(network.brokers),
                )
                % {"brokers": len(network.brokers)}
            )
        else:
            evidence.append(
                _("The CSOs form %(components)d separate groups.")
                % {"components": network.components}
            )
    if inputs.csos_total and not inputs.independent_csos and facts.leaning == "suppressive":
        lead = _(
            "The LA suppresses activity in the gap and none of the recorded CSOs is independent: "
            "there is no marginalised actor that could be strengthened in the open."
        )
        return "closed", [lead, *evidence], missing
    if facts.control == "our_own" and facts.leaning == "accepting":
        lead = _(
            "In a town governed by 'our own' people whose LA supports or tolerates activity in "
            "the gap, marginalised actors can be strengthened without being seen as a threat."
        )
        return "promising", [lead, *evidence], missing
    if inputs.independent_csos:
        lead = ngettext(
            "An independent CSO is recorded that could be strengthened.",
            "%(count)d independent CSOs are recorded that could be strengthened.",
            inputs.independent_csos,
        ) % {"count": inputs.independent_csos}
        if facts.leaning == "suppressive":
            lead += " " + _(
                "Caution: the LA suppresses activity in the gap, so support must not expose them."
            )
        evidence.insert(0, lead)
    elif inputs.csos_total:
        evidence.insert(
            0,
            _(
                "No independent CSO is recorded, but the LA does not suppress the gap: "
                "marginalised actors may still come from informal initiatives."
            ),
        )
    return "open", evidence, missing


def _option_enrichment(inputs: AdvisorInputs, facts: _Facts) -> tuple[Status, list[str], list[str]]:
    missing = list(facts.gap_missing)
    if not inputs.cultural_assets:
        missing.append(_(MISSING_ASSETS))
    assets = (
        ngettext(
            "%(count)d cultural asset (heritage, artefacts, cultural products) is recorded for "
            "enrichment to build on.",
            "%(count)d cultural assets (heritage, artefacts, cultural products) are recorded for "
            "enrichment to build on.",
            inputs.cultural_assets,
        )
        % {"count": inputs.cultural_assets}
        if inputs.cultural_assets
        else None
    )
    evidence = _present(facts.gap_reason, assets)
    base = _society_evidence(inputs.enrichment, evidence, missing) or bool(inputs.cultural_assets)
    if base and facts.leaning in ("accepting", "ignoring"):
        lead = (
            _(
                "The town has cultural assets and the LA lets activity in the gap happen: "
                "community, culture and places to meet can grow around them."
            )
            if inputs.cultural_assets
            else _(
                "Places open to independent activity or living self-organisation are recorded "
                "and the LA lets activity in the gap happen: community can grow from them."
            )
        )
        return "promising", [lead, *evidence], missing
    if not base and facts.leaning == "suppressive":
        lead = (
            _(
                "The LA suppresses activity in the gap and no cultural asset is recorded to "
                "build on."
            )
            if inputs.enrichment is None
            else _(
                "The LA suppresses activity in the gap and nothing is recorded to build on: no "
                "cultural asset, no place open to independent activity, no living "
                "self-organisation."
            )
        )
        return "closed", [lead, *evidence], missing
    if facts.leaning == "suppressive":
        evidence.insert(
            0,
            _(
                "Cultural assets offer a non-political way in, but the LA suppresses activity in "
                "the gap."
            ),
        )
    return "open", evidence, missing


def _society_evidence(
    society: EnrichmentEvidence | None, evidence: list[str], missing: list[str]
) -> bool:
    """Add what option 3 can build on (towns.society) to the reasons and the missing data;
    True when there is a base: a place open to independent activity or living
    self-organisation."""
    if society is None:
        return False
    evidence.extend(society.reasons())
    missing.extend(society.missing())
    return society.has_base


def _apply_cases(
    option: int,
    status: Status,
    cases: list[tuple[int, str]],
    reasons: list[str],
    missing: list,
    *,
    min_cases: int = DEFAULT_THRESHOLDS.min_cases,
    negative_lead: bool = False,
) -> Status:
    outcomes = Counter(outcome for strategy, outcome in cases if strategy == option)
    if not outcomes:
        missing.append(missing_cases(option))
        return status
    positive = outcomes[Outcome.SUCCESS] + outcomes[Outcome.PARTIAL]
    negative = outcomes[Outcome.FAILED]
    reasons.append(
        _(
            "Past cases under this option here: %(success)d successful, %(partial)d partly "
            "successful, %(failed)d failed, %(ongoing)d ongoing."
        )
        % {
            "success": outcomes[Outcome.SUCCESS],
            "partial": outcomes[Outcome.PARTIAL],
            "failed": negative,
            "ongoing": outcomes[Outcome.ONGOING],
        }
    )
    total = sum(outcomes.values())
    if total < min_cases:
        reasons.append(
            ngettext(
                "%(n)d past case is too few to change the verdict (at least %(min)d needed).",
                "%(n)d past cases are too few to change the verdict (at least %(min)d needed).",
                total,
            )
            % {"n": total, "min": min_cases}
        )
        return status
    if positive and negative <= positive:
        if status == "open" and negative_lead:
            reasons.append(
                _(
                    "It has worked here before, so the option is promising although the "
                    "conditions above do not show it yet."
                )
            )
            status = "promising"
        elif status == "closed":
            reasons.append(
                _(
                    "It has worked here before, so it is open despite the conditions above; "
                    "study what made it possible then."
                )
            )
            status = "open"
        elif status == "open":
            reasons.append(_("It has worked here before."))
            status = "promising"
        else:
            reasons.append(_("It has worked here before."))
    if negative and negative > positive:
        reasons.append(
            _(
                "More of them failed than succeeded: a reason for caution; learn their lessons "
                "first."
            )
        )
        if status == "promising":
            reasons.append(
                _(
                    "Despite the conditions above, the option is only open until what made "
                    "these cases fail is understood."
                )
            )
            status = "open"
    elif negative:
        reasons.append(_("Some failed: learn their lessons first."))
    return status


OPTIONS = {
    Strategy.BUILT_IN.value: _option_built_in,
    Strategy.MARGINALISED.value: _option_marginalised,
    Strategy.ENRICHMENT.value: _option_enrichment,
}


def advise(inputs: AdvisorInputs) -> list[StrategyAdvice]:
    """The advice on options 1, 2 and 3 for a town, in that order (rules: module docstring)."""
    facts = _facts(inputs)
    advice = []
    for option, rule in OPTIONS.items():
        status, reasons, missing = rule(inputs, facts)
        status = _apply_cases(
            option,
            status,
            inputs.past_cases,
            reasons,
            missing,
            min_cases=inputs.thresholds.min_cases,
            negative_lead=status == "open",
        )
        records, sources = _evidence(option, inputs)
        if not reasons:
            reasons.append(
                _(
                    "Too little is recorded to judge this option; it stays open until the "
                    "missing data is gathered."
                )
            )
        synthetic = [name for name in OPTION_INPUTS[option] if name in inputs.synthetic_inputs]
        if synthetic:
            reasons.append(
                _(
                    "This advice is computed from synthetic demonstration data (%(inputs)s): "
                    "it says nothing about the town until researchers record real evidence."
                )
                % {"inputs": input_labels(synthetic)}
            )
        advice.append(
            StrategyAdvice(
                option=option,
                status=status,
                reasons=reasons,
                missing=missing,
                synthetic_inputs=synthetic,
                evidence_records=records,
                evidence_sources=sources,
            )
        )
    return advice


def _evidence(option: int, inputs: AdvisorInputs) -> tuple[int, int]:
    """How many records the verdict on ``option`` reads, and how many different sources."""
    observed = sum(n for stance, n in inputs.gap_stances.items() if stance != Stance.UNKNOWN)
    cases = sum(1 for strategy, _outcome in inputs.past_cases if strategy == option)
    counts = {
        "influence": inputs.influence_claims,
        "activities": observed,
        "csos": inputs.csos_total,
        "network": 0,
        "cultural_assets": inputs.cultural_assets,
        "past_cases": cases,
        "society": 0,
    }
    names = OPTION_INPUTS[option]
    records = sum(counts.get(name, 0) for name in names)
    keys = [*(n for n in names if n != "past_cases"), f"past_cases_{option}"]
    cited = frozenset().union(*(inputs.source_ids.get(k, frozenset()) for k in keys))
    return records, len(cited)
