"""/en/… works like /be/… and /ru/…: it leads to the same page without a prefix (English is
the default language, which has none)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/en/", "/"),
        ("/en/towns/pastavy/", "/towns/pastavy/"),
        ("/en/?region=brest&kind=town", "/?region=brest&kind=town"),
        ("/en/csos/", "/csos/"),
    ],
)
def test_english_prefix_redirects_to_the_unprefixed_page(client, path, target):
    response = client.get(path)
    assert response.status_code == 301
    assert response["Location"] == target


def test_english_prefix_never_leads_to_another_site(client):
    response = client.get("/en//evil.example/path")
    assert response.status_code == 301
    assert response["Location"] == "/evil.example/path"


def test_the_unprefixed_page_it_leads_to_exists(client):
    response = client.get("/en/typology/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [("/typology/", 301)]
