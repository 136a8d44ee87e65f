"""Pure scoring: influence balance, typology, regional-subordination criteria, venture assessment.

Table-driven: each row is an input and the result the documented formula gives for it
(docs/scoring.md). No database.
"""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from towns.models import GroupKind, Typology
from towns.scoring import (
    CONFIDENCE_WEIGHT,
    InfluenceInput,
    Thresholds,
    TownFacts,
    classify_typology,
    influence_balance,
    regional_subordination_check,
    typology_label,
    venture_assessment,
)


def inf(group, origin, kind, strength, confidence="high"):
    return InfluenceInput(group, origin, kind, strength, confidence)


def superior(name, strength, confidence="high"):
    return inf(name, "alien", "superior_state", strength, confidence)


def corporate(name, strength, confidence="high"):
    return inf(name, "alien", "outside_corporate", strength, confidence)


def clan(name, strength, confidence="high"):
    return inf(name, "our_own", "clan_family", strength, confidence)


def quasi(name, strength, confidence="high"):
    return inf(name, "our_own", "quasi_community", strength, confidence)


def church(name, strength, confidence="high"):
    return inf(name, "our_own", "ecclesial", strength, confidence)


def other(name, strength, confidence="high"):
    return inf(name, "alien", "other", strength, confidence)


# ---------------------------------------------------------------------------------------------
# Balance
# ---------------------------------------------------------------------------------------------


def test_confidence_weights_are_the_contract():
    assert CONFIDENCE_WEIGHT == {"low": 0.5, "medium": 0.75, "high": 1.0}


@pytest.mark.parametrize(
    ("influences", "own_share", "own_weight", "alien_weight"),
    [
        pytest.param([clan("Family X", 4)], 1.0, 4.0, 0.0, id="only-our-own"),
        pytest.param([superior("District EC", 3, "medium")], 0.0, 0.0, 2.25, id="only-aliens"),
        pytest.param(
            [clan("Family X", 4), superior("District EC", 4, "low")],
            4 / 6,
            4.0,
            2.0,
            id="confidence-halves-a-low-claim",
        ),
        pytest.param(
            [quasi("Veterans of the plant", 3), corporate("Air base", 3)],
            0.5,
            3.0,
            3.0,
            id="equal",
        ),
        pytest.param(
            [superior("Regional EC", 5, "low"), church("Pentecostal community", 2)],
            2 / 4.5,
            2.0,
            2.5,
            id="strength-times-confidence",
        ),
        pytest.param(
            [
                superior("District EC", 5),
                superior("Regional EC", 3, "medium"),
                clan("Family X", 2, "medium"),
            ],
            1.5 / 8.75,
            1.5,
            7.25,
            id="several-groups-sum",
        ),
    ],
)
def test_balance_weights_by_strength_and_confidence(
    influences, own_share, own_weight, alien_weight
):
    balance = influence_balance(influences)
    assert balance.own_weight == pytest.approx(own_weight)
    assert balance.alien_weight == pytest.approx(alien_weight)
    assert balance.own_share == pytest.approx(own_share)
    assert balance.alien_share == pytest.approx(1 - own_share)


def test_balance_of_nothing_is_unknown_not_half():
    balance = influence_balance([])
    assert balance.own_share is None
    assert balance.alien_share is None
    assert (balance.own_weight, balance.alien_weight) == (0.0, 0.0)
    assert "cannot be computed" in balance.explanation


