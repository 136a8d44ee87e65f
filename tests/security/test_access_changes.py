"""Who may widen access, and the side roads of issue 15: tokens per role, read-only access
fields, write responses, browsable forms, create errors, cache keys, ETags, CSP, imports."""

from __future__ import annotations

import os
import tempfile
import uuid

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory

from csos.models import CSO, Character, CSOLink, LegalForm, LinkKind
from governance.access import AccessLevel, PublicationState
from governance.models import ApiClient, ApiScope
from governance.tokens import token_issue
from governance.workflow import record_publish, record_submit
from towns.models import IndicatorValue, Person

pytestmark = pytest.mark.django_db

API = "/api/v1/"


def user_with(django_user_model, role: str | None, **extra):
    user = django_user_model.objects.create_user(
        username=f"ac-{role}-{uuid.uuid4().hex[:6]}", password="a-long-test-password-1", **extra
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def token_client(user, *scopes) -> Client:
    _client, key = token_issue(user=user, name=f"t-{uuid.uuid4().hex[:6]}", scopes=scopes)
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def partner_writer(django_user_model) -> Client:
    """A partner's token that may write any research record (data fields only)."""
    partner = user_with(django_user_model, "partner")
    return token_client(partner, ApiScope.READ_PARTNER, ApiScope.WRITE_RESEARCH)


def session_of(django_user_model, role: str) -> Client:
    client = Client()
    client.force_login(user_with(django_user_model, role, is_staff=role != "donor"))
    return client


def a_public_cso() -> CSO:
    return CSO.objects.visible_to(None).filter(contacts_access_level="restricted").first()


# --- Tokens: which role may hold which scope -------------------------------------------------


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        ("donor", ApiScope.WRITE_RESEARCH),
        ("donor", ApiScope.WRITE_INDICATORS),
        (None, ApiScope.READ_PARTNER),
        (None, ApiScope.WRITE_INDICATORS),
        ("partner", ApiScope.READ_RESTRICTED),
    ],
)
def test_a_token_is_never_issued_with_a_scope_the_role_may_not_hold(django_user_model, role, scope):
    user = user_with(django_user_model, role)
    with pytest.raises(ValidationError) as error:
        token_issue(user=user, name="t", scopes=[scope])
    assert "scopes" in error.value.message_dict
    assert not ApiClient.objects.filter(user=user).exists()


def test_a_donor_token_with_a_write_scope_from_before_writes_nothing(django_user_model):
    """A token issued before the rule (or a role taken away) grants only what the role may."""
    from knox.models import AuthToken

    donor = user_with(django_user_model, "donor")
    token, key = AuthToken.objects.create(user=donor)
    ApiClient.objects.create(
        user=donor,
        token=token,
        name="old",
        token_key=token.token_key,
        scopes=[ApiScope.READ_PARTNER, ApiScope.WRITE_RESEARCH],
    )
    cso = a_public_cso()
    response = Client(HTTP_AUTHORIZATION=f"Token {key}").patch(
        f"{API}csos/{cso.slug}/", {"description": "x"}, content_type="application/json"
    )
    assert response.status_code in (401, 403)


# --- Access levels and state: reviewers' and admins' only ------------------------------------


@pytest.mark.parametrize("who", ["partner-token", "researcher"])
def test_writers_cannot_widen_access_through_the_api(django_user_model, who):
    cso = a_public_cso()
    if who == "partner-token":
        client = partner_writer(django_user_model)
    else:
        client = session_of(django_user_model, "researcher")
    response = client.patch(
        f"{API}csos/{cso.slug}/",
        {"contacts_access_level": "partner", "leaders_access_level": "public"},
        content_type="application/json",
    )
    assert response.status_code < 500
    cso.refresh_from_db()
    assert cso.contacts_access_level == "restricted"
    if who == "partner-token" and cso.contacts:  # a researcher may read them, a partner not
        assert cso.contacts not in response.content.decode()


def test_a_reviewer_opens_access_through_the_api(django_user_model):
    cso = a_public_cso()
    client = session_of(django_user_model, "reviewer")
    response = client.patch(
        f"{API}csos/{cso.slug}/",
        {"contacts_access_level": "partner"},
        content_type="application/json",
    )
    assert response.status_code < 300, response.content
    cso.refresh_from_db()
    pending = getattr(cso, "contacts_access_level", None)
    # Applied at once, or (published record) waiting as the reviewer's own revision.
    from governance.models import Revision

    assert pending == "partner" or Revision.objects.filter(object_id=str(cso.pk)).exists()


