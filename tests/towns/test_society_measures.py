"""The pure measures of towns.society: engagement, range of choice, communication sites."""

import math

import pytest

from towns.society import (
    ObservationInput,
    SiteInput,
    WayInput,
    choice_components,
    choice_range,
    engagement_summary,
    enrichment_evidence,
    site_density,
)


def obs(level, *sources, measure="trust", year=2020, confidence="medium"):
    return ObservationInput(
        measure=measure, year=year, level=level, confidence=confidence, sources=frozenset(sources)
    )


# --- Engagement ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "verdict"),
    [
        ([1, 2, 2], "alienated"),
        ([2, 2, 5], "alienated"),
        ([2, 3, 4], "mixed"),
        ([4, 4, 5], "engaged"),
        ([1, 4, 4, 5], "engaged"),  # median 4
        ([2, 2, 3, 3], "mixed"),  # median 2.5
    ],
)
def test_engagement_verdict_is_the_median_reading(levels, verdict):
    summary = engagement_summary([obs(level, i % 2) for i, level in enumerate(levels)])
    assert summary.verdict == verdict


def test_no_verdict_below_the_minimum_number_of_readings():
    summary = engagement_summary([obs(1, 1), obs(1, 2)])
    assert summary.verdict is None
    assert summary.readings == 2
    assert "No verdict" in summary.explanation
    assert summary.missing


def test_no_verdict_from_one_source_however_many_readings():
    summary = engagement_summary([obs(1, 7), obs(1, 7), obs(2, 7), obs(1, 7)])
    assert summary.verdict is None
    assert summary.independent_sources == 1


def test_observations_without_a_reading_are_counted_as_unread():
    summary = engagement_summary([obs(None, 1), obs(2, 1), obs(2, 2), obs(2, 3)])
    assert summary.readings == 3
    assert summary.unread == 1
    assert summary.verdict == "alienated"
    assert any("no reading" in m for m in summary.missing)


def test_summary_confidence_is_the_weakest_reading_and_years_span():
    summary = engagement_summary(
        [
            obs(4, 1, year=2015, confidence="high"),
            obs(4, 2, year=2019, confidence="low"),
            obs(5, 3, year=2017),
        ]
    )
    assert summary.confidence == "low"
    assert summary.years == (2015, 2019)
    assert summary.by_measure == {"trust": 4.0}


def test_self_organisation_events_are_counted_by_kind():
    summary = engagement_summary(
        [obs(3, 1), obs(3, 2), obs(3, 3)], events=["petition", "petition", "protest"]
    )
    assert summary.events == 3
    assert summary.events_by_kind == {"petition": 2, "protest": 1}
    assert "3 signs of self-organisation" in summary.explanation


def test_minimums_can_be_set_by_the_caller():
    assert engagement_summary([obs(1, 1)], min_observations=1, min_sources=1).verdict == (
        "alienated"
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"measure": "gossip", "year": 2020, "level": 3},
        {"measure": "trust", "year": 2020, "level": 6},
        {"measure": "trust", "year": 2020, "level": 3, "confidence": "certain"},
    ],
)
def test_bad_observations_are_refused(bad):
    with pytest.raises(ValueError):
        ObservationInput(**bad)


# --- Range and evenness of choice ---------------------------------------------------------------

WORKED = [
    WayInput("work", "open"),
    WayInput("work", "open"),
    WayInput("education", "limited"),
    WayInput("culture", "open"),
    WayInput("faith", "open"),
    WayInput("enterprise", "marginal"),
]


def test_worked_example_of_the_documentation():
    c = choice_components(WORKED)
    assert c.recorded == 6
    assert c.realisable == 5  # the marginal enterprise is not a realisable choice
    assert c.realisable_by_category == {
        "work": 2,
        "education": 1,
        "culture": 1,
        "faith": 1,
        "enterprise": 0,
    }
    assert c.categories_covered == 4
    shares = [2 / 4.5, 0.5 / 4.5, 1 / 4.5, 1 / 4.5]
    expected = -sum(p * math.log(p) for p in shares) / math.log(5)
    assert c.evenness == pytest.approx(expected, abs=1e-3)
    assert c.evenness == pytest.approx(0.791, abs=1e-3)


