"""The society and environment records: invariants, vocabulary, audit and the access policy."""

from datetime import date

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction

from governance.access import AccessLevel, PublicationState
from governance.redaction import hidden_fields
from governance.services import record_save
from towns.models import (
    CommunicationSite,
    ManagementMechanism,
    MechanismKind,
    SocietyObservation,
    Town,
    WayOfLife,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def town():
    return Town.objects.get(slug="olshany")


def test_migration_seeds_the_six_mechanisms_of_the_research():
    codes = set(MechanismKind.objects.values_list("code", flat=True))
    assert {
        "plan-targets",
        "permits-inspections",
        "ideological-work-gongos",
        "informal-instructions",
        "co-opting-businesses",
        "appointments",
    } <= codes


def test_the_vocabulary_is_extendable(django_user_model):
    """A new kind is a reference record the public sees: it exists once a reviewer approves."""
    from governance import revisions
    from tests.governance.test_revisions import make_user

    kind = MechanismKind(code="tax-benefits", name_en="Tax benefits")
    record_save(instance=kind, via="test")
    assert not MechanismKind.objects.filter(code="tax-benefits").exists()
    revisions.approve(kind._pending_revision, by=make_user(django_user_model, "voc", "reviewer"))
    assert MechanismKind.objects.filter(code="tax-benefits").exists()


def test_an_observation_needs_a_value_or_a_level(town):
    with pytest.raises(IntegrityError), transaction.atomic():
        SocietyObservation.objects.create(
            town=town, year=2020, measure="trust", instrument="survey"
        )


def test_an_observation_value_needs_its_unit(town):
    with pytest.raises(IntegrityError), transaction.atomic():
        SocietyObservation.objects.create(
            town=town, year=2020, measure="trust", instrument="survey", value=12
        )


def test_a_site_has_both_coordinates_or_none(town):
    with pytest.raises(IntegrityError), transaction.atomic():
        CommunicationSite.objects.create(
            town=town,
            name="Half a place",
            kind="park",
            operator="state",
            open_to_independent="no",
            latitude=52.1,
        )


def test_an_online_group_has_no_coordinates(town):
    with pytest.raises(IntegrityError), transaction.atomic():
        CommunicationSite.objects.create(
            town=town,
            name="Chat",
            kind="online",
            operator="independent",
            open_to_independent="yes",
            latitude=52.1,
            longitude=27.3,
        )


def test_a_mechanism_ends_after_it_starts(town):
    kind = MechanismKind.objects.get(code="plan-targets")
    with pytest.raises(IntegrityError), transaction.atomic():
        ManagementMechanism.objects.create(
            town=town,
            kind=kind,
            description="x",
            start_date=date(2020, 1, 1),
            end_date=date(2019, 1, 1),
        )


def test_new_records_are_closed_and_audited(town):
    way = WayOfLife(town=town, category="work", name="Test farming", availability="open")
    record_save(instance=way, via="test")
    way.refresh_from_db()
    assert way.access_level == AccessLevel.RESTRICTED
    assert way.state == PublicationState.DRAFT
    assert way.version == 1
    assert way.events.filter(pgh_label="insert").count() == 1
    assert not WayOfLife.objects.visible_to(AnonymousUser()).filter(pk=way.pk).exists()


def test_site_coordinates_follow_their_own_access_level(town):
    site = CommunicationSite(
        town=town,
        name="Test square",
        kind="park",
        operator="state",
        open_to_independent="partly",
        latitude=52.07,
        longitude=27.34,
        access_level=AccessLevel.PUBLIC,
        coordinates_access_level=AccessLevel.RESTRICTED,
    )
    assert {"latitude", "longitude"} <= hidden_fields(site, AnonymousUser())
    site.coordinates_access_level = AccessLevel.PUBLIC
    assert not {"latitude", "longitude"} & hidden_fields(site, AnonymousUser())