@pytest.mark.parametrize(
    ("influences", "phrases"),
    [
        pytest.param(
            [
                superior("Mstislavl district executive committee", 5),
                superior("Mogilev regional executive committee", 3, "medium"),
                clan("Family X (fictional)", 2, "medium"),
            ],
            [
                "Aliens hold 83% of the weighted influence",
                "mostly superior state structures (Mstislavl district executive committee, "
                "Mogilev regional executive committee)",
                "our own hold 17%, mostly clans or families (Family X (fictional))",
                "3 claims weigh 8.75 in all",
            ],
            id="aliens-lead",
        ),
        pytest.param(
            [church("Pentecostal community", 5), superior("District EC", 2, "medium")],
            ["Our own hold 77%", "mostly ecclesial communities (Pentecostal community)"],
            id="our-own-lead",
        ),
        pytest.param(
            [corporate("Air base", 4)],
            ["Aliens hold all (100%)", "no influence of our own is recorded", "1 claim weighs 4"],
            id="one-side-only",
        ),
        pytest.param(
            [quasi("Plant veterans", 2), corporate("Border guard", 2)],
            ["equal shares (50% each)", "our own mostly quasi-communities (Plant veterans)"],
            id="equal",
        ),
        pytest.param(
            [superior(name, 5 - n) for n, name in enumerate("ABCD")],
            ["superior state structures (A, B, C, and 1 more)"],
            id="long-list-shortened",
        ),
    ],
)
def test_balance_explains_in_plain_language(influences, phrases):
    explanation = influence_balance(influences).explanation
    for phrase in phrases:
        assert phrase in explanation


# ---------------------------------------------------------------------------------------------
# Typology: the nine case towns of the research, each with a dominant kind and some minor
# counter-influence, must get the type the presentation gives them.
# ---------------------------------------------------------------------------------------------

CASE_TOWNS = {
    "Turov": (
        [superior("Zhytkavichy district executive committee", 5), clan("Local family", 2, "low")],
        Typology.SUPERIOR_STATE,
    ),
    "Mstislavl": (
        [
            superior("Mstislavl district executive committee", 5),
            superior("Mogilev regional executive committee", 3, "medium"),
            quasi("Former collective-farm managers", 2, "medium"),
        ],
        Typology.SUPERIOR_STATE,
    ),
    "Chavusy": (
        [
            corporate("Law-enforcement network", 5),
            superior("Mogilev regional executive committee", 2, "medium"),
        ],
        Typology.OUTSIDE_CORPORATE,
    ),
    "Shchuchin": (
        [corporate("Air base command", 4), quasi("Dairy plant veterans", 2, "medium")],
        Typology.OUTSIDE_CORPORATE,
    ),
    "Lepel": (
        [corporate("Military garrison", 5), clan("Local family", 1)],
        Typology.OUTSIDE_CORPORATE,
    ),
    "Kamjanets": (
        [
            corporate("Border-guard command", 4),
            corporate("Central power group", 2, "medium"),
            superior("Brest regional executive committee", 2, "low"),
        ],
        Typology.OUTSIDE_CORPORATE,
    ),
    "Glubokoe": (
        [clan("Family clan (fictional)", 5), superior("District executive committee", 2, "medium")],
        Typology.CLAN_FAMILY,
    ),
    "Postavy": (
        [
            quasi("Former colleagues of the plant", 5),
            quasi("Business circle with links to Minsk", 3, "medium"),
            corporate("Industrial holding", 2, "medium"),
        ],
        Typology.QUASI_COMMUNITY,
    ),
    "Olshany": (
        [
            church("Pentecostal community (cucumber growers)", 5),
            superior("Stolin district executive committee", 2, "medium"),
        ],
        Typology.ECCLESIAL,
    ),
}
OUR_OWN_TYPES = {Typology.CLAN_FAMILY, Typology.QUASI_COMMUNITY, Typology.ECCLESIAL}


@pytest.mark.parametrize("town", list(CASE_TOWNS))
def test_case_towns_get_the_type_of_the_research(town):
    influences, expected = CASE_TOWNS[town]
    result = classify_typology(influences)
    assert result.label == expected
    assert f"“{Typology(expected).label}”" in result.explanation
    assert sum(result.shares_by_kind.values()) == pytest.approx(1.0)
    # The balance leans the same way as the type: "our own" types have an our-own majority.
    own_share = influence_balance(influences).own_share
    assert (own_share > 0.5) == (expected in OUR_OWN_TYPES)


