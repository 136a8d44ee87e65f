"""The strategy advisor's table of cases: status, reasons and named missing data per option."""

import pytest

from csos.advisor import (
    MISSING_ACTIVITIES,
    MISSING_ASSETS,
    MISSING_CSOS,
    MISSING_GAP,
    MISSING_INFLUENCE,
    MISSING_NETWORK,
    MISSING_STANCE,
    MISSING_TYPOLOGY,
    AdvisorInputs,
    StrategyAdvice,
    advise,
    missing_cases,
)
from csos.network import network_metrics

FRAGMENTED = network_metrics(["a", "b", "c", "d"], [("a", "b")])
NETWORKED = network_metrics(["a", "b", "c"], [("a", "b"), ("b", "c")])

C1, C2, C3 = missing_cases(1), missing_cases(2), missing_cases(3)

# Each row: inputs, expected statuses of options (1, 2, 3), expected missing of options 1-3,
# and a phrase the reasons of each option must contain (None: no phrase checked).
ROWS = {
    "nothing recorded: all open, everything named missing": (
        AdvisorInputs(),
        ("open", "open", "open"),
        (
            [MISSING_INFLUENCE, MISSING_ACTIVITIES, MISSING_CSOS, C1],
            [MISSING_INFLUENCE, MISSING_ACTIVITIES, MISSING_CSOS, C2],
            [MISSING_ACTIVITIES, MISSING_ASSETS, C3],
        ),
        ("Too little is recorded", "Too little is recorded", "Too little is recorded"),
    ),
    "alien town, GONGOs, tolerant LA, heritage (like Turov)": (
        AdvisorInputs(
            typology="superior_state",
            own_share=0.2,
            activities_total=5,
            activities_in_gap=3,
            gap_stances={"tolerated": 2, "supported": 1},
            independent_csos=2,
            gongo_csos=2,
            network=FRAGMENTED,
            cultural_assets=2,
        ),
        ("promising", "open", "promising"),
        ([C1], [C2], [C3]),
        (
            "Under alien control",
            "The CSO network is fragmented (3 separate groups, 50% of the CSOs isolated)",
            "2 cultural assets",
        ),
    ),
    "suppressive LA, only GONGOs, no assets": (
        AdvisorInputs(
            typology="outside_corporate",
            own_share=0.1,
            activities_total=4,
            activities_in_gap=4,
            gap_stances={"suppressed": 3, "ignored": 1},
            gongo_csos=2,
            network=NETWORKED,
        ),
        ("open", "closed", "closed"),
        ([C1], [C2], [MISSING_ASSETS, C3]),
        (
            "2 GONGOs are recorded, but",
            "none of the recorded CSOs is independent",
            "no cultural asset is recorded",
        ),
    ),
    "suppressive LA, independents only: option 1 closed, option 2 open with caution": (
        AdvisorInputs(
            typology="superior_state",
            own_share=0.3,
            activities_total=2,
            activities_in_gap=2,
            gap_stances={"suppressed": 2},
            independent_csos=3,
            network=network_metrics(["a", "b", "c"], []),
            cultural_assets=1,
        ),
        ("closed", "open", "open"),
        ([C1], [C2], [C3]),
        (
            "None of the recorded CSOs is a GONGO",
            "Caution: the LA suppresses activity in the gap",
            "Cultural assets offer a non-political way in",
        ),
    ),
    "our own town with tolerant LA (like Olshany)": (
        AdvisorInputs(
            typology="ecclesial",
            own_share=0.85,
            activities_total=6,
            activities_in_gap=3,
            gap_stances={"supported": 1, "tolerated": 2},
            independent_csos=2,
            other_csos=1,
            network=NETWORKED,
            cultural_assets=1,
        ),
        ("open", "promising", "promising"),
        ([C1], [C2], [C3]),
        (
            "No GONGO is recorded",
            "governed by 'our own' people",
            "1 cultural asset (heritage",
        ),
    ),
    "our own by the share only: typology named missing": (
        AdvisorInputs(
            typology="insufficient_evidence",
            own_share=0.7,
            activities_total=2,
            activities_in_gap=2,
            gap_stances={"tolerated": 2},
            independent_csos=1,
            network=network_metrics(["a"], []),
        ),
        ("open", "promising", "open"),
        (
            [MISSING_TYPOLOGY, C1],
            [MISSING_TYPOLOGY, C2],
            [MISSING_ASSETS, C3],
        ),
        ("No GONGO is recorded", "Influence is mostly 'our own', 'our own' share", None),
    ),
    "past successes lift closed to open and open to promising": (
        AdvisorInputs(
            typology="outside_corporate",
            own_share=0.1,
            activities_total=4,
            activities_in_gap=4,
            gap_stances={"suppressed": 4},
            gongo_csos=2,
            network=NETWORKED,
            past_cases=[
                (1, "partial"),
                (1, "success"),
                (2, "success"),
                (2, "partial"),
                (3, "success"),
                (3, "ongoing"),
            ],
        ),
        ("promising", "open", "open"),
        ([], [], [MISSING_ASSETS]),
        (
            "so the option is promising although the conditions above do not show it yet",
            "It has worked here before, so it is open",
            "1 successful, 0 partly successful, 0 failed, 1 ongoing",
        ),
    ),
    "past failures lower promising to open": (
        AdvisorInputs(
            typology="superior_state",
            own_share=0.2,
            activities_total=3,
            activities_in_gap=3,
            gap_stances={"tolerated": 3},
            gongo_csos=1,
            network=network_metrics(["g"], []),
            past_cases=[
                (1, "failed"),
                (1, "failed"),
                (1, "success"),
                (3, "failed"),
                (3, "failed"),
            ],
            cultural_assets=3,
        ),
        ("open", "open", "open"),
        ([], [C2], []),
        (
            "More of them failed than succeeded",
            "No independent CSO is recorded, but the LA does not suppress the gap",
            "a reason for caution",
        ),
    ),
    "a tie between successes and failures stays promising with a caution": (
        AdvisorInputs(
            typology="superior_state",
            own_share=0.2,
            activities_total=3,
            activities_in_gap=3,
            gap_stances={"tolerated": 3},
            gongo_csos=1,
            network=network_metrics(["g"], []),
            past_cases=[(1, "failed"), (1, "success")],
        ),
        ("promising", "open", "open"),
        ([], [C2], [MISSING_ASSETS, C3]),
        ("Some failed: learn their lessons first.", None, None),
    ),
    "LA ignores the gap: enrichment promising, built-in only open": (
        AdvisorInputs(
            typology="mixed",
            own_share=0.5,
            activities_total=3,
            activities_in_gap=3,
            gap_stances={"ignored": 2, "tolerated": 1},
            gongo_csos=1,
            independent_csos=1,
            network=network_metrics(["a", "b"], [("a", "b")]),
            cultural_assets=1,
        ),
        ("open", "open", "promising"),
        ([C1], [C2], [C3]),
        (
            "does not show that it would let",
            "balanced between 'our own' and aliens",
            "ignores 2 and suppresses 0",
        ),
    ),
    "gap stance never observed: named missing, nothing decided from it": (
        AdvisorInputs(
            typology="clan_family",
            own_share=0.9,
            activities_total=2,
            activities_in_gap=2,
            gap_stances={"unknown": 2},
            gongo_csos=1,
            independent_csos=2,
            network=FRAGMENTED,
            cultural_assets=2,
        ),
        ("open", "open", "open"),
        (
            [MISSING_STANCE, C1],
            [MISSING_STANCE, C2],
            [MISSING_STANCE, C3],
        ),
        ("was not observed", "2 independent CSOs are recorded", "was not observed"),
    ),
    "no activity in the gap: the stance towards it is named missing": (
        AdvisorInputs(
            typology="quasi_community",
            own_share=0.75,
            activities_total=3,
            activities_in_gap=0,
            independent_csos=2,
        ),
        ("open", "open", "open"),
        (
            [MISSING_GAP, C1],
            [MISSING_GAP, MISSING_NETWORK, C2],
            [MISSING_GAP, MISSING_ASSETS, C3],
        ),
        (
            "None of the 3 recorded activities lies in the gap",
            "Influence: the town is of the type \u201cOur own: quasi-community\u201d",
            None,
        ),
    ),
    "a split stance is mixed: neither accepting nor suppressive": (
        AdvisorInputs(
            typology="superior_state",
            own_share=0.0,
            activities_total=2,
            activities_in_gap=2,
            gap_stances={"supported": 1, "suppressed": 1},
            gongo_csos=1,
            network=network_metrics(["g"], []),
            cultural_assets=1,
        ),
        ("open", "open", "open"),
        ([C1], [C2], [C3]),
        ("supports or tolerates 1, ignores 0 and suppresses 1", None, None),
    ),
    "suppressive LA, no CSO recorded: option 2 not closed on a guess": (
        AdvisorInputs(
            typology="superior_state",
            own_share=0.1,
            activities_total=2,
            activities_in_gap=2,
            gap_stances={"suppressed": 2},
        ),
        ("open", "open", "closed"),
        (
            [MISSING_CSOS, C1],
            [MISSING_CSOS, C2],
            [MISSING_ASSETS, C3],
        ),
        (None, None, None),
    ),
}