def test_evenness_is_zero_for_one_category_and_one_for_equal_shares():
    assert choice_components([WayInput("work", "open")] * 3).evenness == 0
    equal = [WayInput(c, "open") for c in ("work", "education", "culture", "faith", "enterprise")]
    assert choice_components(equal).evenness == pytest.approx(1.0)


def test_nothing_realisable_has_no_evenness():
    c = choice_components([WayInput("faith", "marginal")])
    assert c.evenness is None
    assert c.realisable == 0


def test_choice_is_compared_with_the_region_median():
    region = [WORKED, [WayInput("work", "open")], [WayInput("work", "open")] * 2]
    result = choice_range(WORKED, region)
    assert result.region_towns == 3
    assert result.region_median_realisable == 2
    assert result.region_median_evenness == 0
    assert "Region median over 3 towns" in result.explanation


def test_no_region_comparison_from_the_town_alone():
    result = choice_range(WORKED, [WORKED])
    assert result.region_median_realisable is None
    assert result.missing


def test_no_ways_of_life_is_named_missing():
    result = choice_range([])
    assert result.town.evenness is None
    assert any("none recorded" in m for m in result.missing)


# --- Communication sites ------------------------------------------------------------------------


def test_site_density_per_thousand_and_openness():
    sites = [
        SiteInput("library", "state", "no"),
        SiteInput("cafe", "private", "partly", dialogue_place=True),
        SiteInput("church", "church", "yes"),
        SiteInput("online", "independent", "yes"),
    ]
    d = site_density(sites, population=7444)
    assert d.physical == 3
    assert d.per_1000 == round(3 * 1000 / 7444, 2)
    assert (d.open_yes, d.open_partly, d.open_no) == (2, 1, 1)
    assert d.open_share == 0.5
    assert d.open_or_partly_share == 0.75
    assert d.dialogue_places == 1
    assert d.by_operator == {"state": 1, "private": 1, "church": 1, "independent": 1}


def test_density_without_population_is_missing_not_guessed():
    d = site_density([SiteInput("park", "state", "no")], population=None)
    assert d.per_1000 is None
    assert d.missing


def test_no_sites_gives_no_shares():
    d = site_density([], population=1000)
    assert d.per_1000 == 0
    assert d.open_share is None


# --- Enrichment evidence ------------------------------------------------------------------------


def test_enrichment_names_what_could_be_developed():
    evidence = enrichment_evidence(
        sites=[
            ("House of culture", SiteInput("club", "state", "no")),
            ("Book café", SiteInput("cafe", "private", "yes")),
            ("Market square", SiteInput("park", "state", "partly", dialogue_place=True)),
        ],
        ways=[("Crafts", WayInput("enterprise", "limited")), ("Farming", WayInput("work", "open"))],
        events=[
            ("Playground petition", "petition", "achieved"),
            ("Banned concert", "initiative", "suppressed"),
        ],
        observations=[],
        population=10_000,
    )
    assert evidence.sites_to_develop == ["Market square", "Book café"]
    assert evidence.ways_to_develop == ["Crafts"]
    assert evidence.self_organisation == ["Playground petition"]
    assert evidence.has_base
    reasons = " ".join(evidence.reasons())
    assert "Market square" in reasons and "Playground petition" in reasons
    assert evidence.engagement.verdict is None
    assert evidence.missing()


def test_enrichment_without_open_places_or_live_initiatives_has_no_base():
    evidence = enrichment_evidence(
        sites=[("House of culture", SiteInput("club", "gongo", "no"))],
        ways=[],
        events=[("Banned concert", "initiative", "suppressed")],
        observations=[],
        population=None,
    )
    assert not evidence.has_base
