"""Sensitive fields are absent (no key) below their level; nested persons only when the
viewer may see who they are; restricted reads by researchers are logged without values;
search, filters and ordering on hidden fields are no oracle."""

from __future__ import annotations

import datetime as dt

import pytest

from csos.models import CSO, CSOLeadership
from governance.access import AccessLevel, PublicationState
from governance.models import FieldAccessLog, Source
from towns.models import Appointment, Person, Post, Town

pytestmark = pytest.mark.django_db

API = "/api/v1/"
NAME_KEYS = {"name_en", "name_be", "name_ru", "given_name", "family_name", "patronymic_name"}
PUBLISHED = {"state": PublicationState.PUBLISHED, "access_level": AccessLevel.PUBLIC}


@pytest.fixture
def veiled_person():
    """A public record of a person whose names are restricted."""
    return Person.objects.create(
        name_en="Fictional Person A. Veiled",
        given_name="Veiled",
        names_access_level=AccessLevel.RESTRICTED,
        note="Met at the market.",
        is_synthetic=True,
        **PUBLISHED,
    )


@pytest.fixture
def open_person():
    return Person.objects.create(
        name_en="Fictional Person B. Open",
        names_access_level=AccessLevel.PUBLIC,
        is_synthetic=True,
        **PUBLISHED,
    )


def appointment_of(person) -> Appointment:
    source = Source.objects.create(kind="document", citation="Decision 1", **PUBLISHED)
    appointment = Appointment.objects.create(
        person=person,
        post=Post.objects.order_by("pk").first(),
        town=Town.objects.get(slug="olshany"),
        start_date=dt.date(2020, 1, 1),
        note="Informal talk with the chairman.",
        **PUBLISHED,
    )
    appointment.sources.set([source])
    return appointment


def test_person_names_and_note_are_absent_for_the_public(personas, veiled_person):
    for who in ("anonymous", "donor", "partner"):
        client = personas[who].api_client()
        row = client.get(f"{API}persons/{veiled_person.pk}/").json()
        assert not NAME_KEYS & row.keys(), who
        assert "note" not in row
        assert row["id"] == veiled_person.pk
        listed = {r["id"]: r for r in client.get(f"{API}persons/").json()["results"]}
        assert not NAME_KEYS & listed[veiled_person.pk].keys()
        assert "Veiled" not in client.get(f"{API}persons/").content.decode()


def test_researcher_sees_restricted_names_and_the_read_is_logged(personas, veiled_person):
    researcher = personas["researcher"]
    row = researcher.api_client().get(f"{API}persons/{veiled_person.pk}/").json()
    assert row["name_en"] == "Fictional Person A. Veiled"
    assert row["note"] == "Met at the market."
    log = FieldAccessLog.objects.get(
        user=researcher.user, model="towns.person", object_id=str(veiled_person.pk)
    )
    assert {"name_en", "given_name", "note"} <= set(log.fields.split(","))
    assert log.path == f"{API}persons/{veiled_person.pk}/"
    assert "Veiled" not in log.fields and "market" not in log.fields


def test_public_reads_leave_no_access_log(personas, veiled_person, open_person):
    before = FieldAccessLog.objects.count()
    personas["anonymous"].api_client().get(f"{API}persons/")
    personas["donor"].api_client().get(f"{API}persons/{open_person.pk}/")
    assert FieldAccessLog.objects.count() == before


def test_public_names_are_shown_to_everyone(personas, open_person):
    row = personas["anonymous"].api_client().get(f"{API}persons/{open_person.pk}/").json()
    assert row["name_en"] == "Fictional Person B. Open"
    assert "note" not in row  # notes are research level on every model


def test_appointment_hides_the_person_key_when_names_are_hidden(personas, veiled_person):
    appointment = appointment_of(veiled_person)
    public = personas["anonymous"].api_client().get(f"{API}appointments/{appointment.pk}/")
    body = public.json()
    assert "person" not in body
    assert body["post"]["id"] == appointment.post_id
    assert body["start_date"] == "2020-01-01"
    assert "note" not in body
    research = personas["researcher"].api_client()
    body = research.get(f"{API}appointments/{appointment.pk}/").json()
    assert body["person"]["name_en"] == "Fictional Person A. Veiled"
    assert body["note"] == "Informal talk with the chairman."
    assert FieldAccessLog.objects.filter(
        model="towns.person", object_id=str(veiled_person.pk)
    ).exists()