@pytest.mark.parametrize(
    ("inputs", "statuses", "missing", "phrases"), ROWS.values(), ids=list(ROWS)
)
def test_advisor_table(inputs, statuses, missing, phrases):
    advice = advise(inputs)
    assert [a.option for a in advice] == [1, 2, 3]
    assert tuple(a.status for a in advice) == statuses
    assert [a.missing for a in advice] == list(missing)
    for a, phrase in zip(advice, phrases, strict=True):
        if phrase is not None:
            assert any(phrase in reason for reason in a.reasons), (a.option, phrase, a.reasons)


@pytest.mark.parametrize("inputs", [row[0] for row in ROWS.values()], ids=list(ROWS))
def test_every_status_has_a_reason(inputs):
    for advice in advise(inputs):
        assert advice.status in {"open", "promising", "closed"}
        assert advice.reasons
        assert all(isinstance(r, str) and r.strip() for r in advice.reasons)


def test_missing_data_is_named_never_guessed():
    """Without influence data no reason talks about influence, and nothing is promising or
    closed on the strength of data that is not there."""
    advice = advise(AdvisorInputs(gongo_csos=2, independent_csos=1))
    for a in advice:
        assert not any("nfluence" in reason for reason in a.reasons)
        assert a.status == "open"
    assert MISSING_INFLUENCE in advice[0].missing
    assert MISSING_INFLUENCE in advice[1].missing
    # Option 3 does not use the influence balance, so it does not ask for it.
    assert MISSING_INFLUENCE not in advice[2].missing
    # Data that is present is never named missing.
    assert MISSING_CSOS not in advice[0].missing