@pytest.mark.parametrize(
    ("influences", "label", "phrase"),
    [
        pytest.param([], Typology.INSUFFICIENT, "No influence", id="empty"),
        pytest.param(
            [superior("District EC", 5, "low")],
            Typology.INSUFFICIENT,
            "weighs only 2.5 (1 claim;",
            id="one-weak-claim",
        ),
        pytest.param(
            [clan("Family", 2, "low"), clan("Other family", 2, "low")],
            Typology.INSUFFICIENT,
            "at least 3 is needed",
            id="all-low-confidence-too-little",
        ),
        pytest.param(
            [clan("Family", 4, "low"), clan("Other family", 4, "low")],
            Typology.CLAN_FAMILY,
            "Clans or families hold all the recorded influence",
            id="all-low-confidence-but-enough",
        ),
        pytest.param(
            [church("Parish", 2), church("Prayer group", 2, "low")],
            Typology.ECCLESIAL,
            "hold all",
            id="exactly-the-minimum",
        ),
        pytest.param(
            [church("Parish", 3)],
            Typology.INSUFFICIENT,
            "a type needs at least 2 claims from 2 different sources",
            id="one-claim-is-refused",
        ),
        pytest.param(
            [superior("District EC", 3), corporate("Air base", 3)],
            Typology.MIXED,
            "No kind of group dominates (superior state structures 50%, outside corporate "
            "structures 50%)",
            id="half-and-half",
        ),
        pytest.param(
            [clan("Family", 4), superior("District EC", 2), corporate("Air base", 2)],
            Typology.CLAN_FAMILY,
            "at least 50% and at least 2 times the next kind (superior state structures, 25%)",
            id="exactly-half-and-twice-the-next",
        ),
        pytest.param(
            [quasi("Colleagues", 3), superior("District EC", 2)],
            Typology.MIXED,
            "quasi-communities 60%, superior state structures 40%",
            id="majority-but-not-twice-the-next",
        ),
        pytest.param(
            [
                superior("District EC", 4),
                corporate("Air base", 2),
                clan("Family", 2),
                church("Parish", 2),
            ],
            Typology.MIXED,
            "superior state structures 40%",
            id="twice-the-next-but-under-half",
        ),
        pytest.param(
            [other("Foreign investor", 5), clan("Family", 1)],
            Typology.MIXED,
            "match none of the five types",
            id="other-dominates",
        ),
        pytest.param(
            [superior("District EC", 2), superior("Regional EC", 2), clan("Family", 1)],
            Typology.SUPERIOR_STATE,
            "Superior state structures hold 80%",
            id="groups-of-one-kind-add-up",
        ),
    ],
)
def test_typology_rules(influences, label, phrase):
    result = classify_typology(influences)
    assert result.label == label
    assert phrase in result.explanation


