"""No oracles (quality 5, 7): search, filters and ordering on what a viewer may not see change
nothing for that viewer, and counts equal the visible set."""

from __future__ import annotations

import pytest
from django.urls import reverse

from csos.models import CSO, CSOLeadership
from governance.access import AccessLevel, PublicationState
from towns.models import Person

pytestmark = pytest.mark.django_db


def directory(client, **params):
    response = client.get(reverse("csos:list"), params)
    assert response.status_code == 200
    return response


def listed_slugs(response) -> list[str]:
    return [c.slug for c in response.context["page"].paginator.object_list]


def hidden_leader_name() -> str:
    leadership = (
        CSOLeadership.objects.filter(cso__leaders_access_level=AccessLevel.RESTRICTED)
        .select_related("person")
        .first()
    )
    assert leadership is not None, "demo data needs a CSO with restricted leaders"
    return leadership.person.name_en


def hidden_person_name() -> str:
    person = Person.objects.filter(names_access_level=AccessLevel.RESTRICTED).first()
    assert person is not None
    return person.name_en


@pytest.mark.parametrize("persona_name", ["anonymous", "donor", "outsider"])
def test_directory_search_for_a_restricted_leader_finds_nothing(personas, persona_name):
    response = directory(personas[persona_name].client, q=hidden_leader_name())
    assert listed_slugs(response) == []


@pytest.mark.parametrize("persona_name", ["anonymous", "donor", "outsider"])
def test_directory_search_for_a_draft_cso_finds_nothing_below_research(personas, persona_name):
    draft = CSO.objects.filter(state=PublicationState.DRAFT).first()
    assert listed_slugs(directory(personas[persona_name].client, q=draft.name_en)) == []
    # The same search finds it for a researcher: the search works, the policy hides it.
    assert draft.slug in listed_slugs(directory(personas["researcher"].client, q=draft.name_en))


def test_directory_search_for_a_partner_cso_needs_partner_level(personas):
    cso = CSO.objects.filter(
        state=PublicationState.PUBLISHED, access_level=AccessLevel.PARTNER
    ).first()
    assert listed_slugs(directory(personas["anonymous"].client, q=cso.name_en)) == []
    assert cso.slug in listed_slugs(directory(personas["donor"].client, q=cso.name_en))


@pytest.mark.parametrize("persona_name", ["anonymous", "donor", "researcher"])
def test_directory_count_equals_visible_set(personas, persona_name):
    persona = personas[persona_name]
    response = directory(persona.client)
    expected = CSO.objects.visible_to(persona.user).count()
    assert response.context["page"].paginator.count == expected
    assert f"{expected} organisations" in response.content.decode()


@pytest.mark.parametrize("persona_name", ["anonymous", "donor"])
def test_town_search_does_not_reveal_hidden_persons(personas, persona_name):
    client = personas[persona_name].client
    name = hidden_person_name()
    response = client.get(reverse("towns:home"), {"q": name})
    assert response.context["page"].paginator.count == 0
    api = client.get("/api/v1/towns/", {"search": name})
    assert api.status_code == 200
    assert api.json()["count"] == 0


def _api_rows(client, path, **params):
    response = client.get(path, {"page_size": 500, **params})
    assert response.status_code == 200, (path, params, response.status_code)
    data = response.json()
    return data["results"] if isinstance(data, dict) and "results" in data else data


def _keys(rows):
    return [row.get("slug") or row.get("id") or row.get("pk") for row in rows]


def _refused_alike(client, path: str, orderings) -> None:
    """Ordering by a field the viewer may not order by is a 400 (issue 18: refused, never
    ignored), and the refusal is the same text whatever the field and the data: no oracle."""
    bodies = set()
    for ordering in orderings:
        response = client.get(path, {"ordering": ordering})
        assert response.status_code == 400, (path, ordering, response.status_code)
        bodies.add(response.content)
    assert len(bodies) == 1, bodies


def test_api_cso_ordering_and_filters_on_restricted_fields_are_ignored(personas):
    """Two visible CSOs get restricted contacts that would sort first and last: ordering,
    filtering and searching by contacts must not move them for the public."""
    visible = list(CSO.objects.visible_to(None).order_by("pk")[:2])
    CSO.objects.filter(pk=visible[0].pk).update(
        contacts="zzz-oracle@example.org", contacts_access_level=AccessLevel.RESTRICTED
    )
    CSO.objects.filter(pk=visible[1].pk).update(
        contacts="aaa-oracle@example.org", contacts_access_level=AccessLevel.RESTRICTED
    )
    client = personas["anonymous"].client
    baseline = _keys(_api_rows(client, "/api/v1/csos/"))
    assert baseline, "the public API lists no CSO"
    _refused_alike(
        client, "/api/v1/csos/", ("contacts", "-contacts", "leaders__name_en", "-leaders__name_en")
    )
    assert _keys(_api_rows(client, "/api/v1/csos/", search="zzz-oracle")) == []
    for key in ("contacts", "contacts__icontains", "leaders", "leaders__name_en"):
        rows = _api_rows(client, "/api/v1/csos/", **{key: "zzz-oracle@example.org"})
        assert _keys(rows) == baseline, key


def test_api_cso_count_equals_visible_set(personas):
    for name in ("anonymous", "donor", "researcher"):
        persona = personas[name]
        response = persona.client.get("/api/v1/csos/")
        assert response.status_code == 200
        assert response.json()["count"] == CSO.objects.visible_to(persona.user).count(), name


def test_api_person_search_and_ordering_reveal_no_hidden_name(personas):
    client = personas["anonymous"].client
    name = hidden_person_name()
    assert _api_rows(client, "/api/v1/persons/", search=name) == []
    baseline = _keys(_api_rows(client, "/api/v1/persons/"))
    assert isinstance(baseline, list)  # (the public may see no person at all)
    _refused_alike(client, "/api/v1/persons/", ("name_en", "-name_en", "family_name"))