def test_missing_names_the_option_of_absent_cases():
    advice = advise(AdvisorInputs(past_cases=[(2, "ongoing")]))
    assert C1 in advice[0].missing
    assert C2 not in advice[1].missing
    assert any("0 failed, 1 ongoing" in r for r in advice[1].reasons)
    assert advice[1].status == "open"


def test_advice_is_deterministic():
    inputs = ROWS["alien town, GONGOs, tolerant LA, heritage (like Turov)"][0]
    assert advise(inputs) == advise(inputs)


def test_advice_labels_name_the_options():
    labels = [a.label for a in advise(AdvisorInputs())]
    assert labels[0].startswith("1. CSOs built into the system")
    assert isinstance(advise(AdvisorInputs())[0], StrategyAdvice)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"typology": "martian"}, "Unknown typology"),
        ({"own_share": 1.5}, "not between 0 and 1"),
        ({"gongo_csos": -1}, "gongo_csos is negative"),
        ({"activities_total": 1, "activities_in_gap": 2, "gap_stances": {"ignored": 2}}, "More"),
        ({"activities_total": 3, "activities_in_gap": 2, "gap_stances": {"ignored": 1}}, "add up"),
        ({"activities_total": 1, "activities_in_gap": 1, "gap_stances": {"loved": 1}}, "Unknown"),
        ({"past_cases": [(4, "success")]}, "Unknown past case"),
        ({"past_cases": [(1, "glorious")]}, "Unknown past case"),
    ],
)
def test_inconsistent_inputs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AdvisorInputs(**kwargs)


# --- Every combination of inputs: no verdict contradicts its own sentences ----------------------

import itertools  # noqa: E402
from dataclasses import replace  # noqa: E402

POSITIVE = (
    "can take on more of it.",
    "can be strengthened without being seen as a threat",
    "can grow around them",
    "can grow from them",
)
NEGATIVE = (
    "does not show that it would let",
    "No GONGO is recorded; the option needs",
    "there is no CSO inside the system",
    "there is no marginalised actor",
    "no cultural asset is recorded to build on",
    "Too little is recorded to judge",
    "More of them failed than succeeded",
)
RECONCILED_PROMISING = "although the conditions above do not show it yet"
RECONCILED_OPEN = "It has worked here before, so it is open despite"
RECONCILED_LOWERED = "Despite the conditions above, the option is only open"
STANCE_CLAIMS = ("the LA supports or tolerates activity in the gap", "suppresses activity in")

