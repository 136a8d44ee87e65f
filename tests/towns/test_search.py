"""A town is found by any of its names, Latin or Cyrillic: admin, page and API."""

import pytest
from django.urls import reverse

from governance.text import fold, lacinka_to_cyrillic, search_keys
from towns.models import Town

pytestmark = pytest.mark.django_db

SPELLINGS = ["Glubokoe", "Глубокое", "Hlybokaye", "Глыбокае", "glybokae", "HLYBOKAYE"]


@pytest.mark.parametrize("query", SPELLINGS)
def test_queryset_search_finds_glubokoe(query):
    assert list(Town.objects.search(query).values_list("slug", flat=True)) == ["hlybokaye"]


@pytest.mark.parametrize("query", SPELLINGS)
def test_home_page_search(client, query):
    response = client.get(reverse("towns:home"), {"q": query})
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [Town.objects.get(slug="hlybokaye")]


@pytest.mark.parametrize("query", SPELLINGS)
def test_api_search(client, query):
    response = client.get("/api/v1/towns/", {"search": query})
    assert response.status_code == 200
    assert [t["slug"] for t in response.json()["results"]] == ["hlybokaye"]


@pytest.mark.parametrize("query", SPELLINGS)
def test_admin_search(admin_client_logged, query):
    response = admin_client_logged.get(reverse("admin:towns_town_changelist"), {"q": query})
    assert response.status_code == 200
    assert [t.slug for t in response.context["cl"].result_list] == ["hlybokaye"]


def test_apostrophes_and_diacritics_are_ignored():
    assert Town.objects.search("Lyepyel'").get().slug == "lyepyel"
    assert Town.objects.search("Turau").get().slug == "turau"
    assert fold("Lyepyel’") == fold("lyepyel'") == "lyepyel"


def test_cyrillic_short_i_and_u_survive_folding():
    assert fold("Тураў") == "тураў"
    # ё folds to е, as people often type it
    assert fold("Ёмкі") == fold("емкі") == "емкі"


def test_empty_search_returns_everything(client):
    response = client.get("/api/v1/towns/", {"search": "   "})
    assert response.json()["count"] == 261


# Łacinka, classical and official, and without its diacritics: read as Belarusian Cyrillic.
LACINKA = [
    ("Hłybokaje", "hlybokaye"),
    ("Hlybokaje", "hlybokaye"),
    ("Lepiel", "lyepyel"),
    ("Mscisłaŭ", "mscislau"),
    ("Pastavy", "pastavy"),
    ("Ščučyn", "shchuchyn"),
]


@pytest.mark.parametrize(("query", "slug"), LACINKA)
def test_home_page_search_reads_lacinka(client, query, slug):
    response = client.get(reverse("towns:home"), {"q": query})
    assert response.status_code == 200
    assert [t.slug for t in response.context["page"].object_list] == [slug]


@pytest.mark.parametrize(
    ("lacinka", "cyrillic"),
    [
        ("Hłybokaje", "глыбокае"),
        ("Lepiel", "лепель"),
        ("Mscisłaŭ", "мсціслаў"),
        ("Kamianiec", "камянец"),
        ("Dzieržynsk", "дзержынск"),
        ("Chocimsk", "хоцімск"),
        ("Łahojsk", "лагойск"),
        ("Jezierski", "езерскі"),
        ("Maładziečna", "маладзечна"),
    ],
)
def test_lacinka_to_cyrillic(lacinka, cyrillic):
    assert lacinka_to_cyrillic(lacinka) == cyrillic


def test_soft_signs_before_consonants_come_in_both_orthographies():
    assert lacinka_to_cyrillic("Niaśviž") == "нясьвіж"
    assert lacinka_to_cyrillic("Niaśviž", soft_sign_before_consonant=False) == "нясвіж"
    assert {"нясьвіж", "нясвіж"} <= set(search_keys("Niaśviž"))


def test_search_keys_of_a_cyrillic_query_include_its_latin_spellings():
    assert search_keys("Глыбокае") == ["глыбокае", "glybokae", "hlybokae"]
    assert search_keys("  ") == []
