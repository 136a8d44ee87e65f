"""The CSO workspace: every page renders with a bounded number of queries, search finds any
spelling, filters work, and status changes and links obey the services' rules."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from csos.models import (
    CSO,
    CapacityScore,
    Character,
    CooperationCase,
    CSOLeadership,
    CSOLink,
    CSOStatus,
    CulturalAsset,
    FieldOfActivity,
    LegalForm,
    LinkKind,
)
from governance.models import Source
from towns.models import Person, Town

pytestmark = pytest.mark.django_db

CSOEvent = CSO.pgh_event_model

ADMIN_MODELS = [
    (FieldOfActivity, "field"),
    (CSO, "cso"),
    (CSOLink, "link"),
    (CooperationCase, "case"),
    (CulturalAsset, "asset"),
    (CapacityScore, "score"),
    (CSOLeadership, "leadership"),
]
MODEL_IDS = [model._meta.model_name for model, _ in ADMIN_MODELS]
MAX_CHANGELIST_QUERIES = 25
MAX_CHANGE_PAGE_QUERIES = 60


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(queries), response


def add_records(tag: str, town: Town) -> SimpleNamespace:
    """A CSO with one record of every related model, named with ``tag`` (fictional)."""
    source = Source.objects.create(
        kind=Source.Kind.DOCUMENT, citation=f"H5 test document {tag}", is_synthetic=True
    )
    field = FieldOfActivity.objects.create(code=f"h5-field-{tag}", name_en=f"H5 field {tag}")
    cso = CSO.objects.create(
        slug=f"h5-cso-{tag}",
        name_en=f"H5 Test Association {tag}",
        name_ru=f"Тестовая ассоциация {tag}",
        legal_form=LegalForm.PUBLIC_ASSOCIATION,
        character=Character.INDEPENDENT,
        is_synthetic=True,
    )
    cso.towns.set([town, Town.objects.get(slug="olshany")])
    cso.fields_of_activity.set([field, *FieldOfActivity.objects.filter(code="youth")])
    cso.sources.set([source])
    partner = CSO.objects.create(
        slug=f"h5-partner-{tag}",
        name_en=f"H5 Partner {tag}",
        legal_form=LegalForm.NONE,
        status=CSOStatus.INFORMAL,
        character=Character.CHURCH,
        is_synthetic=True,
    )
    partner.towns.set([town])
    link = CSOLink.objects.create(source_cso=cso, target_cso=partner, kind=LinkKind.PARTNERSHIP)
    link.sources.set([source])
    person = Person.objects.create(name_en=f"Fictional Leader {tag}", is_synthetic=True)
    leadership = CSOLeadership.objects.create(cso=cso, person=person, is_synthetic=True)
    leadership.sources.set([source])
    score = CapacityScore.objects.create(
        cso=cso, dimension="advocacy", year=2023, score=4, source=source
    )
    case = CooperationCase.objects.create(
        town=town,
        la_body="District executive committee",
        start_year=2020,
        subject=f"H5 test case {tag}",
        strategy=3,
        outcome="ongoing",
        is_synthetic=True,
    )
    case.csos.set([cso, partner])
    case.sources.set([source])
    asset = CulturalAsset.objects.create(
        town=town, kind="tradition", name_en=f"H5 tradition {tag}", is_synthetic=True
    )
    asset.sources.set([source])
    return SimpleNamespace(
        field=field,
        cso=cso,
        partner=partner,
        link=link,
        leadership=leadership,
        score=score,
        case=case,
        asset=asset,
        source=source,
        town=town,
    )


@pytest.fixture
def postavy():
    return Town.objects.get(geonames_id=623760)


@pytest.fixture
def world(postavy):
    return add_records("main", postavy)


# --- Every page renders, lists without N+1 ---------------------------------------------------


@pytest.mark.parametrize(("model", "attr"), ADMIN_MODELS, ids=MODEL_IDS)
def test_changelist_queries_do_not_grow_with_rows(
    admin_client_logged, world, model, attr, django_assert_max_num_queries
):
    url = admin_url(model, "changelist")
    admin_client_logged.get(url)  # warm caches (content types, session)
    few, response = count_queries(admin_client_logged, url)
    assert response.context["cl"].result_count >= 1
    towns = Town.objects.exclude(pk=world.town.pk).order_by("pk")
    for n in range(6):
        add_records(f"more{n}", towns[n])
    many, response = count_queries(admin_client_logged, url)
    assert many == few, f"{model.__name__}: {few} queries for a few rows, {many} for more"
    with django_assert_max_num_queries(MAX_CHANGELIST_QUERIES):
        admin_client_logged.get(url)


@pytest.mark.parametrize(("model", "attr"), ADMIN_MODELS, ids=MODEL_IDS)
def test_add_page_renders(admin_client_logged, world, model, attr, django_assert_max_num_queries):
    with django_assert_max_num_queries(MAX_CHANGE_PAGE_QUERIES):
        response = admin_client_logged.get(admin_url(model, "add"))
    assert response.status_code == 200
    assert response.context["adminform"].form is not None


@pytest.mark.parametrize(("model", "attr"), ADMIN_MODELS, ids=MODEL_IDS)
def test_change_page_renders(
    admin_client_logged, world, model, attr, django_assert_max_num_queries
):
    record = getattr(world, attr)
    with django_assert_max_num_queries(MAX_CHANGE_PAGE_QUERIES):
        response = admin_client_logged.get(admin_url(model, "change", record.pk))
    assert response.status_code == 200
    assert response.context["original"] == record


def test_cso_page_queries_do_not_grow_with_its_inline_rows(admin_client_logged, world):
    url = admin_url(CSO, "change", world.cso.pk)
    admin_client_logged.get(url)
    few, _ = count_queries(admin_client_logged, url)
    for n in range(5):
        other = CSO.objects.create(
            slug=f"h5-extra-{n}",
            name_en=f"H5 extra {n}",
            legal_form=LegalForm.OTHER,
            character=Character.OTHER,
        )
        link = CSOLink.objects.create(source_cso=world.cso, target_cso=other, kind="funding")
        link.sources.set([world.source])
        person = Person.objects.create(name_en=f"Fictional Leader extra {n}", is_synthetic=True)
        leadership = CSOLeadership.objects.create(cso=world.cso, person=person)
        leadership.sources.set([world.source])
        CapacityScore.objects.create(
            cso=world.cso, dimension="advocacy", year=2010 + n, score=3, source=world.source
        )
    many, response = count_queries(admin_client_logged, url)
    assert many == few, f"{few} queries with one row per inline, {many} with six"
    assert len(response.context["inline_admin_formsets"]) == 3


def test_cso_page_shows_incoming_links_cases_and_the_town_network(admin_client_logged, world):
    response = admin_client_logged.get(admin_url(CSO, "change", world.partner.pk))
    body = response.content.decode()
    assert "H5 Test Association main" in body  # the incoming link
    assert "H5 test case main" in body
    assert "Network of its towns" in body
    assert "components, brokers:" in body


# --- Search and filters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("brsm lepel", {"brsm-lepel"}),
        ("БРСМ Лепельская", {"brsm-lepel"}),
        ("Лепельская", {"brsm-lepel", "veterans-lepel"}),
        ("women's union glubokoe", {"womens-union-glubokoe"}),
    ],
)
def test_cso_search_finds_any_spelling_and_needs_every_word(admin_client_logged, query, expected):
    response = admin_client_logged.get(admin_url(CSO, "changelist"), {"q": query})
    found = {cso.slug for cso in response.context["cl"].result_list}
    assert found == expected


def test_cso_search_finds_the_cyrillic_name_by_its_latin_transliteration(
    admin_client_logged, world
):
    response = admin_client_logged.get(admin_url(CSO, "changelist"), {"q": "testovaya"})
    assert [c.slug for c in response.context["cl"].result_list] == ["h5-cso-main"]


def test_link_search_finds_either_end(admin_client_logged, world):
    response = admin_client_logged.get(admin_url(CSOLink, "changelist"), {"q": "h5 partner"})
    assert list(response.context["cl"].result_list) == [world.link]


def test_cso_autocomplete_searches_names(admin_client_logged):
    response = admin_client_logged.get(
        reverse("admin:autocomplete"),
        {
            "term": "брсм",
            "app_label": "csos",
            "model_name": "csolink",
            "field_name": "target_cso",
        },
    )
    assert response.status_code == 200
    names = [item["text"] for item in response.json()["results"]]
    assert names and all("BRSM" in name for name in names)


def cso_filters(postavy):
    environment = FieldOfActivity.objects.get(code="environment")
    return [
        ({"status__exact": "liquidated"}, lambda c: c.status == "liquidated"),
        ({"character__exact": "gongo"}, lambda c: c.character == "gongo"),
        (
            {"fields_of_activity__id__exact": str(environment.pk)},
            lambda c: environment in c.fields_of_activity.all(),
        ),
        (
            {"towns__region__id__exact": str(postavy.region_id)},
            lambda c: c.towns.filter(region=postavy.region_id).exists(),
        ),
        ({"towns__id__exact": str(postavy.pk)}, lambda c: postavy in c.towns.all()),
    ]


def test_cso_filters_by_status_character_field_region_and_town(admin_client_logged, postavy):
    for params, check in cso_filters(postavy):
        response = admin_client_logged.get(admin_url(CSO, "changelist"), params)
        assert response.status_code == 200, params
        results = list(response.context["cl"].result_list)
        assert results, params
        assert all(check(c) for c in results), params


# --- Writes obey the services ----------------------------------------------------------------


def form_data(response) -> dict:
    """The POST a browser would send back for an admin change page, inlines included."""
    data = {}

    def add(form):
        for name in form.fields:
            bound = form[name]
            value = bound.value()
            if value is None or value is False:
                continue
            if value is True:
                data[bound.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[bound.html_name] = [str(v) for v in value]
            else:
                data[bound.html_name] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def test_a_forbidden_status_change_in_the_form_is_a_field_error_and_writes_nothing(
    admin_client_logged, world
):
    url = admin_url(CSO, "change", world.partner.pk)  # informal
    data = form_data(admin_client_logged.get(url))
    data.update(
        {
            "status": "liquidated",
            "liquidation_date": "2021-09-01",
            "liquidation_grounds": "Court.",
            "name_en": "Renamed",
            "_save": "Save",
        }
    )
    events = CSOEvent.objects.filter(pgh_obj_id=world.partner.pk).count()
    response = admin_client_logged.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "no legal entity" in " ".join(errors["status"])
    partner = CSO.objects.get(pk=world.partner.pk)
    assert (partner.status, partner.name_en) == (CSOStatus.INFORMAL, "H5 Partner main")
    assert CSOEvent.objects.filter(pgh_obj_id=world.partner.pk).count() == events


def test_liquidating_in_the_form_goes_through_the_service_and_is_audited(
    admin_client_logged, world, researcher_user
):
    url = admin_url(CSO, "change", world.cso.pk)
    data = form_data(admin_client_logged.get(url))
    data.update(
        {
            "status": "liquidated",
            "liquidation_date": "2021-09-01",
            "liquidation_grounds": "Forced liquidation (test).",
            "_save": "Save",
        }
    )
    response = admin_client_logged.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    cso = CSO.objects.get(pk=world.cso.pk)
    assert (cso.status, cso.liquidation_date) == (CSOStatus.LIQUIDATED, dt.date(2021, 9, 1))
    event = CSOEvent.objects.filter(pgh_obj_id=cso.pk).latest("pgh_id")
    assert event.pgh_context.metadata["via"] == "admin"
    assert event.pgh_context.metadata["user"] == researcher_user.pk
    assert event.pgh_context.metadata["status_change"] == "registered -> liquidated"
    # The links, leaders and cases stay.
    assert cso.links_out.count() == 1 and cso.leaderships.count() == 1
    assert cso.cooperation_cases.count() == 1


def test_status_actions_apply_allowed_moves_and_report_refusals(admin_client_logged, world):
    response = admin_client_logged.post(
        admin_url(CSO, "changelist"),
        {
            "action": "mark_registered",
            "_selected_action": [str(world.cso.pk), str(world.partner.pk)],
        },
        follow=True,
    )
    texts = [str(m) for m in response.context["messages"]]
    assert any("1 CSO is now registered" in t for t in texts), texts
    assert any("already registered" in t for t in texts), texts
    assert CSO.objects.get(pk=world.partner.pk).status == CSOStatus.REGISTERED
    event = CSOEvent.objects.filter(pgh_obj_id=world.partner.pk).latest("pgh_id")
    assert event.pgh_context.metadata["via"] == "admin"


def test_a_self_link_in_the_inline_is_refused_and_nothing_is_saved(admin_client_logged, world):
    url = admin_url(CSO, "change", world.cso.pk)
    data = form_data(admin_client_logged.get(url))
    total = int(data["links_out-TOTAL_FORMS"])
    data.update(
        {
            "links_out-TOTAL_FORMS": str(total + 1),
            f"links_out-{total}-target_cso": str(world.cso.pk),
            f"links_out-{total}-kind": "informal",
            f"links_out-{total}-confidence": "medium",
            f"links_out-{total}-state": "draft",
            f"links_out-{total}-access_level": "restricted",
            "name_en": "Should not be saved",
            "_save": "Save",
        }
    )
    links = CSOLink.objects.count()
    response = admin_client_logged.post(url, data)
    assert response.status_code == 200
    main_errors = " ".join(response.context["adminform"].form.non_field_errors())
    assert "Nothing was saved" in main_errors
    assert "two different CSOs" in main_errors
    assert CSOLink.objects.count() == links
    assert CSO.objects.get(pk=world.cso.pk).name_en == "H5 Test Association main"


def test_a_duplicate_link_in_the_link_admin_is_a_form_error(admin_client_logged, world):
    response = admin_client_logged.post(
        admin_url(CSOLink, "add"),
        {
            "source_cso": str(world.partner.pk),
            "target_cso": str(world.cso.pk),
            "kind": "partnership",
            "confidence": "medium",
            "state": "draft",
            "access_level": "restricted",
            "_save": "Save",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "already have a link of this kind" in " ".join(errors["target_cso"])
    assert CSOLink.objects.filter(source_cso=world.partner).count() == 0


def test_import_and_export_are_offered_on_csos_and_links(admin_client_logged):
    for model in (CSO, CSOLink):
        assert admin_client_logged.get(admin_url(model, "import")).status_code == 200
        response = admin_client_logged.post(admin_url(model, "export"), {"format": "0"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