GAPS = [
    {},
    {"supported": 1},
    {"supported": 2},
    {"suppressed": 2},
    {"supported": 1, "suppressed": 1},
    {"ignored": 2},
    {"unknown": 2},
]
CSOS = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0)]
CASES = [
    [],
    [(1, "success")],
    [(1, "success"), (1, "success")],
    [(2, "failed"), (2, "failed")],
    [(3, "success"), (3, "partial")],
    [(1, "success"), (1, "failed")],
]


def every_input():
    for typology, share, gap, csos, network, cases, assets in itertools.product(
        [None, "superior_state", "clan_family", "mixed", "insufficient_evidence"],
        [None, 0.2, 0.5, 0.8],
        GAPS,
        CSOS,
        [None, FRAGMENTED],
        CASES,
        [0, 1],
    ):
        in_gap = sum(gap.values())
        yield AdvisorInputs(
            typology=typology,
            own_share=share,
            activities_total=in_gap + 1,
            activities_in_gap=in_gap,
            gap_stances=gap,
            independent_csos=csos[0],
            gongo_csos=csos[1],
            other_csos=csos[2],
            network=network,
            past_cases=cases,
            cultural_assets=assets,
        )


def contradictions(inputs: AdvisorInputs, advice: StrategyAdvice) -> list[str]:
    text = " ".join(advice.reasons)
    found = []
    if not advice.reasons:
        found.append("no reason")
    negative = any(p in text for p in NEGATIVE)
    if advice.status == "promising" and negative and RECONCILED_PROMISING not in text:
        found.append("promising with a negative sentence")
    if advice.status == "open":
        if any(p in text for p in POSITIVE) and RECONCILED_LOWERED not in text:
            found.append("open with a promising sentence")
        closing = ("there is no CSO inside the system to build on.", "no marginalised actor")
        if any(p in text for p in closing) and RECONCILED_OPEN not in text:
            found.append("open with a closing sentence")
    if advice.status == "closed" and (any(p in text for p in POSITIVE) or "worked here" in text):
        found.append("closed with a promising sentence")
    observed = sum(n for s, n in inputs.gap_stances.items() if s != "unknown")
    if observed < inputs.thresholds.min_stance_observations and any(
        p in text for p in STANCE_CLAIMS
    ):
        found.append("a stance named on too few observations")
    return found


def test_no_combination_of_inputs_gives_contradictory_sentences():
    checked, wrong = 0, []
    for inputs in every_input():
        for advice in advise(inputs):
            checked += 1
            problems = contradictions(inputs, advice)
            if problems:
                wrong.append((problems, advice.option, advice.status, inputs))
    assert checked == 5 * 4 * 7 * 5 * 2 * 6 * 2 * 3
    assert wrong[:3] == []


def test_cases_below_the_minimum_never_change_a_verdict():
    for inputs in every_input():
        counts = {o: sum(1 for s, _ in inputs.past_cases if s == o) for o in (1, 2, 3)}
        without = advise(replace(inputs, past_cases=[]))
        for advice, before in zip(advise(inputs), without, strict=True):
            if counts[advice.option] < inputs.thresholds.min_cases:
                assert advice.status == before.status


def test_the_checks_catch_a_contradiction():
    inputs = AdvisorInputs()
    bad = StrategyAdvice(
        1, "promising", ["A GONGO is recorded, but ... does not show that it would let CSOs"], []
    )
    assert contradictions(inputs, bad) == ["promising with a negative sentence"]


def test_every_verdict_states_its_evidence():
    inputs = AdvisorInputs(
        typology="superior_state",
        own_share=0.2,
        influence_claims=3,
        activities_total=3,
        activities_in_gap=2,
        gap_stances={"supported": 2},
        gongo_csos=1,
        past_cases=[(1, "success"), (1, "success")],
        source_ids={
            "influence": frozenset({1, 2}),
            "activities": frozenset({2, 3}),
            "past_cases_1": frozenset({4}),
        },
    )
    first, _second, third = advise(inputs)
    # Option 1 reads 3 influence claims, 2 observed activities, 1 CSO and 2 cases; 4 sources.
    assert (first.evidence_records, first.evidence_sources) == (8, 4)
    assert first.evidence == "Rests on 8 records from 4 different sources."
    assert (third.evidence_records, third.evidence_sources) == (2, 2)


def test_a_stance_needs_the_minimum_of_observations():
    one = AdvisorInputs(
        activities_total=1,
        activities_in_gap=1,
        gap_stances={"supported": 1},
        gongo_csos=1,
        cultural_assets=1,
    )
    first, _second, third = advise(one)
    assert (first.status, third.status) == ("open", "open")
    assert any("1 observed, at least 2 needed" in m for m in first.missing)
