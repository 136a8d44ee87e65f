"""The API of mechanisms, society, ways of life and communication sites: lists, filters, CSV,
the access policy (a restricted record is invisible to the public), coordinates redaction and
researcher writes."""

from __future__ import annotations

import csv
import io

import pytest

from governance.access import AccessLevel, PublicationState
from towns.models import (
    CommunicationSite,
    ManagementMechanism,
    SelfOrganisationEvent,
    SocietyObservation,
    WayOfLife,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/"
RESOURCES = {
    "mechanisms": ManagementMechanism,
    "society-observations": SocietyObservation,
    "self-organisation-events": SelfOrganisationEvent,
    "ways-of-life": WayOfLife,
    "communication-sites": CommunicationSite,
}


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content[:300]
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize(("path", "model"), RESOURCES.items())
def test_lists_show_each_viewer_exactly_what_it_may_see(personas, path, model):
    url = f"{API}{path}/?page_size=200"
    public = ids(personas["anonymous"].api_client().get(url))
    research = ids(personas["researcher"].api_client().get(url))
    assert public == set(model.objects.visible_to(None).values_list("pk", flat=True))
    assert public, "the demo data publishes records of every kind"
    assert public <= research


@pytest.mark.parametrize(("path", "model"), RESOURCES.items())
def test_a_restricted_record_is_invisible_to_the_public(personas, path, model):
    record = model.objects.visible_to(None).order_by("pk").first()
    model.objects.filter(pk=record.pk).update(access_level=AccessLevel.RESTRICTED)
    anonymous = personas["anonymous"].api_client()
    assert record.pk not in ids(anonymous.get(f"{API}{path}/?page_size=200"))
    assert anonymous.get(f"{API}{path}/{record.pk}/").status_code == 404
    assert personas["partner"].api_client().get(f"{API}{path}/{record.pk}/").status_code == 404
    assert personas["researcher"].api_client().get(f"{API}{path}/{record.pk}/").status_code == 200


def test_restricted_online_groups_are_for_researchers_only(personas):
    hidden = set(CommunicationSite.objects.filter(kind="online").values_list("pk", flat=True))
    url = f"{API}communication-sites/?page_size=200"
    assert hidden
    assert not hidden & ids(personas["partner"].api_client().get(url))
    assert hidden <= ids(personas["researcher"].api_client().get(url))


def test_draft_observation_is_for_researchers_only(personas):
    draft = SocietyObservation.objects.filter(state=PublicationState.DRAFT).first()
    assert draft is not None
    url = f"{API}society-observations/?page_size=200"
    assert draft.pk not in ids(personas["donor"].api_client().get(url))
    assert draft.pk in ids(personas["researcher"].api_client().get(url))


def test_filters_by_town_and_measure(client):
    rows = client.get(f"{API}society-observations/?town=olshany&measure=trust").json()["results"]
    assert rows
    assert {(r["town"], r["measure"]) for r in rows} == {("olshany", "trust")}


def test_mechanisms_filter_by_kind_and_indicator(client):
    rows = client.get(f"{API}mechanisms/?kind=appointments&page_size=50").json()["results"]
    assert rows and {r["kind"] for r in rows} == {"appointments"}
    served = client.get(f"{API}mechanisms/?indicator=average_monthly_wage&page_size=50").json()
    assert served["count"] == 9  # plan targets in each of the nine case towns


def test_sites_filter_by_openness(client):
    rows = client.get(f"{API}communication-sites/?open_to_independent=yes").json()["results"]
    assert rows and {r["open_to_independent"] for r in rows} == {"yes"}


def test_csv_has_the_rows_of_the_json(client):
    json_rows = client.get(f"{API}ways-of-life/?town=olshany").json()["results"]
    response = client.get(f"{API}ways-of-life/?town=olshany&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["name"] for r in rows] == [r["name"] for r in json_rows]
    assert {"category", "availability", "barriers", "is_synthetic"} <= set(rows[0])


def test_restricted_coordinates_are_absent_below_their_level(personas):
    site = CommunicationSite.objects.visible_to(None).filter(latitude__isnull=False).first()
    CommunicationSite.objects.filter(pk=site.pk).update(
        coordinates_access_level=AccessLevel.RESTRICTED
    )
    public = personas["anonymous"].api_client().get(f"{API}communication-sites/{site.pk}/")
    assert public.status_code == 200
    assert "latitude" not in public.json() and "longitude" not in public.json()
    research = personas["researcher"].api_client().get(f"{API}communication-sites/{site.pk}/")
    assert research.json()["latitude"] == pytest.approx(float(site.latitude))


def test_mechanism_detail_names_only_visible_groups(personas):
    mechanism = ManagementMechanism.objects.filter(groups__isnull=False).first()
    group = mechanism.groups.first()
    type(group).objects.filter(pk=group.pk).update(state=PublicationState.DRAFT)
    public = personas["anonymous"].api_client().get(f"{API}mechanisms/{mechanism.pk}/").json()
    research = personas["researcher"].api_client().get(f"{API}mechanisms/{mechanism.pk}/").json()
    assert group.pk not in public["groups"]
    assert group.pk in research["groups"]


def test_researcher_writes_a_draft_observation(personas):
    response = (
        personas["researcher"]
        .api_client()
        .post(
            f"{API}society-observations/",
            {
                "town": "lyepyel",
                "year": 2021,
                "measure": "hearings",
                "level": 2,
                "instrument": "observation",
                "access_level": "public",
            },
            content_type="application/json",
        )
    )
    assert response.status_code == 201, response.content
    created = SocietyObservation.objects.get(pk=response.json()["id"])
    assert created.state == PublicationState.DRAFT


def test_an_observation_without_value_or_level_is_a_422(personas):
    response = (
        personas["researcher"]
        .api_client()
        .post(
            f"{API}society-observations/",
            {"town": "lyepyel", "year": 2021, "measure": "hearings", "instrument": "observation"},
            content_type="application/json",
        )
    )
    assert response.status_code == 422


@pytest.mark.parametrize("who", ["anonymous", "donor", "partner"])
def test_below_research_level_cannot_write(personas, who):
    response = (
        personas[who]
        .api_client()
        .post(
            f"{API}ways-of-life/",
            {"town": "lyepyel", "category": "work", "name": "x", "availability": "open"},
            content_type="application/json",
        )
    )
    assert response.status_code in {401, 403}


def test_the_vocabulary_is_public_and_listed(client):
    codes = {r["code"] for r in client.get(f"{API}mechanism-kinds/").json()["results"]}
    assert "ideological-work-gongos" in codes


def test_the_schema_documents_the_new_resources(client):
    schema = client.get(f"{API}schema/?format=json").json()
    paths = schema["paths"]
    for path in RESOURCES:
        assert f"/api/v1/{path}/" in paths
