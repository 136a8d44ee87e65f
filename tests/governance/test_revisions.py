"""Review of changes (governance.revisions): no write path publishes a change without a reviewer.

Every write path (admin change, inline row, delete, bulk action, API PATCH/PUT/DELETE with a
partner write token, the API bulk upload, an import, a workflow step) is tried on a record the
public sees; the anonymous API and pages show the old value until a reviewer approves, and the
new one after.
"""

from __future__ import annotations

import re

import pytest
import tablib
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from governance import revisions
from governance.access import PublicationState
from governance.models import ReviewEvent, Revision, Source
from governance.tokens import token_issue
from governance.workflow import record_restore_deleted, record_soft_delete, record_unpublish
from tests.towns.test_admin import form_data
from towns.imports import TownFactsResource
from towns.models import IndicatorValue, Post, Town
from towns.services import research_record_save

pytestmark = pytest.mark.django_db

API = "/api/v1/"


def make_user(django_user_model, username: str, role: str):
    user = django_user_model.objects.create_user(
        username=username,
        password="a-long-test-password-1",
        is_staff=role in {"researcher", "reviewer"},
    )
    user.groups.add(Group.objects.get(name=role))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def researcher(django_user_model):
    return make_user(django_user_model, "rv-researcher", "researcher")


@pytest.fixture
def reviewer(django_user_model):
    return make_user(django_user_model, "rv-reviewer", "reviewer")


@pytest.fixture
def second_reviewer(django_user_model):
    return make_user(django_user_model, "rv-reviewer-2", "reviewer")


