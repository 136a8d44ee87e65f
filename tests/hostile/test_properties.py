"""Property tests (Hypothesis) of the pure functions: defined for every input, results in range.

The example tables of tests/towns/test_scoring.py, tests/csos/test_advisor.py and
tests/csos/test_network.py check that the rules give the research's answers; these check that
no input at all makes them crash or leave their range.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csos.advisor import AdvisorInputs, advise
from csos.models import Outcome, Strategy
from csos.network import NetworkMetrics, is_leader_label, network_metrics
from towns.models import GroupKind, Typology
from towns.models.activities import Stance
from towns.models.power import GroupOrigin
from towns.scoring import (
    CONFIDENCE_WEIGHT,
    STANCES,
    InfluenceInput,
    TownFacts,
    classify_typology,
    influence_balance,
    regional_subordination_check,
    venture_assessment,
)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

influences = st.lists(
    st.builds(
        InfluenceInput,
        group=st.text(max_size=30),
        origin=st.sampled_from(GroupOrigin.values),
        kind=st.sampled_from(GroupKind.values),
        strength=st.integers(1, 5),
        confidence=st.sampled_from(sorted(CONFIDENCE_WEIGHT)),
    ),
    max_size=40,
)
maybe_number = st.one_of(
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.integers(-(10**9), 10**9).map(float),
)


@PROPERTY
@given(influences)
def test_balance_shares_are_within_range_and_sum_to_one_or_are_none(items):
    balance = influence_balance(items)
    assert balance.own_weight >= 0 and balance.alien_weight >= 0
    total = balance.own_weight + balance.alien_weight
    if total == 0:
        assert balance.own_share is None and balance.alien_share is None
    else:
        assert 0 <= balance.own_share <= 1 and 0 <= balance.alien_share <= 1
        assert math.isclose(balance.own_share + balance.alien_share, 1.0, abs_tol=1e-9)
        assert math.isclose(total, sum(i.weight for i in items), rel_tol=1e-9)
    assert isinstance(balance.explanation, str) and balance.explanation


@PROPERTY
@given(influences)
def test_typology_is_always_a_valid_label_with_shares_in_range(items):
    result = classify_typology(items)
    assert result.label in Typology.values
    assert result.explanation
    assert all(0 <= share <= 1 + 1e-9 for share in result.shares_by_kind.values())
    if result.shares_by_kind:
        assert math.isclose(sum(result.shares_by_kind.values()), 1.0, abs_tol=1e-9)
    if sum(i.weight for i in items) < 3.0:
        assert result.label == Typology.INSUFFICIENT


@PROPERTY
@given(
    st.one_of(st.none(), st.integers(-(10**9), 10**9)),
    maybe_number,
    maybe_number,
    maybe_number,
)
def test_regional_subordination_check_answers_for_any_facts(population, industry, culture, change):
    facts = TownFacts(
        population=population,
        industrial_enterprises=industry,
        cultural_institutions=culture,
        population_change_5y=change,
    )
    results = regional_subordination_check(facts)
    assert len(results) == 4
    assert len({r.code for r in results}) == 4
    for r in results:
        assert r.holds in (True, False, None)
        assert r.evidence
        # A criterion is undecided exactly when its figure is missing, and says which.
        assert (r.holds is None) == bool(r.missing)


@PROPERTY
@given(
    st.one_of(st.none(), st.integers(1, 5)),
    st.one_of(st.none(), st.integers(1, 5)),
    st.one_of(st.none(), st.integers(1, 5)),
    st.one_of(st.none(), st.sampled_from(sorted(STANCES))),
)
def test_venture_assessment_is_defined_for_every_score_and_stance(benefit, cost, threat, stance):
    v = venture_assessment(benefit=benefit, cost=cost, threat=threat, stance=stance)
    assert v.likelihood in {"likely", "possible", "unlikely", "unknown"}
    assert v.reasons
    if None in (benefit, cost, threat):
        assert v.likelihood == "unknown" and v.score is None
    else:
        assert v.score == benefit - (cost + threat) / 2
        assert -4 <= v.score <= 4
    assert v.contradicts_stance == bool(v.flag)


@PROPERTY
@given(
    st.one_of(st.integers(), st.text(max_size=3), st.floats(), st.booleans()),
    st.sampled_from(["benefit", "cost", "threat"]),
)
def test_venture_assessment_refuses_out_of_range_scores_with_value_error(bad, name):
    scores = {"benefit": 3, "cost": 3, "threat": 3}
    scores[name] = bad
    if isinstance(bad, int) and not isinstance(bad, bool) and 1 <= bad <= 5:
        venture_assessment(**scores)
    else:
        with pytest.raises(ValueError, match=name):
            venture_assessment(**scores)


@st.composite
def graphs(draw):
    csos = draw(st.lists(st.text(min_size=1, max_size=4), max_size=15))
    unique = list(dict.fromkeys(csos))
    links = []
    leaders = None
    if unique:
        links = draw(
            st.lists(st.tuples(st.sampled_from(unique), st.sampled_from(unique)), max_size=30)
        )
        if draw(st.booleans()):
            leaders = draw(
                st.dictionaries(
                    st.sampled_from(unique),
                    st.lists(st.sampled_from(["p1", "p2", "p3", "p4"]), max_size=3),
                    max_size=len(unique),
                )
            )
    return csos, links, leaders


@PROPERTY
@given(graphs())
def test_network_metrics_are_in_range_for_any_graph(graph):
    csos, links, leaders = graph
    m = network_metrics(csos, links, leaders)
    n = len(set(csos))
    assert isinstance(m, NetworkMetrics)
    assert m.csos == n
    assert 0 <= m.links <= n * (n - 1) // 2
    assert 0 <= m.components <= n
    if n == 0:
        assert m.isolated_share is None
    else:
        assert 0 <= m.isolated_share <= 1
        assert m.components >= 1
    if n < 2:
        assert m.density is None
    else:
        assert 0 <= m.density <= 1
    cso_brokers = [b for b in m.brokers if not is_leader_label(b)]
    assert set(cso_brokers) <= set(csos)
    assert m.explanation


@st.composite
def advisor_inputs(draw):
    stances = draw(st.dictionaries(st.sampled_from(Stance.values), st.integers(0, 20)))
    in_gap = sum(stances.values())
    total = in_gap + draw(st.integers(0, 50))
    network = None
    if draw(st.booleans()):
        network = network_metrics(*draw(graphs()))
    return AdvisorInputs(
        typology=draw(st.one_of(st.none(), st.sampled_from(Typology.values))),
        own_share=draw(st.one_of(st.none(), st.floats(0, 1))),
        activities_total=total,
        activities_in_gap=in_gap,
        gap_stances=stances,
        independent_csos=draw(st.integers(0, 30)),
        gongo_csos=draw(st.integers(0, 30)),
        other_csos=draw(st.integers(0, 30)),
        network=network,
        past_cases=draw(
            st.lists(
                st.tuples(st.sampled_from(Strategy.values), st.sampled_from(Outcome.values)),
                max_size=8,
            )
        ),
        cultural_assets=draw(st.integers(0, 20)),
    )


@PROPERTY
@given(advisor_inputs())
def test_advice_gives_exactly_three_options_with_a_valid_status(inputs):
    advice = advise(inputs)
    assert [a.option for a in advice] == [1, 2, 3]
    for a in advice:
        assert a.status in {"open", "promising", "closed"}
        assert a.reasons and all(isinstance(r, str) and r for r in a.reasons)
        assert all(isinstance(m, str) and m for m in a.missing)