_claims = st.lists(
    st.builds(
        lambda kind, strength, confidence, sources, synthetic: InfluenceInput(
            group=f"G-{kind}-{strength}",
            origin="alien"
            if kind in ("superior_state", "outside_corporate", "other")
            else "our_own",
            kind=kind,
            strength=strength,
            confidence=confidence,
            sources=frozenset(sources),
            synthetic=synthetic,
        ),
        st.sampled_from(GroupKind.values),
        st.integers(1, 5),
        st.sampled_from(sorted(CONFIDENCE_WEIGHT)),
        st.sets(st.integers(1, 4), max_size=3),
        st.booleans(),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    _claims,
    st.builds(
        lambda weight, claims, sources, share, ratio: replace(
            Thresholds(),
            min_typology_weight=weight,
            min_typology_claims=claims,
            min_typology_sources=sources,
            dominant_share=share,
            dominance_ratio=ratio,
        ),
        st.sampled_from([0.5, 3.0, 6.0]),
        st.integers(1, 4),
        st.integers(1, 3),
        st.sampled_from([0.4, 0.5, 0.7]),
        st.sampled_from([1.0, 2.0, 3.0]),
    ),
)
def test_the_label_alone_is_the_label_of_the_explained_classification(claims, thresholds):
    # typology_label serves the margin's 210 trial classifications and the stored aggregates
    # without writing explanations; it must never disagree with classify_typology.
    assert typology_label(claims, thresholds) == classify_typology(claims, thresholds).label


def test_typology_shares_by_kind():
    result = classify_typology([quasi("Colleagues", 3), superior("District EC", 2)])
    assert result.shares_by_kind == pytest.approx({"quasi_community": 0.6, "superior_state": 0.4})
    assert classify_typology([]).shares_by_kind == {}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"strength": 0}, "strength", id="strength-0"),
        pytest.param({"strength": 6}, "strength", id="strength-6"),
        pytest.param({"strength": "3"}, "strength", id="strength-text"),
        pytest.param({"strength": True}, "strength", id="strength-bool"),
        pytest.param({"confidence": "certain"}, "confidence", id="confidence"),
        pytest.param({"origin": "neutral"}, "origin", id="origin"),
        pytest.param({"kind": "mafia"}, "kind", id="kind"),
    ],
)
def test_influence_input_rejects_bad_values(kwargs, field):
    values = {
        "group": "G",
        "origin": "alien",
        "kind": "superior_state",
        "strength": 3,
        "confidence": "high",
        **kwargs,
    }
    with pytest.raises(ValueError, match=field):
        InfluenceInput(**values)


# ---------------------------------------------------------------------------------------------
# Criteria of a town of regional subordination
# ---------------------------------------------------------------------------------------------

CODES = ["population", "industrial_enterprises", "cultural_institutions", "prospects"]


@pytest.mark.parametrize(
    ("facts", "holds", "missing"),
    [
        pytest.param(TownFacts(12000, 4, 7, 0.02), [True, True, True, True], [], id="all-hold"),
        pytest.param(
            TownFacts(6000, 0, 2, -0.01), [False, False, False, False], [], id="none-hold"
        ),
        pytest.param(TownFacts(6001, 1, 3, 0.0), [True, True, True, True], [], id="borderline-in"),
        pytest.param(
            TownFacts(None, None, 5, None),
            [None, None, True, None],
            ["population", "industrial_enterprises", "population_change_5y"],
            id="some-missing",
        ),
        pytest.param(
            TownFacts(None, None, None, None),
            [None, None, None, None],
            [
                "population",
                "industrial_enterprises",
                "cultural_institutions",
                "population_change_5y",
            ],
            id="all-missing",
        ),
    ],
)
def test_regional_subordination_criteria(facts, holds, missing):
    results = regional_subordination_check(facts)
    assert [r.code for r in results] == CODES
    assert [r.holds for r in results] == holds
    assert [name for r in results for name in r.missing] == missing
    for result in results:
        # Unknown exactly when something is missing, and every result says why.
        assert (result.holds is None) == bool(result.missing)
        assert result.evidence


def test_population_of_exactly_6000_is_not_over_6000():
    population = regional_subordination_check(TownFacts(6000, 2, 5, 0.1))[0]
    assert population.holds is False
    assert population.evidence == "Population 6,000: not over 6,000."


@pytest.mark.parametrize(
    ("change", "evidence"),
    [
        (0.023, "The population grew by 2.3% over five years."),
        (-0.041, "The population fell by 4.1% over five years."),
        (0.0, "The population stayed the same over five years (0.0%)."),
    ],
)
def test_prospects_evidence_states_the_trend(change, evidence):
    prospects = regional_subordination_check(TownFacts(8000, 1, 3, change))[3]
    assert prospects.evidence == evidence


@pytest.mark.parametrize(
    ("facts", "evidence"),
    [
        (
            TownFacts(6001, 1, 3, 0.0),
            [
                "Population 6,001: over 6,000.",
                "Industrial enterprises: 1 (at least one).",
                "Clubs, libraries and museums: 3 (at least three).",
            ],
        ),
        (
            TownFacts(950, 0, 2.5, 0.0),
            [
                "Population 950: not over 6,000.",
                "Industrial enterprises: 0 (none).",
                "Clubs, libraries and museums: 2.5 (fewer than three).",
            ],
        ),
    ],
)
def test_criteria_evidence_quotes_the_figure(facts, evidence):
    assert [r.evidence for r in regional_subordination_check(facts)[:3]] == evidence


