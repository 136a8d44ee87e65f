"""Option 3 of the advisor reads the town's society and environment (towns.society)."""

from csos.advisor import AdvisorInputs, advise
from towns.society import ObservationInput, SiteInput, WayInput, enrichment_evidence

ACCEPTING = {"activities_total": 2, "activities_in_gap": 2, "gap_stances": {"tolerated": 2}}
SUPPRESSIVE = {"activities_total": 2, "activities_in_gap": 2, "gap_stances": {"suppressed": 2}}


def evidence(*, sites=(), ways=(), events=(), observations=()):
    return enrichment_evidence(
        sites=list(sites),
        ways=list(ways),
        events=list(events),
        observations=list(observations),
        population=5000,
    )


OPEN_CAFE = ("Book café", SiteInput("cafe", "private", "yes", dialogue_place=True))
CLOSED_CLUB = ("House of culture", SiteInput("club", "gongo", "no"))
PETITION = ("Playground petition", "petition", "achieved")


def option3(inputs: AdvisorInputs):
    return advise(inputs)[2]


def test_an_open_place_makes_enrichment_promising_without_cultural_assets():
    advice = option3(AdvisorInputs(**ACCEPTING, enrichment=evidence(sites=[OPEN_CAFE])))
    assert advice.status == "promising"
    text = " ".join(advice.reasons)
    assert "Book café" in text
    assert "Places open to independent activity" in text


def test_without_society_evidence_the_same_town_stays_open():
    advice = option3(AdvisorInputs(**ACCEPTING, enrichment=evidence(sites=[CLOSED_CLUB])))
    assert advice.status == "open"


def test_living_self_organisation_keeps_a_suppressive_town_open():
    advice = option3(AdvisorInputs(**SUPPRESSIVE, enrichment=evidence(events=[PETITION])))
    assert advice.status == "open"
    expected = "Self-organisation already exists: “Playground petition”"
    assert any(expected in r for r in advice.reasons)


def test_suppressive_town_with_nothing_to_build_on_is_closed_and_says_what_was_looked_for():
    advice = option3(AdvisorInputs(**SUPPRESSIVE, enrichment=evidence(sites=[CLOSED_CLUB])))
    assert advice.status == "closed"
    assert "no place open to independent activity" in advice.reasons[0]


def test_ways_of_life_to_develop_and_missing_evidence_are_named():
    advice = option3(
        AdvisorInputs(
            **ACCEPTING,
            enrichment=evidence(ways=[("Crafts", WayInput("enterprise", "marginal"))]),
        )
    )
    assert any("Crafts" in r for r in advice.reasons)
    assert any("at least 3 readings" in m for m in advice.missing)


def test_an_engagement_verdict_is_cited_only_on_enough_evidence():
    few = evidence(observations=[ObservationInput("trust", 2020, 1, sources=frozenset({1}))])
    enough = evidence(
        observations=[
            ObservationInput("trust", 2020, 1, sources=frozenset({1})),
            ObservationInput("petitions", 2020, 2, sources=frozenset({2})),
            ObservationInput("hearings", 2021, 2, sources=frozenset({2})),
        ]
    )
    assert not any("People here are" in r for r in option3(AdvisorInputs(enrichment=few)).reasons)
    assert any(
        "People here are alienated from power" in r
        for r in option3(AdvisorInputs(enrichment=enough)).reasons
    )


def test_synthetic_society_evidence_is_said():
    inputs = AdvisorInputs(
        **ACCEPTING,
        enrichment=evidence(sites=[OPEN_CAFE]),
        synthetic_inputs=frozenset({"society"}),
    )
    assert option3(inputs).synthetic_inputs == ["society"]
