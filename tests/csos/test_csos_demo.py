"""The CSO demo data: idempotent, honest about what is synthetic, and showing what it should."""

from io import StringIO

import pytest
from django.core.management import call_command

from csos import demo
from csos.models import (
    CSO,
    CapacityScore,
    Character,
    CooperationCase,
    CSOLeadership,
    CSOLink,
    CSOStatus,
    CulturalAsset,
    FieldOfActivity,
    Outcome,
    Strategy,
)
from csos.network import network_metrics
from governance.access import AccessLevel, PublicationState
from governance.loading import LoadReport
from governance.models import Source
from governance.services import claim_check
from towns.models import Person, Region, Town

pytestmark = pytest.mark.django_db

CSO_MODELS = [FieldOfActivity, CSO, CSOLink, CSOLeadership, CooperationCase, CulturalAsset]


def counts():
    return {m.__name__: m.objects.count() for m in [*CSO_MODELS, CapacityScore, Person, Source]}


def town_network(town: Town):
    """The metrics of a town's network as the research sees it (every record)."""
    slugs = list(town.csos.values_list("slug", flat=True))
    links = [
        (link.source_cso.slug, link.target_cso.slug)
        for link in CSOLink.objects.filter(source_cso__towns=town, target_cso__towns=town)
        .select_related("source_cso", "target_cso")
        .distinct()
    ]
    return network_metrics(slugs, links)


def test_load_twice_creates_nothing_the_second_time():
    before = counts()
    report = LoadReport()
    demo.load(report)
    assert counts() == before
    assert report.created == {}
    assert report.updated == {}
    assert report.unchanged["CSOs"] == len(demo.CSOS)
    assert report.unchanged["CSO links"] == len(demo.LINKS)


def test_load_demo_command_reports_csos_unchanged_on_a_second_run():
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert f"CSOs: 0 created, 0 updated, {len(demo.CSOS)} unchanged" in out.getvalue()
    assert f"cooperation cases: 0 created, 0 updated, {len(demo.CASES)} unchanged" in (
        out.getvalue()
    )


def test_the_vocabulary_has_the_twelve_fields():
    codes = set(FieldOfActivity.objects.values_list("code", flat=True))
    assert {
        "culture_heritage",
        "social_services",
        "youth",
        "education",
        "environment",
        "human_rights",
        "local_development",
        "religion",
        "sport",
        "business_support",
        "health",
        "media",
    } <= codes


def test_between_forty_and_sixty_csos_cover_every_region_and_every_case_town():
    assert 40 <= CSO.objects.count() <= 60
    assert set(Region.objects.filter(towns__csos__isnull=False).values_list("code", flat=True)) == {
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
        "07",
    }
    for ref in demo.TOWNS.values():
        lookup = {"geonames_id": ref} if isinstance(ref, int) else {"slug": ref}
        assert Town.objects.get(**lookup).csos.exists(), ref


def test_gongos_independent_church_and_business_csos_are_present():
    present = set(CSO.objects.values_list("character", flat=True))
    assert {Character.GONGO, Character.INDEPENDENT, Character.CHURCH, Character.BUSINESS} <= present
    assert CSO.objects.filter(character=Character.GONGO, slug__startswith="brsm-").count() >= 5
    assert CSO.objects.filter(name_en__startswith="Belarusian Women's Union").exists()
    assert CSO.objects.filter(name_en__startswith="Veterans' organisation").exists()


def test_every_status_occurs_and_liquidated_csos_carry_date_and_grounds():
    assert set(CSO.objects.values_list("status", flat=True)) == set(CSOStatus.values)
    for cso in CSO.objects.filter(status=CSOStatus.LIQUIDATED):
        assert cso.liquidation_date is not None
        assert 2021 <= cso.liquidation_date.year <= 2022
        assert "liquidation" in cso.liquidation_grounds.lower()