def test_missing_figures_are_named_in_the_evidence():
    results = regional_subordination_check(TownFacts(7000, None, None, None))
    assert results[1].evidence == "No figure for the number of industrial enterprises is recorded."
    assert "clubs, libraries and museums" in results[2].evidence
    assert "not recorded" in results[3].evidence


# ---------------------------------------------------------------------------------------------
# Venture assessment
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("benefit", "cost", "threat", "stance", "likelihood", "score", "contradicts"),
    [
        pytest.param(5, 1, 1, None, "likely", 4.0, False, id="the-seed-rule"),
        pytest.param(4, 2, 2, "supported", "likely", 2.0, False, id="rule-at-its-limits"),
        pytest.param(4, 3, 2, None, "possible", 1.5, False, id="cost-not-low"),
        pytest.param(3, 2, 2, "tolerated", "possible", 1.0, False, id="benefit-not-considerable"),
        pytest.param(3, 3, 3, None, "unlikely", 0.0, False, id="score-zero"),
        pytest.param(5, 1, 4, None, "unlikely", 2.5, False, id="high-threat-vetoes"),
        pytest.param(2, 4, 4, "ignored", "unlikely", -2.0, False, id="unlikely-ignored"),
        pytest.param(1, 5, 5, "supported", "unlikely", -4.0, True, id="unlikely-but-supported"),
        pytest.param(5, 1, 1, "suppressed", "likely", 4.0, True, id="likely-but-suppressed"),
        pytest.param(3, 2, 2, "suppressed", "possible", 1.0, False, id="possible-suppressed"),
        pytest.param(5, 1, 1, "unknown", "likely", 4.0, False, id="stance-not-observed"),
        pytest.param(None, 2, 2, "supported", "unknown", None, False, id="benefit-missing"),
        pytest.param(None, None, None, None, "unknown", None, False, id="nothing-assessed"),
    ],
)
def test_venture_assessment(benefit, cost, threat, stance, likelihood, score, contradicts):
    result = venture_assessment(benefit=benefit, cost=cost, threat=threat, stance=stance)
    assert result.likelihood == likelihood
    assert result.score == (None if score is None else pytest.approx(score))
    assert result.contradicts_stance is contradicts
    assert bool(result.flag) is contradicts


def test_venture_reasons_cover_each_factor_and_the_score():
    result = venture_assessment(benefit=4, cost=3, threat=5)
    assert result.reasons == [
        "Benefit 4/5: considerable.",
        "Cost 3/5: not low (the rule asks for 2 or less).",
        "Threat to the indicators 5/5: high; the LA is judged by these indicators and avoids "
        "breaking them whatever the benefit.",
        "Score 0; the high threat to the indicators alone makes backing unlikely.",
    ]


def test_likely_venture_quotes_the_seed_rule():
    result = venture_assessment(benefit=5, cost=2, threat=1)
    assert result.reasons[-1] == (
        "Score 3.5 (benefit minus the average of cost and threat): considerable benefit, low "
        "cost and small threat, so the LA may go for it."
    )


def test_missing_assessment_names_what_is_missing():
    result = venture_assessment(benefit=4, cost=None, threat=None, stance="supported")
    assert result.reasons[0] == "Benefit 4/5: considerable."
    assert result.reasons[-1].startswith("Not assessed: cost, threat to the indicators.")
    assert not result.contradicts_stance


