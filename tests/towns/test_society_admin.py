"""The researchers' workspace for mechanisms, society, ways of life and communication sites."""

import pytest
from django.urls import reverse

from towns.models import (
    CommunicationSite,
    ManagementMechanism,
    MechanismKind,
    SelfOrganisationEvent,
    SocietyObservation,
    Town,
    WayOfLife,
)

pytestmark = pytest.mark.django_db

MODELS = [
    MechanismKind,
    ManagementMechanism,
    SocietyObservation,
    SelfOrganisationEvent,
    WayOfLife,
    CommunicationSite,
]


def url(model, view, *args):
    return reverse(f"admin:towns_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_list_add_and_change_pages_render(
    admin_client_logged, model, django_assert_max_num_queries
):
    with django_assert_max_num_queries(30):
        listing = admin_client_logged.get(url(model, "changelist"))
    assert listing.status_code == 200
    assert listing.context["cl"].result_count >= 1
    assert admin_client_logged.get(url(model, "add")).status_code == 200
    record = model._base_manager.order_by("pk").first()
    assert admin_client_logged.get(url(model, "change", record.pk)).status_code == 200


def test_list_finds_records_by_any_spelling_of_the_town(admin_client_logged):
    response = admin_client_logged.get(url(WayOfLife, "changelist") + "?q=Ольшаны")
    names = {w.name for w in response.context["cl"].result_list}
    assert "Pentecostal community" in names


def test_town_page_has_the_society_inlines(admin_client_logged):
    town = Town.objects.get(slug="olshany")
    response = admin_client_logged.get(reverse("admin:towns_town_change", args=[town.pk]))
    assert response.status_code == 200
    prefixes = {f.formset.prefix for f in response.context["inline_admin_formsets"]}
    assert {"mechanisms", "society_observations", "self_organisation", "ways_of_life",
            "communication_sites"} <= prefixes  # fmt: skip
