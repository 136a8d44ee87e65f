"""The society and environment parts of the town, compare and typology pages."""

import re

import pytest
from django.utils.html import strip_tags

from governance.access import AccessLevel
from towns.models import CommunicationSite

pytestmark = pytest.mark.django_db


def text(response) -> str:
    assert response.status_code == 200
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


def test_town_page_shows_mechanisms_in_who_governs(client):
    page = client.get("/towns/mscislau/").content.decode()
    who = page[page.index('data-section="who"') : page.index('data-section="what"')]
    assert "How power is implemented" in who
    assert "Appointments" in who and "Mogilev regional executive committee" in who
    assert "Independent history club" in who  # suppressed by permits and inspections


def test_town_page_shows_society_with_its_evidence(client):
    body = text(client.get("/towns/mscislau/"))
    assert "Society, ways of life and places to meet" in body
    assert "People here are: alienated from power" in body
    assert "The median of 3 readings" in body
    assert "Places to meet per 1,000 inhabitants" in body


def test_too_little_evidence_gives_no_verdict(client):
    body = text(client.get("/towns/chausy/"))
    assert "no verdict (too little evidence)" in body
    assert "at least 3 readings from 2 independent sources are needed" in body


def test_public_page_hides_restricted_sites_and_coordinates(client, personas):
    online = CommunicationSite.objects.get(name="Growers' chat group")
    assert online.access_level == AccessLevel.RESTRICTED
    public = client.get("/towns/olshany/").content.decode()
    assert "Growers&#x27; chat group" not in public and "Growers' chat group" not in public
    research = personas["researcher"].client.get("/towns/olshany/").content.decode()
    assert "Growers&#x27; chat group" in research


def test_map_data_holds_only_public_coordinates(client):
    restricted = CommunicationSite.objects.get(name="Skate park")
    assert restricted.coordinates_access_level == AccessLevel.RESTRICTED
    page = client.get("/towns/pastavy/").content.decode()
    data = page[page.index('id="sites-map-data"') :]
    data = data[: data.index("</script>")]
    assert "District central library" in data
    assert "Skate park" not in data
    assert "js/sites" in page


def test_enrichment_advice_cites_the_places_and_self_organisation(client):
    body = text(client.get("/towns/pastavy/"))
    assert "Places to meet that could be developed:" in body
    assert "Self-organisation already exists: “Skate park built by volunteers”" in body


def test_compare_page_has_the_society_dimensions(client):
    body = text(client.get("/compare/?towns=olshany,mscislau"))
    assert "Society, ways of life and places to meet" in body
    assert "Evenness of choice" in body
    assert "alienated from power" in body


def test_typology_page_has_the_society_dimensions(client):
    page = client.get("/typology/").content.decode()
    assert 'data-type-society="ecclesial"' in page
    assert "Engaged / mixed / alienated / no verdict" in page


def test_town_page_queries_stay_bounded(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(60):
        client.get("/towns/pastavy/")


@pytest.mark.parametrize("lang", ["be", "ru"])
def test_section_renders_in_every_language(client, lang):
    assert client.get(f"/{lang}/towns/olshany/").status_code == 200
