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


# --- The Cyrillic name picker: never a pre-reform spelling, another place or another language --


@pytest.mark.parametrize(
    ("latin", "alternates", "expected", "never"),
    [
        (
            "Polotsk",
            ["Полацк", "Полотьскъ", "Полоцк", "Полоцьк"],
            ("Полацк", "Полоцк"),
            "Полотьскъ",
        ),
        ("Bolbasovo", ["Балбасава", "Барсуки", "Болбасoвo"], ("Балбасава", "Болбасово"), "Барсуки"),
        (
            "Dokshytsy",
            ["Докшици", "Докшицы", "Докшиці", "Докшыцы"],
            ("Докшыцы", "Докшицы"),
            "Докшици",
        ),
        ("Senno", ["Сенно", "Сянно"], ("Сянно", "Сенно"), None),
        ("Rossony", ["Расоны", "Россоны"], ("Расоны", "Россоны"), None),
        # A Ukrainian -цьк is no Belarusian name; Russian never writes чы or шч.
        ("Slutsk", ["Слуцк", "Слуцьк"], ("Слуцк", "Слуцк"), "Слуцьк"),
        (
            "Kalinkovichi",
            ["Калинкавичы", "Калинковичи"],
            ("", "Калинковичи"),
            "Калинкавичы",
        ),
    ],
)
def test_picker_chooses_the_modern_name_of_this_place_in_each_language(
    latin, alternates, expected, never
):
    be, ru = pick_cyrillic_names(latin, [latin, *alternates])
    assert (be, ru) == expected
    assert never not in (be, ru)


def test_the_five_towns_of_the_issue_carry_the_right_names():
    names = dict(
        Town.objects.filter(
            name_en__in=["Polotsk", "Bolbasovo", "Dokshytsy", "Senno", "Rossony"]
        ).values_list("name_en", "name_ru")
    )
    assert names == {
        "Polotsk": "Полоцк",
        "Bolbasovo": "Болбасово",
        "Dokshytsy": "Докшицы",
        "Senno": "Сенно",
        "Rossony": "Россоны",
    }


def test_names_the_picker_gets_wrong_are_checked_by_hand():
    """GeoNames' alternates alone make the picker choose Russian "Гомел", "Кобринь" and
    "Сонечный" (towns.demo.places.CHECKED_NAMES holds the checked names)."""
    names = {
        t.name_en: (t.name_be, t.name_ru, t.names_verified)
        for t in Town.objects.filter(geonames_id__in=[627907, 627145, 13494161])
    }
    assert names == {
        "Homyel'": ("Гомель", "Гомель", True),
        "Kobryn": ("Кобрын", "Кобрин", True),
        "Sonechny": ("Сонечны", "Солнечный", True),
    }


def test_machine_guessed_names_and_kinds_are_unverified_until_a_researcher_confirms():
    # The nine case towns and the three names checked by hand.
    assert Town.objects.filter(names_verified=True).count() == 9 + 3
    assert Town.objects.filter(kind_verified=True).count() == 9
    assert not Town.objects.get(name_en="Polotsk").names_verified


# --- The 118 districts of Belarus and their centres ---------------------------------------------


def test_the_118_districts_of_belarus_are_loaded_per_region():
    from django.db.models import Count

    per_region = dict(
        District.objects.values("region__code")
        .annotate(n=Count("pk"))
        .values_list("region__code", "n")
    )
    # Brest 16, Gomel 21, Grodno 17, Minsk region 22, Mogilev 21, Vitebsk 21; Minsk city none.
    assert per_region == {"01": 16, "02": 21, "03": 17, "05": 22, "06": 21, "07": 21}
    assert District.objects.count() == 118


def test_the_case_districts_agree_with_the_data_file():
    from towns.demo.places import CASE_DISTRICTS

    for key, (en, be, ru, code) in CASE_DISTRICTS.items():
        district = District.objects.get(slug=f"{key}-district")
        assert (district.name_en, district.name_be, district.name_ru) == (en, be, ru)
        assert district.region.code == code


def test_every_district_centre_among_the_towns_gets_its_district():
    from governance.text import fold
    from towns.demo.places import district_rows

    assigned = 0
    for row in district_rows():
        wanted = {fold(row[c]) for c in ("centre_en", "centre_be", "centre_ru")}
        candidates = [
            t
            for t in Town.objects.filter(region__code=row["region"])
            if wanted & {fold(n) for n in t.all_names() if n}
        ]
        if not candidates:
            assert row["key"] == "Minsk"  # the city is a region of its own
            continue
        centre = max(candidates, key=lambda t: t.population or 0)
        assert centre.district.name_en == f"{row['key']} District", row["key"]
        assigned += 1
    assert assigned == 117
    assert Town.objects.get(name_en="Polotsk").district.name_en == "Polatsk District"


def test_load_demo_counts_the_towns_left_without_a_district():
    out = StringIO()
    call_command("load_demo", stdout=out)
    without = Town.objects.filter(district__isnull=True).count()
    assert 0 < without < 261 - 117
    assert f"Towns without a district: {without}" in out.getvalue()


def test_unverified_names_and_kind_are_marked_on_the_page_and_in_the_api(client):
    polotsk = Town.objects.get(name_en="Polotsk")
    body = client.get(polotsk.get_absolute_url()).content.decode()
    assert 'data-unverified="names"' in body and 'data-unverified="kind"' in body
    data = client.get(f"/api/v1/towns/{polotsk.slug}/").json()
    assert (data["names_verified"], data["kind_verified"]) == (False, False)
    glubokoe = Town.objects.get(slug="hlybokaye")
    body = client.get(glubokoe.get_absolute_url()).content.decode()
    assert "data-unverified" not in body
