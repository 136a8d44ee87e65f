"""load_demo imports every Belarusian town of GeoNames plus Olshany, idempotently."""

from io import StringIO

import pytest
from django.core.management import call_command

from towns.demo.places import pick_cyrillic_names
from towns.models import District, Region, Town

pytestmark = pytest.mark.django_db


def counts():
    return Region.objects.count(), District.objects.count(), Town.objects.count()


def test_demo_has_all_261_towns_in_seven_regions():
    assert Town.objects.count() == 261
    assert Region.objects.count() == 7
    assert Town.objects.filter(geonames_id__isnull=False).count() == 260


def test_load_demo_twice_gives_the_same_counts_and_reports_nothing_created():
    before = counts()
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert counts() == before
    assert "towns: 0 created, 0 updated, 261 unchanged" in out.getvalue()


def test_load_demo_restores_a_changed_geonames_field_but_keeps_researcher_fields():
    town = Town.objects.get(slug="hlybokaye")
    town.population = 1
    town.name_be = "Глыбокае (правілі)"
    town.save()
    out = StringIO()
    call_command("load_demo", stdout=out)
    town.refresh_from_db()
    assert town.population == 17807
    assert "towns: 0 created, 1 updated" in out.getvalue()


def test_olshany_is_added_with_a_cited_source():
    olshany = Town.objects.get(slug="olshany")
    assert olshany.geonames_id is None
    assert olshany.region.code == "01"
    assert olshany.district.name_en == "Stolin District"
    assert olshany.population == 7444
    assert "2019 census" in olshany.population_source
    assert olshany.population_source_url.startswith("https://")


def test_case_towns_carry_curated_names_and_districts():
    glubokoe = Town.objects.get(geonames_id=627908)
    assert (glubokoe.name_be, glubokoe.name_ru) == ("Глыбокае", "Глубокое")
    assert glubokoe.district.slug == "hlybokaye-district"


def test_slugs_are_unique_and_stable_across_reloads():
    before = dict(Town.objects.values_list("geonames_id", "slug"))
    call_command("load_demo", stdout=StringIO())
    assert dict(Town.objects.values_list("geonames_id", "slug")) == before
    assert len(set(before.values())) == len(before)


@pytest.mark.parametrize(
    ("latin", "alternates", "expected"),
    [
        ("Hlybokaye", ["Glubokoe", "Глубокое", "Глыбокае"], ("Глыбокае", "Глубокое")),
        ("Shchuchyn", ["Shchuchin", "Шчучын", "Щучин"], ("Шчучын", "Щучин")),
        ("Uzda", ["Узда"], ("Узда", "Узда")),
        ("Turaŭ", ["Ту́рів", "Тураў", "Туров"], ("Тураў", "Туров")),
        ("X", ["Latin only"], ("", "")),
    ],
)
def test_pick_cyrillic_names(latin, alternates, expected):
    assert pick_cyrillic_names(latin, alternates) == expected