def test_no_real_person_is_put_into_a_sensitive_role():
    leaderships = CSOLeadership.objects.select_related("person", "cso")
    assert leaderships.count() >= 8
    for leadership in leaderships:
        person = leadership.person
        assert person.is_synthetic, person
        assert person.name_en.startswith("Fictional "), person
        assert person.names_access_level == AccessLevel.RESTRICTED
        assert leadership.access_level == AccessLevel.RESTRICTED
        assert leadership.cso.leaders_access_level == AccessLevel.RESTRICTED


def test_contacts_are_fictional_and_restricted():
    for cso in CSO.objects.exclude(contacts=""):
        assert cso.contacts == "demo-contact@example.org"
        assert cso.contacts_access_level == AccessLevel.RESTRICTED


def test_invented_records_are_synthetic_and_real_assets_cite_a_real_source():
    for model in [CSO, CSOLink, CSOLeadership, CooperationCase, CapacityScore]:
        assert not model.objects.filter(is_synthetic=False).exists(), model
    real = CulturalAsset.objects.filter(is_synthetic=False).prefetch_related("sources")
    assert real.count() >= 10
    for asset in real:
        sources = list(asset.sources.all())
        assert sources, asset
        assert all(not s.is_synthetic for s in sources), asset


def test_olshany_records_cite_the_presentation():
    presentation = Source.objects.filter(kind=Source.Kind.PRESENTATION).first()
    assert presentation is not None
    olshany = Town.objects.get(slug="olshany")
    assert presentation.cso_set.filter(towns=olshany).exists()
    assert olshany.cultural_assets.filter(sources=presentation).exists()
    # The invented paved-road case (issue 16) is marked synthetic and on purpose does NOT cite
    # the presentation; every researched (not synthetic) Olshany record still does.
    cases = olshany.cooperation_cases.all()
    assert cases.filter(is_synthetic=True).exists()
    assert not cases.filter(is_synthetic=True, sources=presentation).exists()
    for model in (olshany.cultural_assets, olshany.cooperation_cases):
        researched = model.filter(is_synthetic=False)
        assert set(researched.values_list("pk", flat=True)) == set(
            researched.filter(sources=presentation).values_list("pk", flat=True)
        )


def test_every_published_claim_cites_a_source():
    for model in [CSOLink, CSOLeadership, CooperationCase, CulturalAsset, CapacityScore]:
        for claim in model.objects.filter(state=PublicationState.PUBLISHED):
            claim_check(claim)  # raises for a published claim without a source


def test_drafts_and_restricted_records_exercise_the_access_policy():
    assert CSO.objects.filter(state=PublicationState.DRAFT).exists()
    assert CSO.objects.filter(access_level=AccessLevel.RESTRICTED).exists()
    assert CSO.objects.filter(access_level=AccessLevel.PARTNER).exists()
    assert CSOLink.objects.filter(state=PublicationState.DRAFT).exists()
    published_public = CSO.objects.filter(
        state=PublicationState.PUBLISHED, access_level=AccessLevel.PUBLIC
    )
    assert published_public.count() > CSO.objects.count() / 2


def test_a_fragmented_town_and_a_networked_town_with_a_broker_exist():
    mstislavl = town_network(Town.objects.get(geonames_id=624889))
    assert mstislavl.csos >= 5
    assert mstislavl.links == 0
    assert mstislavl.isolated_share == 1.0
    assert mstislavl.is_fragmented

    postavy = town_network(Town.objects.get(geonames_id=623760))
    assert postavy.csos >= 5
    assert postavy.components == 1
    assert postavy.is_networked
    assert "postavy-development-foundation" in postavy.brokers


def test_cooperation_cases_cover_every_strategy_and_outcome():
    assert set(CooperationCase.objects.values_list("strategy", flat=True)) == set(Strategy.values)
    assert set(CooperationCase.objects.values_list("outcome", flat=True)) == set(Outcome.values)
    for strategy in Strategy.values:
        assert CooperationCase.objects.filter(strategy=strategy).count() >= 2
    assert not CooperationCase.objects.filter(lessons="").exists()


def test_capacity_scores_cover_all_seven_dimensions_within_the_scale():
    scores = CapacityScore.objects.filter(cso__slug="postavy-development-foundation")
    assert scores.count() == 7
    assert all(1 <= s.score <= 7 for s in CapacityScore.objects.all())