def logged(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def partner_writer(django_user_model):
    user = make_user(django_user_model, "rv-partner", "partner")
    _client, key = token_issue(user=user, name="rv", scopes=["read:partner", "write:indicators"])
    return user, Client(HTTP_AUTHORIZATION=f"Token {key}")


def public_value() -> IndicatorValue:
    return (
        IndicatorValue.objects.visible_to(None).filter(source__isnull=False).order_by("pk").first()
    )


def anonymous_api(path: str):
    return Client().get(f"{API}{path}", HTTP_ACCEPT="application/json")


def anonymous_value(value: IndicatorValue):
    response = anonymous_api(f"indicator-values/{value.pk}/")
    return float(response.json()["value"]) if response.status_code == 200 else response.status_code


def page_shows_number(town: Town, number: int) -> bool:
    from governance.cache import clear

    clear()
    html = Client().get(town.get_absolute_url()).content.decode()
    digits = re.sub(r"[\s,\u00a0\u202f.]", "", html)
    return str(number) in digits


def only_pending(record) -> Revision:
    pending = list(revisions.revisions_for_record(record).filter(status="pending"))
    assert len(pending) == 1, pending
    return pending[0]


# --- The service -----------------------------------------------------------------------------


def test_a_change_to_a_published_record_waits_and_approval_applies_it(researcher, reviewer):
    value = public_value()
    before, version = value.value, value.version
    value.value = before + 17
    research_record_save(instance=value, actor=researcher, via="test")
    stored = IndicatorValue.objects.get(pk=value.pk)
    assert (stored.value, stored.version) == (before, version)
    assert anonymous_value(value) == pytest.approx(float(before))
    revision = only_pending(value)
    assert float(revision.changes["value"]["old"]) == pytest.approx(float(before))
    assert revision.author == researcher and revision.towns == [value.town_id]
    assert revision in revisions.pending_revisions(town=value.town)
    assert revision in revisions.pending_revisions(user=researcher)
    assert revisions.record_town(value) == value.town
    rows = revisions.diff_rows(revision)
    assert [(r["label"], r["moved"]) for r in rows] == [("Value", False)]

    with pytest.raises(PermissionDenied):
        revisions.approve(revision, by=researcher)
    revisions.approve(revision, by=reviewer)
    stored.refresh_from_db()
    assert stored.value == before + 17 and stored.version == version + 1
    assert anonymous_value(value) == pytest.approx(float(before + 17))
    revision.refresh_from_db()
    assert revision.status == "approved" and revision.reviewer == reviewer
    event = ReviewEvent.objects.filter(action="approve", object_id=str(value.pk)).get()
    assert event.actor == reviewer and "Value" in event.comment


def test_drafts_are_written_directly(researcher):
    source = Source.objects.create(kind="document", citation="rv draft", state="draft")
    source.citation = "rv draft, corrected"
    research_record_save(instance=source, actor=researcher)
    assert Source.objects.get(pk=source.pk).citation == "rv draft, corrected"
    assert not revisions.revisions_for_record(source).exists()


def test_a_further_edit_merges_into_the_authors_pending_revision(researcher):
    value = public_value()
    value.value += 1
    research_record_save(instance=value, actor=researcher)
    again = IndicatorValue.objects.get(pk=value.pk)
    again.note = "rv note"
    research_record_save(instance=again, actor=researcher)
    revision = only_pending(value)
    assert set(revision.changes) == {"value", "note"}


def test_send_back_needs_a_comment_and_the_author_sees_it(researcher, reviewer):
    value = public_value()
    value.value += 3
    research_record_save(instance=value, actor=researcher)
    revision = only_pending(value)
    with pytest.raises(ValidationError):
        revisions.send_back(revision, by=reviewer, comment="  ")
    revisions.send_back(revision, by=reviewer, comment="Which source says so?")
    revision.refresh_from_db()
    assert revision.status == "sent_back" and revision.comment == "Which source says so?"
    with pytest.raises(ValidationError):
        revisions.approve(revision, by=reviewer)
    page = logged(researcher).get(reverse("admin:towns_indicatorvalue_change", args=[value.pk]))
    assert "Which source says so?" in page.content.decode()
    detail = logged(researcher).get(reverse("admin:governance_revision_change", args=[revision.pk]))
    assert "Which source says so?" in detail.content.decode()


def test_approval_refuses_a_change_overtaken_by_another(researcher, reviewer, second_reviewer):
    value = public_value()
    first = IndicatorValue.objects.get(pk=value.pk)
    first.value += 5
    research_record_save(instance=first, actor=researcher)
    other = IndicatorValue.objects.get(pk=value.pk)
    other.value += 9
    research_record_save(instance=other, actor=second_reviewer)
    revisions.approve(only_pending_by(value, second_reviewer), by=reviewer)
    with pytest.raises(ValidationError, match="another change was approved"):
        revisions.approve(only_pending_by(value, researcher), by=reviewer)
    assert IndicatorValue.objects.get(pk=value.pk).value == value.value + 9


def only_pending_by(record, user) -> Revision:
    return revisions.revisions_for_record(record).get(status="pending", author=user)


def test_a_reviewers_own_edit_is_a_revision_too(reviewer):
    value = public_value()
    value.value += 2
    research_record_save(instance=value, actor=reviewer)
    assert IndicatorValue.objects.get(pk=value.pk).value == value.value - 2
    result = revisions.approve_all(revisions.pending_revisions(user=reviewer), by=reviewer)
    assert result == {"approved": 1, "refused": 0, "errors": []}
    assert IndicatorValue.objects.get(pk=value.pk).value == value.value


def test_unpublish_is_direct_but_delete_and_restore_wait(researcher, reviewer):
    value = public_value()
    record_soft_delete(record=value, actor=researcher)
    assert IndicatorValue.objects.get(pk=value.pk).deleted_at is None
    assert anonymous_api(f"indicator-values/{value.pk}/").status_code == 200
    revision = only_pending(value)
    assert revision.kind == "delete"
    revisions.approve(revision, by=reviewer)
    assert anonymous_api(f"indicator-values/{value.pk}/").status_code == 404
    deleted = IndicatorValue.objects.get(pk=value.pk)
    record_restore_deleted(record=deleted, actor=researcher)
    assert IndicatorValue.objects.get(pk=value.pk).deleted_at is not None
    revisions.approve(only_pending(value), by=reviewer)
    assert anonymous_api(f"indicator-values/{value.pk}/").status_code == 200
    record_unpublish(record=IndicatorValue.objects.get(pk=value.pk), actor=reviewer)
    assert IndicatorValue.objects.get(pk=value.pk).state == PublicationState.DRAFT


def test_many_to_many_changes_are_reviewed(researcher, reviewer):
    from towns.models import Activity

    activity = Activity.objects.visible_to(None).filter(sources__isnull=False).first()
    old = sorted(activity.sources.values_list("pk", flat=True))
    extra = Source.objects.exclude(pk__in=old).filter(state="published").first()
    research_record_save(
        instance=activity, actor=researcher, m2m={"sources": [*activity.sources.all(), extra]}
    )
    assert sorted(activity.sources.values_list("pk", flat=True)) == old
    revision = only_pending(activity)
    assert revision.changes["sources"]["new"] == sorted([*old, extra.pk])
    revisions.approve(revision, by=reviewer)
    assert extra.pk in set(activity.sources.values_list("pk", flat=True))


# --- Every write path ------------------------------------------------------------------------


def test_admin_change_of_a_published_value_waits_and_the_author_sees_their_version(
    researcher, reviewer
):
    value = public_value()
    before = value.value
    url = reverse("admin:towns_indicatorvalue_change", args=[value.pk])
    client = logged(researcher)
    data = form_data(client.get(url))
    data["value"] = str(before + 11)
    data["_save"] = "Save"
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert "Saved for review" in response.content.decode()
    assert anonymous_value(value) == pytest.approx(float(before))
    form = client.get(url).context["adminform"].form
    assert float(form["value"].value()) == pytest.approx(float(before + 11))
    assert float(logged(reviewer).get(url).context["adminform"].form["value"].value()) == (
        pytest.approx(float(before))
    )
    revision = only_pending(value)
    detail = logged(reviewer).get(reverse("admin:governance_revision_change", args=[revision.pk]))
    text = detail.content.decode()
    assert "Approve and publish" in text and "Value" in text and "Indicator value" in text
    approved = logged(reviewer).post(
        reverse("admin:governance_revision_approve", args=[revision.pk])
    )
    assert approved.status_code == 302
    assert anonymous_value(value) == pytest.approx(float(before + 11))


def test_admin_town_facts_and_inline_rows_wait(researcher, reviewer):
    value = public_value()
    town = value.town
    population = (town.population or 0) + 123457
    url = reverse("admin:towns_town_change", args=[town.pk])
    client = logged(researcher)
    data = form_data(client.get(url))
    data["population"] = str(population)
    data["population_year"] = "2024"
    data["population_source"] = data.get("population_source") or "census"
    data["_save"] = "Save"
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert Town.objects.get(pk=town.pk).population == town.population
    assert not page_shows_number(town, population)
    revisions.approve(only_pending(town), by=reviewer)
    assert Town.objects.get(pk=town.pk).population == population
    assert page_shows_number(town, population)


def test_admin_delete_and_bulk_delete_wait(researcher, reviewer):
    values = list(IndicatorValue.objects.visible_to(None).order_by("pk")[:3])
    client = logged(researcher)
    one = values[0]
    response = client.post(
        reverse("admin:towns_indicatorvalue_delete", args=[one.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    changelist = reverse("admin:towns_indicatorvalue_changelist")
    response = client.post(
        changelist,
        {
            "action": "delete_selected",
            "_selected_action": [str(v.pk) for v in values[1:]],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    for value in values:
        assert anonymous_api(f"indicator-values/{value.pk}/").status_code == 200
    queue = revisions.pending_revisions(user=researcher)
    assert {r.object_id for r in queue} == {v.pk for v in values}
    assert {r.kind for r in queue} == {"delete"}
    result = revisions.approve_all(queue, by=reviewer)
    assert result["approved"] == 3
    for value in values:
        assert anonymous_api(f"indicator-values/{value.pk}/").status_code == 404


def test_admin_delete_of_a_post_waits(researcher, reviewer):
    post = Post.objects.create(name_en="RV temporary post", kind=Post.objects.first().kind)
    client = logged(researcher)
    response = client.post(reverse("admin:towns_post_delete", args=[post.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert Post.objects.filter(pk=post.pk).exists()  # the deletion waits for the reviewer
    revisions.approve(only_pending(post), by=reviewer)
    assert not Post.objects.filter(pk=post.pk).exists()


def test_partner_token_patch_and_delete_write_revisions_only(partner_writer, reviewer):
    user, client = partner_writer
    value = IndicatorValue.objects.visible_to(user).filter(access_level="public").first()
    before = value.value
    path = f"{API}indicator-values/{value.pk}/"
    response = client.patch(path, {"value": str(before + 7)}, content_type="application/json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["code"] == "pending_review" and body["revision"]["fields"] == ["value"]
    assert float(body["current"]["value"]) == pytest.approx(float(before))
    assert anonymous_value(value) == pytest.approx(float(before))
    assert float(client.get(path).json()["value"]) == pytest.approx(float(before))
    # A partner may not delete at all; a researcher's API deletion waits for review.
    assert client.delete(path).status_code == 403
    revision = only_pending(value)
    assert revision.author == user
    revisions.approve(revision, by=reviewer)
    assert anonymous_value(value) == pytest.approx(float(before + 7))
    researcher = make_user(type(user), "rv-api-researcher", "researcher")
    refreshed = IndicatorValue.objects.get(pk=value.pk)
    deleted = logged(researcher).delete(path)
    assert deleted.status_code == 202, deleted.content
    assert anonymous_api(f"indicator-values/{value.pk}/").status_code == 200
    revision = only_pending(refreshed)
    assert revision.kind == "delete" and revision.author == researcher
    revisions.approve(revision, by=reviewer)
    assert anonymous_api(f"indicator-values/{value.pk}/").status_code == 404


def test_api_put_of_a_post_waits(researcher, reviewer):
    post = Post.objects.visible_to(None).order_by("pk").first()
    client = logged(researcher)
    path = f"{API}posts/{post.pk}/"
    body = {
        "name_en": f"{post.name_en} (renamed)",
        "name_be": post.name_be,
        "name_ru": post.name_ru,
        "kind": post.kind,
        "organization": post.organization,
        "is_key": post.is_key,
    }
    response = client.put(path, body, content_type="application/json")
    assert response.status_code == 202, response.content
    assert anonymous_api(f"posts/{post.pk}/").json()["name_en"] == post.name_en
    revisions.approve(only_pending(post), by=reviewer)
    assert anonymous_api(f"posts/{post.pk}/").json()["name_en"] == f"{post.name_en} (renamed)"


def test_api_bulk_upload_creates_drafts_only(partner_writer):
    _user, client = partner_writer
    town = Town.objects.filter(slug__isnull=False).order_by("pk").first()
    value = IndicatorValue.objects.visible_to(None).first()
    rows = [
        {
            "town": town.slug,
            "indicator": value.indicator.code,
            "year": 1999,
            "value": "1",
            "access_level": "public",
        }
    ]
    response = client.post(f"{API}indicator-values/bulk/", rows, content_type="application/json")
    assert response.status_code == 201, response.content
    created = IndicatorValue.objects.get(town=town, indicator=value.indicator, year=1999)
    assert created.state == "draft"
    assert anonymous_api(f"indicator-values/{created.pk}/").status_code == 404


def test_import_of_town_facts_waits(researcher, reviewer):
    town = public_value().town
    population = (town.population or 0) + 45678
    dataset = tablib.Dataset(headers=["slug", "population", "population_year"])
    dataset.append([town.slug, population, 2024])
    result = TownFactsResource().import_data(dataset, dry_run=False, user=researcher)
    assert not result.has_errors() and not result.has_validation_errors()
    assert Town.objects.get(pk=town.pk).population == town.population
    assert not page_shows_number(town, population)
    revision = only_pending(town)
    assert revision.via == "import"
    revisions.approve(revision, by=reviewer)
    assert page_shows_number(town, population)


def test_the_revision_list_uses_human_labels_and_researchers_see_only_theirs(
    researcher, reviewer, second_reviewer
):
    value = public_value()
    label = str(value)
    value.value += 1
    research_record_save(instance=value, actor=second_reviewer)
    mine = logged(researcher).get(reverse("admin:governance_revision_changelist"))
    assert mine.status_code == 200 and label not in mine.content.decode()
    queue = logged(reviewer).get(reverse("admin:governance_revision_changelist"))
    body = queue.content.decode().split('id="result_list"')[-1]
    assert label in body and "Indicator value" in body and "Pending review" in body
    assert "towns.indicatorvalue" not in body and "pending</td>" not in body


def test_admin_send_back_needs_a_comment_and_approve_selected_is_for_reviewers(
    researcher, reviewer
):
    values = list(IndicatorValue.objects.visible_to(None).order_by("pk")[:2])
    for value in values:
        value.note = "rv proposed note"
        research_record_save(instance=value, actor=researcher)
    first, second = (only_pending(v) for v in values)
    send_back = reverse("admin:governance_revision_send_back", args=[first.pk])
    assert logged(researcher).post(send_back, {"comment": "no"}).status_code == 302
    first.refresh_from_db()
    assert first.status == "pending"  # a researcher may not decide
    logged(reviewer).post(send_back, {"comment": ""})
    first.refresh_from_db()
    assert first.status == "pending"  # a comment is required
    logged(reviewer).post(send_back, {"comment": "Cite the decision."})
    first.refresh_from_db()
    assert (first.status, first.comment) == ("sent_back", "Cite the decision.")
    changelist = reverse("admin:governance_revision_changelist")
    action = {"action": "approve_selected", "_selected_action": [str(second.pk)]}
    logged(researcher).post(changelist, action)
    second.refresh_from_db()
    assert second.status == "pending"
    logged(reviewer).post(changelist, action)
    second.refresh_from_db()
    assert second.status == "approved"
    assert IndicatorValue.objects.get(pk=values[1].pk).note == "rv proposed note"


def test_restoring_an_earlier_version_of_a_published_record_waits(researcher, reviewer):
    from governance.audit import record_restore_version

    value = public_value()
    value.note = "rv approved note"
    research_record_save(instance=value, actor=researcher)
    revisions.approve(only_pending(value), by=reviewer)
    earlier = value.events.order_by("pgh_id").exclude(note="rv approved note").last()
    record_restore_version(
        event=earlier, actor=researcher, via="test", save_service=research_record_save
    )
    assert IndicatorValue.objects.get(pk=value.pk).note == "rv approved note"
    revision = only_pending(value)
    assert revision.changes["note"]["new"] == earlier.note
    revisions.approve(revision, by=reviewer)
    assert IndicatorValue.objects.get(pk=value.pk).note == earlier.note


def test_api_post_of_a_new_reference_record_waits_and_approval_creates_it(researcher, reviewer):
    """A new reference record (here a kind of mechanism) is public the moment it exists, so
    it is a revision of kind "create" until a reviewer approves it; nothing is written before."""
    from towns.models import MechanismKind

    body = {"code": "rv-tax-benefits", "name_en": "RV tax benefits"}
    before = MechanismKind.objects.count()
    response = logged(researcher).post(
        f"{API}mechanism-kinds/", body, content_type="application/json"
    )
    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["code"] == "pending_review" and answer["current"] is None
    assert answer["revision"]["kind"] == "create" and "name_en" in answer["revision"]["fields"]
    assert MechanismKind.objects.count() == before
    assert anonymous_api("mechanism-kinds/rv-tax-benefits/").status_code == 404
    revision = Revision.objects.get(pk=answer["revision"]["id"])
    assert revision.object_id is None and revision.author == researcher
    rows = revisions.diff_rows(revision)
    assert {r["name"] for r in rows} >= {"name_en", "code"}
    assert not any(r["moved"] for r in rows)

    kind = revisions.approve(revision, by=reviewer)
    revision.refresh_from_db()
    assert revision.status == "approved" and revision.object_id == kind.pk
    assert anonymous_api("mechanism-kinds/rv-tax-benefits/").json()["name_en"] == "RV tax benefits"
    event = kind.events.order_by("-pgh_id").first()
    assert event.pgh_context.metadata["approved_by"] == reviewer.pk


def test_a_new_record_that_became_invalid_is_refused_at_approval(researcher, reviewer):
    from towns.models import MechanismKind

    body = {"code": "rv-twice", "name_en": "RV twice"}
    first = logged(researcher).post(f"{API}mechanism-kinds/", body, content_type="application/json")
    assert first.status_code == 202, first.content
    MechanismKind.objects.create(code="rv-twice", name_en="RV twice")  # the same code meanwhile
    revision = Revision.objects.get(pk=first.json()["revision"]["id"])
    with pytest.raises(ValidationError):
        revisions.approve(revision, by=reviewer)
    revision.refresh_from_db()
    assert revision.status == "pending" and revision.object_id is None


def test_a_new_post_is_created_at_once_but_reaches_the_public_only_through_a_review(
    researcher, reviewer, writes_without_review
):
    """Posts are the documented exception (governance.revisions.CREATED_DIRECTLY): the
    workspace creates a post with the appointments that hold it. Below research level a post
    is seen only through an appointment a reviewer has published (Post.objects.visible_to):
    not in the API, not in the Popolo export, not in the data package."""
    from towns.models import Appointment

    kind = Post.objects.first().kind
    response = logged(researcher).post(
        f"{API}posts/", {"name_en": "RV new post", "kind": kind}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    post = Post.objects.get(name_en="RV new post")
    listed = [p["name_en"] for p in anonymous_api("posts/").json()["results"]]
    assert "RV new post" not in listed
    assert anonymous_api(f"posts/{post.pk}/").status_code == 404
    popolo = anonymous_api("export/popolo.json").json()
    assert "RV new post" not in {p.get("label") for p in popolo["posts"]}
    assert "RV new post" in {p.name_en for p in Post.objects.visible_to(researcher)}

    held = Appointment.objects.visible_to(None).first()
    held.post = post
    held.save()  # a published, public appointment now holds it
    assert anonymous_api(f"posts/{post.pk}/").status_code == 200


def test_admin_add_of_a_district_waits(researcher, reviewer):
    from towns.models import District, Region

    region = Region.objects.order_by("pk").first()
    client = logged(researcher)
    response = client.post(
        reverse("admin:towns_district_add"),
        {"name_en": "RV district", "slug": "rv-district", "region": region.pk},
        follow=True,
    )
    assert response.status_code == 200
    assert not District.objects.filter(name_en="RV district").exists()
    revision = Revision.objects.get(kind="create", author=researcher)
    assert response.redirect_chain[-1][0] == reverse(
        "admin:governance_revision_change", args=[revision.pk]
    )
    text = response.content.decode()
    assert "Saved for review" in text
    revisions.approve(revision, by=reviewer)
    assert District.objects.filter(name_en="RV district", region=region).exists()


def test_the_admin_import_says_which_rows_wait_for_review(researcher, reviewer):
    """The library would report "1 updated" for a row that changed nothing anyone sees yet."""
    from tests.towns.test_import import TOWN_HEADER, confirm, csv_file, upload

    town = Town.objects.get(slug="hlybokaye")
    client = logged(researcher)
    row = [town.slug, "", town.name_be, town.name_ru, town.kind, "18123", "2024", "Belstat"]
    dry = upload(client, "town", csv_file([row], header=TOWN_HEADER, name="t.csv"))
    response = confirm(client, "town", dry)
    assert response.status_code == 302
    shown = [str(m) for m in list(response.wsgi_request._messages)]
    assert any("0 rows written directly, 1 saved for review" in m for m in shown), shown
    assert Town.objects.get(pk=town.pk).population != 18123
    revisions.approve(only_pending(town), by=reviewer)
    assert Town.objects.get(pk=town.pk).population == 18123


def test_a_writer_sees_their_pending_version_and_the_reviewers_comment(
    partner_writer, reviewer, django_user_model
):
    """/api/v1/my-revisions/: the writer's own revisions with the values proposed (never the
    published ones beside them, never a restricted field such as a note), the status, and the
    reviewer's comment when sent back. Nobody else's, not to the anonymous."""
    user, client = partner_writer
    value = IndicatorValue.objects.visible_to(user).filter(access_level="public").first()
    path = f"{API}indicator-values/{value.pk}/"
    secret = "MYREV-NOTE-7c1"
    sent = {"value": str(value.value + 3), "note": secret}
    assert client.patch(path, sent, content_type="application/json").status_code == 202

    mine = client.get(f"{API}my-revisions/", {"status": "pending"})
    assert mine.status_code == 200, mine.content
    [row] = mine.json()["results"]
    assert row["record_type"] == "towns.indicatorvalue" and row["record_id"] == value.pk
    assert float(row["proposed"]["value"]) == pytest.approx(float(value.value + 3))
    assert set(row["proposed"]) == {"value"}  # no note, and no published value beside
    assert secret not in mine.content.decode()
    # The record itself still answers as published, to its author too.
    assert float(client.get(path).json()["value"]) == pytest.approx(float(value.value))

    other = make_user(django_user_model, "rv-other-partner", "partner")
    assert logged(other).get(f"{API}my-revisions/").json()["results"] == []
    assert Client().get(f"{API}my-revisions/").status_code in (401, 403)
    assert client.get(f"{API}my-revisions/", {"status": "maybe"}).status_code == 400

    revisions.send_back(only_pending(value), by=reviewer, comment="Cite the 2023 yearbook.")
    [row] = client.get(f"{API}my-revisions/", {"status": "sent_back"}).json()["results"]
    assert row["comment"] == "Cite the 2023 yearbook." and row["reviewed_at"]
