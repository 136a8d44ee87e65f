"""Sensible entry: team defaults, access levels in words, a group's kind sets its origin, the
indicator picker, demo sources, bulk actions, review events in words, imports by citation and
with an access level, and a real value that replaces a synthetic one in the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
import tablib
from django.urls import reverse

from csos.imports import CSOResource
from csos.models import CSO
from governance.access import AccessLevel, PublicationState
from governance.entry import entry_defaults, source_choices
from governance.models import EntryDefault, ReviewEvent, Source
from towns.imports import IndicatorValueResource
from towns.models import GroupOrigin, Indicator, IndicatorValue, Influence, InfluenceGroup, Town

pytestmark = pytest.mark.django_db


def test_entry_defaults_fall_back_to_the_models_own():
    assert entry_defaults(Influence) == {"access_level": "restricted", "state": "draft"}
    EntryDefault.objects.create(model="towns.influence", access_level="public", state="in_review")
    assert entry_defaults(Influence) == {"access_level": "public", "state": "in_review"}


def test_an_entry_default_is_never_published():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        EntryDefault(model="towns.influence", state="published").full_clean()


def test_add_form_starts_from_the_team_default_and_says_who_sees_each_level(reviewer_persona):
    EntryDefault.objects.create(model="towns.influence", access_level="partner")
    response = reviewer_persona.client.get(reverse("admin:towns_influence_add"))
    form = response.context["adminform"].form
    assert form.initial["access_level"] == "partner"
    labels = dict(form.fields["access_level"].choices)
    assert labels["public"] == "Public: everyone on the web"
    assert labels["partner"] == "Partner: signed-in donors and partner tools"
    assert labels["restricted"] == "Restricted: the research team only"
    assert "Who will see it once published" in form.fields["access_level"].help_text


def test_a_researchers_new_record_gets_the_team_default(researcher_persona):
    EntryDefault.objects.create(model="towns.influencegroup", access_level="public")
    response = researcher_persona.client.post(
        reverse("admin:towns_influencegroup_add"),
        {
            "name_en": "Entry test group",
            "kind": "clan_family",
            "origin": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, [
        response.context["adminform"].form.errors,
        list(response.context["errors"]),
    ]
    group = InfluenceGroup.objects.get(name_en="Entry test group")
    assert group.access_level == AccessLevel.PUBLIC
    assert group.origin == GroupOrigin.OUR_OWN  # the kind decided it


def test_a_groups_kind_sets_its_origin_and_other_needs_one():
    group = InfluenceGroup(name_en="G", kind="superior_state", origin="")
    group.full_clean()
    assert group.origin == GroupOrigin.ALIEN
    group = InfluenceGroup(name_en="G", kind="other", origin="")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        group.full_clean()
    assert "origin" in error.value.message_dict


def test_indicator_picker_shows_system_unit_and_standard(researcher_persona):
    indicator = Indicator.objects.exclude(standard=None).first()
    response = researcher_persona.client.get(reverse("admin:towns_indicatorvalue_add"))
    labels = dict(response.context["adminform"].form.fields["indicator"].choices)
    label = labels[indicator.pk]
    assert label.startswith(f"System {indicator.system} · ")
    assert indicator.unit in label
    assert "standard" in label


def test_demo_sources_are_not_offered_once_real_ones_exist():
    Source.objects.filter(is_synthetic=False).update(is_synthetic=True)
    offered = dict(source_choices())
    assert offered and all(label.startswith("[demo]") for label in offered.values())
    real = Source.objects.create(kind="document", citation="A real decision")
    offered = dict(source_choices())
    assert offered == {str(real.pk): "A real decision"}


def test_review_events_show_kinds_and_states_in_words(reviewer_persona):
    influence = Influence.objects.first()
    ReviewEvent.objects.create(
        action="submit",
        model="csos.cooperationcase",
        object_id=str(influence.pk),
        object_repr="x",
        from_state="draft",
        to_state="in_review",
    )
    page = reviewer_persona.client.get(reverse("admin:governance_reviewevent_changelist"))
    text = page.content.decode()
    assert "cooperation case" in text
    assert "Draft → In review" in text
    assert "csos.cooperationcase</td>" not in text


def test_bulk_actions_set_access_level_and_source(reviewer_persona, researcher_persona):
    source = Source.objects.create(kind="document", citation="Bulk source")
    groups = [
        InfluenceGroup.objects.create(name_en=f"Bulk {n}", kind="clan_family") for n in range(3)
    ]
    url = reverse("admin:towns_influencegroup_changelist")
    data = {"_selected_action": [str(g.pk) for g in groups], "index": "0"}
    reviewer_persona.client.post(
        url, {**data, "action": "set_access_level", "access_level": "partner"}
    )
    reviewer_persona.client.post(url, {**data, "action": "cite_source", "source": str(source.pk)})
    for group in groups:
        group.refresh_from_db()
        assert group.access_level == "partner"
        assert list(group.sources.all()) == [source]
    # Researchers cite sources but do not decide who sees a record.
    response = researcher_persona.client.get(url)
    actions = dict(response.context["action_form"].fields["action"].choices)
    assert "cite_source" in actions and "set_access_level" not in actions


def test_a_real_value_replaces_a_synthetic_one_in_the_admin(researcher_persona):
    synthetic = (
        IndicatorValue.objects.filter(
            is_synthetic=True, quarter=0, state=PublicationState.DRAFT
        ).first()
        or IndicatorValue.objects.filter(is_synthetic=True, quarter=0).first()
    )
    response = researcher_persona.client.post(
        reverse("admin:towns_indicatorvalue_add"),
        {
            "town": str(synthetic.town_id),
            "indicator": str(synthetic.indicator_id),
            "year": str(synthetic.year),
            "quarter": "0",
            "value": "4242",
            "confidence": "medium",
        },
        follow=True,
    )
    texts = [str(m) for m in response.context["messages"]]
    assert any("synthetic" in t and "4242" in t for t in texts), texts
    assert (
        IndicatorValue.objects.filter(
            town=synthetic.town_id, indicator=synthetic.indicator_id, year=synthetic.year, quarter=0
        ).count()
        == 1
    )


def value_file(*rows, headers):
    return tablib.Dataset(*rows, headers=headers)


def test_import_takes_a_source_by_citation_or_slug(researcher_user):
    source = Source.objects.create(kind="statistics", citation="Belstat regional yearbook 2024")
    town = Town.objects.order_by("pk").first()
    codes = list(Indicator.objects.order_by("code").values_list("code", flat=True)[:2])
    headers = ["town", "indicator", "year", "quarter", "value", "source"]
    dataset = value_file(
        [town.slug, codes[0], "2025", "0", "1.5", "belstat regional yearbook 2024"],
        [town.slug, codes[1], "2025", "0", "2.5", "belstat-regional-yearbook-2024"],
        headers=headers,
    )
    result = IndicatorValueResource().import_data(dataset, dry_run=False, user=researcher_user)
    assert not result.has_errors() and not result.has_validation_errors()
    values = IndicatorValue.objects.filter(town=town, year=2025)
    assert {v.source_id for v in values} == {source.pk}
    bad = value_file([town.slug, codes[0], "2026", "0", "1.5", "no such source"], headers=headers)
    result = IndicatorValueResource().import_data(bad, dry_run=True, user=researcher_user)
    assert result.has_validation_errors()


def test_import_honours_the_access_level_column_by_the_reviewers_rule(
    researcher_persona, reviewer_persona
):
    town = Town.objects.order_by("pk").first()
    code = Indicator.objects.order_by("code").values_list("code", flat=True).first()
    headers = ["town", "indicator", "year", "quarter", "value", "access_level"]
    dataset = value_file([town.slug, code, "2027", "0", "3", "public"], headers=headers)
    refused = IndicatorValueResource().import_data(
        dataset, dry_run=True, user=researcher_persona.user
    )
    assert refused.has_validation_errors()
    message = " ".join(refused.invalid_rows[0].error_dict["access_level"])
    assert "Only reviewers set access levels" in message
    accepted = IndicatorValueResource().import_data(
        dataset, dry_run=False, user=reviewer_persona.user
    )
    assert not accepted.has_validation_errors()
    value = IndicatorValue.objects.get(town=town, indicator__code=code, year=2027)
    assert value.access_level == AccessLevel.PUBLIC
    assert value.state == PublicationState.DRAFT


def test_import_new_rows_get_the_team_default(researcher_persona):
    EntryDefault.objects.create(model="towns.indicatorvalue", access_level="partner")
    town = Town.objects.order_by("pk").first()
    code = Indicator.objects.order_by("code").values_list("code", flat=True).first()
    dataset = value_file(
        [town.slug, code, "2028", "0", "3"],
        headers=["town", "indicator", "year", "quarter", "value"],
    )
    IndicatorValueResource().import_data(dataset, dry_run=False, user=researcher_persona.user)
    value = IndicatorValue.objects.get(town=town, indicator__code=code, year=2028)
    assert value.access_level == AccessLevel.PARTNER


def test_import_of_a_real_value_replaces_the_synthetic_one(researcher_persona):
    synthetic = IndicatorValue.objects.filter(
        is_synthetic=True, quarter=0, state=PublicationState.DRAFT
    ).first()
    if synthetic is None:
        synthetic = IndicatorValue.objects.filter(is_synthetic=True, quarter=0).first()
        IndicatorValue.objects.filter(pk=synthetic.pk).update(state=PublicationState.DRAFT)
    dataset = value_file(
        [synthetic.town.slug, synthetic.indicator.code, str(synthetic.year), "0", "777"],
        headers=["town", "indicator", "year", "quarter", "value"],
    )
    result = IndicatorValueResource().import_data(
        dataset, dry_run=False, user=researcher_persona.user
    )
    assert not result.has_errors() and not result.has_validation_errors(), [
        r.error_dict for r in result.invalid_rows
    ]
    replaced = IndicatorValue.objects.get(pk=synthetic.pk)
    assert replaced.value == Decimal("777") and not replaced.is_synthetic


def test_cso_import_takes_sources_and_the_team_default(researcher_persona):
    EntryDefault.objects.create(model="csos.cso", access_level="public")
    source = Source.objects.create(kind="media", citation="Local newspaper, 2024")
    town = Town.objects.order_by("pk").first()
    dataset = tablib.Dataset(
        [
            "entry-cso",
            "Entry CSO",
            "public_association",
            "independent",
            town.slug,
            "local-newspaper-2024",
        ],
        headers=["slug", "name_en", "legal_form", "character", "towns", "sources"],
    )
    result = CSOResource().import_data(dataset, dry_run=False, user=researcher_persona.user)
    assert not result.has_errors() and not result.has_validation_errors(), [
        r.error_dict for r in result.invalid_rows
    ]
    cso = CSO.objects.get(slug="entry-cso")
    assert cso.access_level == AccessLevel.PUBLIC
    assert list(cso.sources.all()) == [source]
