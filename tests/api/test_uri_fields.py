"""URLs the API writes are URIs, as the schema's ``format: uri`` says: a stored IRI goes out
percent-encoded (found by schemathesis: Olshany's Wikipedia source has Cyrillic in its path)."""

import pytest
from django.test import Client

from towns.models import Town

pytestmark = pytest.mark.django_db


def test_a_stored_iri_goes_out_percent_encoded():
    town = Town.objects.order_by("pk").first()
    Town.objects.filter(pk=town.pk).update(
        population_source_url="https://ru.wikipedia.org/wiki/Ольшаны_(Брестская_область)"
    )
    body = Client().get(f"/api/v1/towns/{town.slug}/", secure=True).json()
    url = body["population_source_url"]
    assert url.isascii()
    assert url == (
        "https://ru.wikipedia.org/wiki/%D0%9E%D0%BB%D1%8C%D1%88%D0%B0%D0%BD%D1%8B_"
        "(%D0%91%D1%80%D0%B5%D1%81%D1%82%D1%81%D0%BA%D0%B0%D1%8F_%D0%BE%D0%B1%D0%BB%D0%B0%D1%81%D1%82%D1%8C)"
    )
