"""Concurrent edits through the API: ``version`` in every record, 409 for a stale version in the
body, 412 for a stale ``If-Match``, and the write as before when neither is sent (issue 9)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from csos.models import CSOLink
from governance.models import Source
from governance.services import record_save
from governance.tokens import token_issue
from towns.models import Activity, IndicatorValue, Post

pytestmark = pytest.mark.django_db

API = "/api/v1/"
JSON = "application/json"


def token_client(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def researcher_token(django_user_model, name: str) -> tuple[object, Client]:
    user = django_user_model.objects.create_user(
        username=name, password="a-long-pass-9x", is_staff=True
    )
    user.groups.add(Group.objects.get(name="researcher"))
    _client, key = token_issue(
        user=user, name=f"{name} tool", scopes=["read:restricted", "write:research"]
    )
    return user, token_client(key)


@pytest.fixture
def two_tokens(django_user_model):
    return researcher_token(django_user_model, "tok-anna"), researcher_token(
        django_user_model, "tok-boris"
    )


def a_source() -> Source:
    return record_save(
        instance=Source(kind="document", citation="Statute of Olshany", access_level="public"),
        via="test",
    )


def patch(client, path, data, **headers):
    return client.patch(f"{API}{path}", data, content_type=JSON, **headers)


@pytest.mark.parametrize(
    "path",
    [
        "regions/",
        "districts/",
        "towns/",
        "sources/",
        "persons/",
        "posts/",
        "appointments/",
        "influence-groups/",
        "ties/",
        "indicators/",
        "indicator-values/",
        "activities/",
        "csos/",
        "cso-links/",
        "cooperation-cases/",
    ],
)
def test_every_record_representation_carries_its_version(personas, path):
    client = personas["researcher"].api_client()
    listed = client.get(f"{API}{path}")
    assert listed.status_code == 200, listed.content
    first = listed.json()["results"][0]
    assert isinstance(first["version"], int) and first["version"] >= 1


def test_two_tokens_second_write_from_the_same_version_gets_409(two_tokens):
    (_anna, anna), (_boris, boris) = two_tokens
    source = a_source()
    path = f"sources/{source.pk}/"
    read_a, read_b = anna.get(f"{API}{path}").json(), boris.get(f"{API}{path}").json()
    assert read_a["version"] == read_b["version"] == 1

    first = patch(anna, path, {"citation": "Statute of Olshany, 2025", "version": 1})
    assert first.status_code == 200, first.content
    assert first.json()["version"] == 2

    second = patch(boris, path, {"reliability": "A", "version": read_b["version"]})
    assert second.status_code == 409, second.content
    body = second.json()
    assert body["code"] == "version_conflict"
    assert body["your_version"] == 1 and body["current_version"] == 2
    assert body["changed_fields"] == ["citation"]
    assert "changed by someone else" in body["detail"] and "citation" in body["detail"]
    assert "tok-anna" in body["detail"]  # a research-level writer is told who
    assert body["current"]["citation"] == "Statute of Olshany, 2025"
    assert body["current"]["version"] == 2
    assert second["ETag"] == anna.get(f"{API}{path}")["ETag"]
    stored = Source.objects.get(pk=source.pk)
    assert (stored.citation, stored.reliability, stored.version) == (
        "Statute of Olshany, 2025",
        "C",
        2,
    )
    assert stored.events.filter(pgh_label="update").count() == 1
    # With the current version the same change goes through.
    third = patch(boris, path, {"reliability": "A", "version": 2})
    assert third.status_code == 200 and third.json()["version"] == 3


def test_put_with_a_stale_version_is_409_too(two_tokens):
    (_anna, anna), (_boris, boris) = two_tokens
    source = a_source()
    path = f"sources/{source.pk}/"
    patch(anna, path, {"note": "first"})
    full = {"kind": "document", "citation": "Replaced", "version": 1}
    response = boris.put(f"{API}{path}", full, content_type=JSON)
    assert response.status_code == 409
    assert Source.objects.get(pk=source.pk).citation == "Statute of Olshany"


def test_version_is_read_only_a_client_cannot_set_it(two_tokens):
    (_anna, anna), _ = two_tokens
    source = a_source()
    response = patch(anna, f"sources/{source.pk}/", {"note": "x", "version": 1})
    assert response.json()["version"] == 2  # raised by the server, not taken from the body
    bad = patch(anna, f"sources/{source.pk}/", {"note": "y", "version": "two"})
    assert bad.status_code == 400 and "version" in bad.json()["errors"]


def test_if_match_current_etag_writes_and_returns_the_new_etag(two_tokens):
    (_anna, anna), _ = two_tokens
    source = a_source()
    path = f"sources/{source.pk}/"
    etag = anna.get(f"{API}{path}")["ETag"]
    assert etag.startswith('W/"')
    response = patch(anna, path, {"note": "matched"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.content
    assert response["ETag"] != etag
    assert response["ETag"] == anna.get(f"{API}{path}")["ETag"]
    # "*" matches any existing record; the strong form of the tag matches weakly too.
    assert patch(anna, path, {"note": "any"}, HTTP_IF_MATCH="*").status_code == 200
    strong = anna.get(f"{API}{path}")["ETag"].removeprefix("W/")
    assert patch(anna, path, {"note": "strong"}, HTTP_IF_MATCH=strong).status_code == 200


def test_stale_if_match_is_412_and_writes_nothing(two_tokens):
    (_anna, anna), (_boris, boris) = two_tokens
    source = a_source()
    path = f"sources/{source.pk}/"
    boris_etag = boris.get(f"{API}{path}")["ETag"]
    assert patch(anna, path, {"citation": "Changed by Anna"}).status_code == 200
    response = patch(boris, path, {"note": "Boris"}, HTTP_IF_MATCH=boris_etag)
    assert response.status_code == 412, response.content
    assert response.json()["code"] == "precondition_failed"
    assert response["ETag"] == boris.get(f"{API}{path}")["ETag"] != boris_etag
    put = boris.put(
        f"{API}{path}",
        {"kind": "document", "citation": "Boris"},
        content_type=JSON,
        HTTP_IF_MATCH=boris_etag,
    )
    assert put.status_code == 412
    stored = Source.objects.get(pk=source.pk)
    assert (stored.citation, stored.note, stored.version) == ("Changed by Anna", "", 2)


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_delete_with_stale_if_match_is_412_with_current_is_204(two_tokens):
    (_anna, anna), (_boris, boris) = two_tokens
    activity = Activity.objects.filter(deleted_at__isnull=True).first()
    path = f"activities/{activity.pk}/"
    stale = boris.get(f"{API}{path}")["ETag"]
    assert patch(anna, path, {"title": "Renamed meanwhile"}).status_code == 200
    refused = boris.delete(f"{API}{path}", HTTP_IF_MATCH=stale)
    assert refused.status_code == 412
    assert Activity.objects.get(pk=activity.pk).deleted_at is None
    current = boris.get(f"{API}{path}")["ETag"]
    assert boris.delete(f"{API}{path}", HTTP_IF_MATCH=current).status_code == 204
    assert Activity.objects.get(pk=activity.pk).deleted_at is not None


def test_without_version_or_if_match_the_write_proceeds_as_before(two_tokens):
    (_anna, anna), (_boris, boris) = two_tokens
    source = a_source()
    path = f"sources/{source.pk}/"
    assert patch(anna, path, {"citation": "A"}).status_code == 200
    assert patch(boris, path, {"note": "B"}).status_code == 200
    stored = Source.objects.get(pk=source.pk)
    assert (stored.citation, stored.note, stored.version) == ("A", "B", 3)


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_reference_data_and_links_are_versioned_through_the_api(two_tokens):
    (_anna, anna), (_boris, boris) = two_tokens
    post = Post.objects.first()
    assert (
        patch(anna, f"posts/{post.pk}/", {"is_key": True, "version": post.version}).status_code
        == 200
    )
    stale = patch(boris, f"posts/{post.pk}/", {"is_key": False, "version": post.version})
    assert stale.status_code == 409 and stale.json()["current"]["version"] == post.version + 1
    link = CSOLink.objects.filter(deleted_at__isnull=True).first()
    path = f"cso-links/{link.pk}/"
    version = anna.get(f"{API}{path}").json()["version"]
    assert patch(anna, path, {"note": "checked", "version": version}).status_code == 200
    assert patch(boris, path, {"note": "other", "version": version}).status_code == 409


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_conflict_for_a_partner_names_fields_but_not_researchers_or_hidden_values(
    django_user_model, two_tokens
):
    (_anna, anna), _ = two_tokens
    partner = django_user_model.objects.create_user(username="tok-partner-w", password="x-9-long")
    partner.groups.add(Group.objects.get(name="partner"))
    _client, key = token_issue(
        user=partner, name="loader", scopes=["read:partner", "write:indicators"]
    )
    client = token_client(key)
    value = IndicatorValue.objects.visible_to(partner).first()
    path = f"indicator-values/{value.pk}/"
    seen = client.get(f"{API}{path}")
    assert seen.status_code == 200
    version = seen.json()["version"]
    assert (
        patch(anna, path, {"value": "12345", "note": "secret researcher note"}).status_code == 200
    )
    response = patch(client, path, {"value": "1", "version": version})
    assert response.status_code == 409, response.content
    body = response.json()
    assert "value" in body["changed_fields"] and "note" not in body["changed_fields"]
    assert "tok-anna" not in body["detail"] and "secret" not in str(body)
    assert "note" not in body["current"]


def test_schema_documents_409_412_and_if_match(personas):
    # The full schema (writes included) is what a research account is shown.
    client = personas["researcher"].client
    schema = client.get(f"{API}schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    operation = paths["/api/v1/sources/{id}/"]["patch"]
    assert {"200", "409", "412"} <= set(operation["responses"])
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in operation["parameters"])
    assert {"204", "412"} <= set(paths["/api/v1/sources/{id}/"]["delete"]["responses"])
    body = schema.json()["components"]["schemas"]
    write = body["PatchedSourceWriteRequest"]["properties"]["version"]
    assert write["type"] == "integer" and write.get("writeOnly", True)
    assert body["Source"]["properties"]["version"]["readOnly"] is True