@pytest.mark.parametrize(
    ("benefit", "cost", "threat", "stance", "flag"),
    [
        (
            1,
            5,
            5,
            "supported",
            "Predicted unlikely (score -4) but the LA supported it: check the assessment of "
            "benefit, cost and threat, or look for a patron or group that backed it.",
        ),
        (
            5,
            1,
            2,
            "suppressed",
            "Predicted likely (score 3.5) but the LA suppressed it: check for a threat the "
            "assessment misses, such as who runs the activity.",
        ),
    ],
)
def test_contradiction_flag_is_a_sentence_for_the_researcher(benefit, cost, threat, stance, flag):
    result = venture_assessment(benefit=benefit, cost=cost, threat=threat, stance=stance)
    assert result.flag == flag


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"benefit": 0}, "benefit"),
        ({"cost": 6}, "cost"),
        ({"threat": 2.5}, "threat"),
        ({"stance": "loved"}, "stance"),
    ],
)
def test_venture_assessment_rejects_bad_values(kwargs, field):
    values = {"benefit": 3, "cost": 3, "threat": 3, **kwargs}
    with pytest.raises(ValueError, match=field):
        venture_assessment(**values)


# ---------------------------------------------------------------------------------------------
# The evidence behind a type, its margin, and thresholds from the research settings
# ---------------------------------------------------------------------------------------------


def cited(item, *sources):
    return replace(item, sources=frozenset(sources))


def test_a_type_states_its_evidence():
    result = classify_typology(
        [cited(superior("District EC", 5), 1), cited(clan("Family", 2, "medium"), 2, 3)]
    )
    assert (result.label, result.claims, result.sources) == (Typology.SUPERIOR_STATE, 2, 3)
    assert result.high_confidence_share == pytest.approx(5 / 6.5)


def test_one_source_behind_every_claim_is_not_enough_for_a_type():
    result = classify_typology([cited(superior("District EC", 5), 1), cited(superior("REC", 3), 1)])
    assert result.label == Typology.INSUFFICIENT
    assert "rests on 2 claims from 1 source" in result.explanation


def test_the_margin_is_the_lightest_claim_that_changes_the_type():
    # Like Turov: the district EC at strength 5, a family at 2 (medium): 5 against 1.5.
    items = [cited(superior("District EC", 5), 1), cited(clan("Family", 2, "medium"), 2)]
    result = classify_typology(items)
    assert result.margin_weight == 1.5
    assert result.margin == (
        "Margin: one more claim of weight 1.5 (strength 2 at medium confidence) about clans or "
        "families would make it “Mixed”."
    )
    # And it really does: with that claim the town is mixed, with any lighter one it is not.
    heavier = cited(clan("Another family", 2, "medium"), 9)
    assert classify_typology([*items, heavier]).label == Typology.MIXED
    lighter = cited(clan("Another family", 1, "high"), 9)
    assert classify_typology([*items, lighter]).label == Typology.SUPERIOR_STATE


def test_thresholds_come_from_the_research_settings():
    items = [cited(quasi("Colleagues", 3), 1), cited(superior("District EC", 2), 2)]
    assert classify_typology(items).label == Typology.MIXED
    looser = Thresholds(dominance_ratio=1.5)
    assert classify_typology(items, looser).label == Typology.QUASI_COMMUNITY
    assert venture_assessment(benefit=3, cost=2, threat=2).likelihood == "possible"
    assert (
        venture_assessment(
            benefit=3, cost=2, threat=2, thresholds=Thresholds(considerable_benefit=3)
        ).likelihood
        == "likely"
    )


def test_the_explanation_states_the_thresholds_in_force():
    """Issue 16: the text said "at least half ... twice the next" whatever the reviewers set."""
    items = [clan("Family", 4), superior("District EC", 2), corporate("Air base", 2)]
    typed = classify_typology(items, Thresholds(dominant_share=0.4, dominance_ratio=1.5))
    assert "at least 40% and at least 1.5 times the next kind" in typed.explanation
    mixed = classify_typology(items, Thresholds(dominant_share=0.6, dominance_ratio=3))
    assert mixed.label == Typology.MIXED
    assert "at least 60% of the weighted influence and at least 3 times" in mixed.explanation