@pytest.mark.parametrize(("role", "locked"), [("researcher", True), ("reviewer", False)])
def test_access_fields_are_read_only_in_the_admin_for_non_reviewers(
    django_user_model, role, locked
):
    user = user_with(django_user_model, role, is_staff=True)
    request = RequestFactory().get("/admin/csos/cso/")
    request.user = user
    fields = set(site._registry[CSO].get_readonly_fields(request, a_public_cso()))
    access = {"access_level", "contacts_access_level", "leaders_access_level", "state"}
    assert access <= fields if locked else not (access - {"state"}) & fields
    person_fields = set(site._registry[Person].get_readonly_fields(request, None))
    assert ("names_access_level" in person_fields) is locked


# --- What a writer gets back --------------------------------------------------------------------


def test_a_write_the_writer_cannot_see_answers_without_echo(django_user_model):
    client = partner_writer(django_user_model)
    secret = f"MKCONTACT{uuid.uuid4().hex[:8]}"
    response = client.post(
        f"{API}csos/",
        new_cso(f"ac-{uuid.uuid4().hex[:8]}", contacts=secret),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "detail"}
    assert secret not in response.content.decode()
    assert CSO.objects.get(pk=body["id"]).contacts == secret


def new_cso(slug: str, **extra) -> dict:
    return {
        "slug": slug,
        "name_en": "A new CSO",
        "legal_form": LegalForm.PUBLIC_ASSOCIATION,
        "character": Character.INDEPENDENT,
        **extra,
    }