def test_appointment_shows_a_person_whose_names_are_public(personas, open_person):
    appointment = appointment_of(open_person)
    listed = personas["anonymous"].api_client().get(f"{API}appointments/", {"page_size": 500})
    row = {r["id"]: r for r in listed.json()["results"]}[appointment.pk]
    assert row["person"] == {
        "id": open_person.pk,
        "name_en": "Fictional Person B. Open",
        "name_be": "",
        "name_ru": "",
        "is_synthetic": True,
    }


def test_cso_contacts_and_leaders_follow_their_own_levels(personas):
    cso = CSO.objects.visible_to(None).filter(leaderships__isnull=False).first()
    assert cso is not None and cso.contacts_access_level == AccessLevel.RESTRICTED
    for who in ("anonymous", "donor", "partner"):
        body = personas[who].api_client().get(f"{API}csos/{cso.slug}/").json()
        assert "contacts" not in body and "leaders" not in body, who
    researcher = personas["researcher"]
    body = researcher.api_client().get(f"{API}csos/{cso.slug}/").json()
    assert "contacts" in body
    assert body["leaders"] and all("person" in leader for leader in body["leaders"])
    log = FieldAccessLog.objects.get(user=researcher.user, model="csos.cso", object_id=str(cso.pk))
    assert {"contacts", "leaders"} <= set(log.fields.split(","))


def test_cso_leaders_opened_to_partners_show_only_visible_names(personas):
    cso = CSO.objects.visible_to(None).filter(leaderships__isnull=False).first()
    CSO.objects.filter(pk=cso.pk).update(leaders_access_level=AccessLevel.PARTNER)
    donor = personas["donor"].api_client()
    # The leadership claims themselves are restricted in the demo: none listed yet.
    assert donor.get(f"{API}csos/{cso.slug}/").json()["leaders"] == []
    CSOLeadership.objects.filter(cso=cso).update(access_level=AccessLevel.PARTNER)
    body = donor.get(f"{API}csos/{cso.slug}/").json()
    # The leaders' person records are restricted in the demo: roles without names.
    assert body["leaders"] and all("person" not in leader for leader in body["leaders"])
    assert all(leader["role"] for leader in body["leaders"])


def test_interview_code_is_absent_below_research(personas):
    source = Source.objects.create(
        kind="interview", citation="Interview, 2024", interview_code="INT-2024-099", **PUBLISHED
    )
    body = personas["donor"].api_client().get(f"{API}sources/{source.pk}/").json()
    assert "interview_code" not in body
    assert body["citation"] == "Interview, 2024"
    body = personas["researcher"].api_client().get(f"{API}sources/{source.pk}/").json()
    assert body["interview_code"] == "INT-2024-099"


def test_interview_code_filter_is_ignored_below_research(personas):
    Source.objects.create(
        kind="interview", citation="Interview A", interview_code="INT-X-1", **PUBLISHED
    )
    anonymous = personas["anonymous"].api_client()
    everything = anonymous.get(f"{API}sources/").json()["count"]
    for code in ("INT-X-1", "NO-SUCH-CODE"):
        assert anonymous.get(f"{API}sources/", {"interview_code": code}).json()["count"] == (
            everything
        )
    research = personas["researcher"].api_client()
    assert research.get(f"{API}sources/", {"interview_code": "INT-X-1"}).json()["count"] == 1


def test_person_search_and_name_ordering_are_no_oracle(personas, veiled_person, open_person):
    donor = personas["donor"].api_client()
    everything = donor.get(f"{API}persons/").json()
    assert donor.get(f"{API}persons/", {"search": "Veiled"}).json()["count"] == everything["count"]
    assert donor.get(f"{API}persons/", {"search": "zzzz"}).json()["count"] == everything["count"]
    # Ordering by a name is not offered below research level: a 400 naming what is offered,
    # the same whatever the hidden data (issue 18: refused, never silently ignored).
    by_name = donor.get(f"{API}persons/", {"ordering": "name_en"})
    assert by_name.status_code == 400
    message = by_name.json()["errors"]["ordering"][0]
    assert "name_en" not in message and "updated_at" in message
    research = personas["researcher"].api_client()
    found = research.get(f"{API}persons/", {"search": "veiled"}).json()["results"]
    assert [r["id"] for r in found] == [veiled_person.pk]


def test_appointment_person_filter_is_ignored_below_research(personas, veiled_person):
    appointment = appointment_of(veiled_person)
    anonymous = personas["anonymous"].api_client()
    everything = anonymous.get(f"{API}appointments/").json()["count"]
    filtered = anonymous.get(f"{API}appointments/", {"person": veiled_person.pk}).json()
    assert filtered["count"] == everything
    research = personas["researcher"].api_client()
    rows = research.get(f"{API}appointments/", {"person": veiled_person.pk}).json()["results"]
    assert [r["id"] for r in rows] == [appointment.pk]