def test_a_slug_taken_by_a_hidden_record_is_no_error(django_user_model):
    hidden = CSO.objects.exclude(pk__in=CSO.objects.visible_to(None)).first()
    client = partner_writer(django_user_model)
    response = client.post(
        f"{API}csos/",
        new_cso(hidden.slug),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert "exist" not in response.content.decode()
    created = CSO.objects.get(pk=response.json()["id"])
    assert created.slug != hidden.slug and created.slug.startswith(hidden.slug[:60])


def test_a_slug_taken_by_a_visible_record_is_refused(django_user_model):
    visible = a_public_cso()
    client = partner_writer(django_user_model)
    response = client.post(
        f"{API}csos/",
        new_cso(visible.slug),
        content_type="application/json",
    )
    assert response.status_code == 422  # well-formed, refused by the data (issue 18)


# --- A key held by a hidden record: no error, no name; the reviewer meets it -----------------


def hidden_value_and_payload(writes_without_review) -> tuple[IndicatorValue, dict]:
    """A restricted published value (invisible to partners) and an API payload for the same
    town, indicator and period."""
    base = IndicatorValue.objects.visible_to(None).select_related("town", "indicator").first()
    hidden = IndicatorValue.objects.create(
        town=base.town,
        indicator=base.indicator,
        year=1991,
        quarter=0,
        value=1,
        source=base.source,
        confidence=base.confidence,
        state=PublicationState.PUBLISHED,
        access_level=AccessLevel.RESTRICTED,
    )
    payload = {
        "town": base.town.slug,
        "indicator": base.indicator.code,
        "year": 1991,
        "quarter": 0,
        "value": "2.5",
        "source": base.source_id,
        "confidence": base.confidence,
    }
    return hidden, payload


def test_a_value_whose_period_a_hidden_value_holds_is_created_as_a_draft(
    django_user_model, writes_without_review
):
    """The answer is the one any new value gets (201): no "already has a value", so the writer
    learns nothing of the restricted value. The reviewer who would publish the second value
    for the period is told, as a validation error (never a database error)."""
    hidden, payload = hidden_value_and_payload(writes_without_review)
    client = partner_writer(django_user_model)
    response = client.post(f"{API}indicator-values/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    assert "already" not in response.content.decode()
    created = IndicatorValue.objects.get(pk=response.json()["id"])
    assert created.state == PublicationState.DRAFT and created.pk != hidden.pk

    reviewer = django_user_model.objects.create_superuser(
        username=f"rev-{uuid.uuid4().hex[:6]}", password="a-long-test-password-1"
    )
    record_submit(record=created, actor=reviewer)
    with pytest.raises(ValidationError) as refused:
        record_publish(record=created, actor=reviewer)
    assert "already has a value of this indicator for this period" in str(refused.value)
    assert IndicatorValue.objects.get(pk=created.pk).state == PublicationState.IN_REVIEW


def test_a_value_whose_period_a_visible_value_holds_is_refused_with_the_reason(
    django_user_model, writes_without_review
):
    hidden, payload = hidden_value_and_payload(writes_without_review)
    IndicatorValue.objects.filter(pk=hidden.pk).update(access_level=AccessLevel.PUBLIC)
    client = partner_writer(django_user_model)
    response = client.post(f"{API}indicator-values/", payload, content_type="application/json")
    assert response.status_code == 422, response.content
    assert "already has a value of this indicator for this period" in response.content.decode()


def test_a_link_a_hidden_link_duplicates_is_no_error_and_names_nothing(
    django_user_model, writes_without_review
):
    """Before: 400 "These CSOs already have a link of this kind (<both CSOs' names>)" about a
    link the partner may not see."""
    csos = list(CSO.objects.visible_to(None).order_by("slug")[:10])
    a, b = next(
        (a, b)
        for a in csos
        for b in csos
        if a != b
        and not CSOLink.objects.filter(source_cso__in=[a, b], target_cso__in=[a, b]).exists()
    )
    hidden = CSOLink.objects.create(
        source_cso=a,
        target_cso=b,
        kind=LinkKind.PARTNERSHIP,
        confidence="medium",
        state=PublicationState.DRAFT,
        access_level=AccessLevel.RESTRICTED,
    )
    client = partner_writer(django_user_model)
    # The mirrored pair: a partnership has no direction, so b -> a repeats the hidden a -> b.
    payload = {"source_cso": b.slug, "target_cso": a.slug, "kind": LinkKind.PARTNERSHIP}
    payload["confidence"] = "medium"
    response = client.post(f"{API}cso-links/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    assert "already" not in response.content.decode() and a.name_en not in response.content.decode()
    assert CSOLink.objects.filter(pk=hidden.pk).exists()


@pytest.mark.parametrize("who", ["partner-token", "donor"])
def test_the_browsable_api_draws_no_form_below_research_level(django_user_model, who):
    cso = a_public_cso()
    if who == "partner-token":
        client = partner_writer(django_user_model)
    else:
        client = session_of(django_user_model, "donor")
    page = client.get(f"{API}csos/{cso.slug}/?format=api").content.decode()
    assert 'name="_content"' not in page and "raw-data-form" not in page
    if cso.contacts:
        assert cso.contacts not in page


def test_the_browsable_api_draws_forms_for_research(django_user_model):
    cso = a_public_cso()
    client = session_of(django_user_model, "researcher")
    page = client.get(f"{API}csos/{cso.slug}/?format=api").content.decode()
    assert 'name="_content"' in page


# --- Cache keys, ETags, CSP, imports --------------------------------------------------------


def test_no_cached_answer_for_a_host_not_allowed(settings):
    settings.ALLOWED_HOSTS = ["testserver", "atlas.example.org"]
    url = f"{API}regions/"
    assert Client().get(url).status_code == 200
    assert Client().get(url).status_code == 200  # now cached
    assert Client().get(url, HTTP_HOST="evil.example").status_code == 400


def test_cached_answers_keep_their_host_and_scheme(settings):
    settings.ALLOWED_HOSTS = ["testserver", "atlas.example.org"]
    url = f"{API}towns/?page_size=1&page=1"
    Client().get(url)
    other = Client().get(url, HTTP_HOST="atlas.example.org").json()
    assert other["next"].startswith("http://atlas.example.org/")
    secure = Client().get(url, HTTP_HOST="atlas.example.org", secure=True).json()
    assert secure["next"].startswith("https://atlas.example.org/")


def test_the_data_package_etag_ignores_writes_to_hidden_records():
    from django.core.cache import cache

    cache.clear()
    first = Client().get(f"{API}export/datapackage.zip")["ETag"]
    Person.objects.create(name_en="Hidden", access_level="restricted", state="draft")
    assert Client().get(f"{API}export/datapackage.zip")["ETag"] == first


@pytest.mark.parametrize("path", ["/", "/csos/", "/typology/"])
def test_public_pages_allow_no_inline_style(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    style = next(d for d in policy.split(";") if d.strip().startswith("style-src"))
    assert "'unsafe-inline'" not in style


def test_the_admin_keeps_inline_styles_for_its_widgets(admin_client_logged):
    policy = admin_client_logged.get("/admin/")["Content-Security-Policy"]
    style = next(d for d in policy.split(";") if d.strip().startswith("style-src"))
    assert "'unsafe-inline'" in style


def test_the_import_takes_only_a_file_this_session_uploaded(admin_client_logged):
    """A temporary file of someone else's upload is neither imported nor deleted."""
    folder = tempfile.gettempdir()
    name = f"atlas-foreign-{uuid.uuid4().hex}"
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write("town,indicator,year,quarter,value\nolshany,population,2031,0,1\n")
    before = IndicatorValue.objects.count()
    try:
        response = admin_client_logged.post(
            "/admin/towns/indicatorvalue/process_import/",
            {
                "import_file_name": name,
                "original_file_name": "values.csv",
                "format": "0",
                "resource": "0",
            },
        )
        assert response.status_code == 302
        assert os.path.exists(path)
        assert IndicatorValue.objects.count() == before
    finally:
        if os.path.exists(path):
            os.remove(path)
