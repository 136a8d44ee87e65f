"""The review workflow and soft deletion: each step by role, each recorded, never a 500.

Services (governance.workflow) first, then the same steps as admin actions, as researchers and
reviewers use them.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from governance.models import ReviewEvent, Source
from governance.workflow import (
    record_publish,
    record_purge,
    record_restore_deleted,
    record_return_to_draft,
    record_soft_delete,
    record_submit,
    record_unpublish,
)
from towns.models import Influence, InfluenceGroup, Town

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:governance_source_changelist"


def make_user(django_user_model, username: str, role: str):
    user = django_user_model.objects.create_user(
        username=username, password="a-long-test-password-1", is_staff=role != "donor"
    )
    user.groups.add(Group.objects.get(name=role))
    return django_user_model.objects.get(pk=user.pk)  # fresh: no cached permissions


@pytest.fixture
def researcher(django_user_model):
    return make_user(django_user_model, "wf-researcher", "researcher")


@pytest.fixture
def reviewer(django_user_model):
    return make_user(django_user_model, "wf-reviewer", "reviewer")


@pytest.fixture
def admin_user(django_user_model):
    user = make_user(django_user_model, "wf-admin", "admin")
    user.is_superuser = True
    user.save()
    return user


def new_source(citation="WF test document", **fields) -> Source:
    return Source.objects.create(
        kind=Source.Kind.DOCUMENT, citation=citation, is_synthetic=True, **fields
    )


@pytest.fixture
def claim_without_source():
    group = InfluenceGroup.objects.create(
        name_en="WF test clan", origin="our_own", kind="clan_family", is_synthetic=True
    )
    return Influence.objects.create(
        group=group, town=Town.objects.get(slug="hlybokaye"), strength=3, is_synthetic=True
    )


def events_of(record):
    return ReviewEvent.objects.filter(model=record._meta.label_lower, object_id=str(record.pk))


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- services --------------------------------------------------------------------------------


def test_researcher_submits_a_draft_and_the_step_is_recorded(researcher):
    source = new_source()
    record_submit(record=source, actor=researcher, via="admin")
    source.refresh_from_db()
    assert source.state == "in_review"
    event = events_of(source).get()
    assert (event.action, event.actor, event.from_state, event.to_state) == (
        "submit",
        researcher,
        "draft",
        "in_review",
    )


def test_researcher_may_not_publish(researcher):
    source = new_source(state="in_review")
    with pytest.raises(PermissionDenied, match="Only reviewers and admins may publish"):
        record_publish(record=source, actor=researcher)
    source.refresh_from_db()
    assert source.state == "in_review"
    assert not events_of(source).exists()


def test_reviewer_publishes_a_record_in_review(reviewer):
    source = new_source(state="in_review")
    record_publish(record=source, actor=reviewer, via="api")
    source.refresh_from_db()
    assert source.state == "published"
    event = events_of(source).get()
    assert (event.action, event.actor, event.from_state, event.to_state) == (
        "publish",
        reviewer,
        "in_review",
        "published",
    )
    audit = Source.pgh_event_model.objects.filter(pgh_obj_id=source.pk).latest("pgh_id")
    assert audit.pgh_context.metadata == {"user": reviewer.pk, "via": "api"}


def test_a_draft_must_be_submitted_before_it_is_published(reviewer):
    source = new_source()
    with pytest.raises(ValidationError, match="cannot be published"):
        record_publish(record=source, actor=reviewer)
    assert source.state == "draft"


def test_reviewer_unpublishes_and_a_researcher_may_not(researcher, reviewer):
    source = new_source(state="published")
    with pytest.raises(PermissionDenied, match="may unpublish"):
        record_unpublish(record=source, actor=researcher)
    record_unpublish(record=source, actor=reviewer)
    source.refresh_from_db()
    assert source.state == "draft"
    assert events_of(source).get().action == "unpublish"


def test_record_in_review_returns_to_draft(researcher):
    source = new_source(state="in_review")
    record_return_to_draft(record=source, actor=researcher)
    source.refresh_from_db()
    assert source.state == "draft"
    assert events_of(source).get().action == "return"


def test_a_user_without_a_role_cannot_submit(django_user_model):
    outsider = django_user_model.objects.create_user(username="wf-outsider", password="x" * 16)
    with pytest.raises(PermissionDenied, match="may not change sources"):
        record_submit(record=new_source(), actor=outsider)


def test_claim_without_source_can_be_neither_submitted_nor_published(
    researcher, reviewer, claim_without_source
):
    with pytest.raises(ValidationError, match="without a source can only be a draft"):
        record_submit(record=claim_without_source, actor=researcher)
    claim_without_source.refresh_from_db()
    assert claim_without_source.state == "draft"
    # Even when it got into review by another path (a bulk update), it is not published.
    Influence.objects.filter(pk=claim_without_source.pk).update(state="in_review")
    claim_without_source.refresh_from_db()
    with pytest.raises(ValidationError, match="without a source can only be a draft"):
        record_publish(record=claim_without_source, actor=reviewer)
    claim_without_source.refresh_from_db()
    assert claim_without_source.state == "in_review"
    assert not events_of(claim_without_source).exists()


def test_claim_with_a_source_goes_through_review(researcher, reviewer, claim_without_source):
    claim_without_source.sources.add(new_source(state="published", access_level="public"))
    record_submit(record=claim_without_source, actor=researcher)
    record_publish(record=claim_without_source, actor=reviewer)
    claim_without_source.refresh_from_db()
    assert claim_without_source.state == "published"
    assert list(events_of(claim_without_source).order_by("at").values_list("action", flat=True))


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_soft_delete_hides_restore_brings_back_and_only_admins_purge(
    researcher, admin_user, reviewer
):
    source = new_source(state="published", access_level="public")
    record_soft_delete(record=source, actor=researcher)
    assert Source.objects.filter(pk=source.pk).exists()  # still there, recoverable
    assert not Source.objects.visible_to(reviewer).filter(pk=source.pk).exists()
    with pytest.raises(ValidationError, match="deleted: restore it first"):
        record_unpublish(record=source, actor=reviewer)
    with pytest.raises(PermissionDenied, match="Only admins may purge"):
        record_purge(record=source, actor=researcher)
    with pytest.raises(PermissionDenied, match="Only admins may purge"):
        record_purge(record=source, actor=reviewer)
    record_restore_deleted(record=source, actor=researcher)
    source.refresh_from_db()
    assert source.deleted_at is None and source.state == "published"
    with pytest.raises(ValidationError, match="Only deleted records can be purged"):
        record_purge(record=source, actor=admin_user)
    record_soft_delete(record=source, actor=researcher)
    pk = source.pk
    record_purge(record=source, actor=admin_user)
    assert not Source.objects.filter(pk=pk).exists()
    steps = ReviewEvent.objects.filter(model="governance.source", object_id=str(pk))
    assert list(steps.order_by("at", "pk").values_list("action", "actor")) == [
        ("delete", researcher.pk),
        ("restore", researcher.pk),
        ("delete", researcher.pk),
        ("purge", admin_user.pk),
    ]


# --- admin actions ---------------------------------------------------------------------------


def act(client, action: str, *records, **extra):
    return client.post(
        reverse(CHANGELIST) + extra.pop("query", ""),
        {"action": action, "_selected_action": [r.pk for r in records], **extra},
    )


def action_names(client) -> set[str]:
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    return {name for name, _label in response.context["action_form"].fields["action"].choices}


def test_actions_are_shown_only_to_who_may_use_them(client, researcher, reviewer, admin_user):
    client.force_login(researcher)
    shown = action_names(client)
    assert {"submit_for_review", "return_to_draft", "delete_selected", "restore_deleted"} <= shown
    assert not {"publish", "unpublish", "purge"} & shown
    client.force_login(reviewer)
    assert {"publish", "unpublish"} <= action_names(client)
    assert "purge" not in action_names(client)
    client.force_login(admin_user)
    assert "purge" in action_names(client)


def test_researcher_posting_publish_changes_nothing(client, researcher):
    source = new_source(state="in_review")
    client.force_login(researcher)
    response = act(client, "publish", source)
    assert response.status_code in (200, 302)
    source.refresh_from_db()
    assert source.state == "in_review"
    assert not events_of(source).exists()


def test_publish_action_reports_successes_and_each_failure(client, reviewer, claim_without_source):
    ready = new_source("WF ready", state="in_review")
    draft = new_source("WF draft")
    client.force_login(reviewer)
    response = act(client, "publish", ready, draft)
    assert response.status_code == 302
    messages = texts(response)
    assert "1 record published." in messages
    assert any("WF draft" in m and "cannot be published" in m for m in messages)
    ready.refresh_from_db()
    draft.refresh_from_db()
    assert (ready.state, draft.state) == ("published", "draft")
    assert events_of(ready).get().actor == reviewer


def test_submit_action_refuses_a_claim_without_source_with_a_message(
    client, researcher, claim_without_source
):
    client.force_login(researcher)
    response = client.post(
        reverse("admin:towns_influence_changelist"),
        {"action": "submit_for_review", "_selected_action": [claim_without_source.pk]},
    )
    assert response.status_code == 302
    assert any("without a source can only be a draft" in m for m in texts(response))
    claim_without_source.refresh_from_db()
    assert claim_without_source.state == "draft"


def test_state_is_read_only_in_the_form_for_researchers(client, researcher, reviewer):
    source = new_source()
    url = reverse("admin:governance_source_change", args=[source.pk])
    client.force_login(researcher)
    assert "state" not in client.get(url).context["adminform"].form.fields
    client.force_login(reviewer)
    assert "state" in client.get(url).context["adminform"].form.fields


def test_reviewer_changing_the_state_in_the_form_is_recorded(client, reviewer):
    source = new_source(state="in_review")
    client.force_login(reviewer)
    response = client.post(
        reverse("admin:governance_source_change", args=[source.pk]),
        {
            "kind": "document",
            "citation": source.citation,
            "reliability": "C",
            "state": "published",
            "access_level": "public",
            "is_synthetic": "on",
        },
    )
    assert response.status_code == 302
    event = events_of(source).get()
    assert (event.action, event.from_state, event.to_state, event.actor) == (
        "publish",
        "in_review",
        "published",
        reviewer,
    )


def test_admin_delete_is_soft_and_the_deleted_filter_and_restore_bring_it_back(client, researcher):
    source = new_source("WF to delete")
    client.force_login(researcher)
    url = reverse("admin:governance_source_delete", args=[source.pk])
    confirm = client.get(url)
    assert "stays recoverable" in confirm.content.decode()
    assert client.post(url, {"post": "yes"}).status_code == 302
    source.refresh_from_db()
    assert source.deleted_at is not None
    assert events_of(source).get().action == "delete"

    listed = client.get(reverse(CHANGELIST), {"q": "WF to delete"})
    assert source not in listed.context["cl"].result_list
    deleted = client.get(reverse(CHANGELIST), {"q": "WF to delete", "deleted": "yes"})
    assert list(deleted.context["cl"].result_list) == [source]
    # A deleted record opens read-only and cannot be deleted again.
    change = client.get(reverse("admin:governance_source_change", args=[source.pk]))
    assert change.status_code == 200 and not change.context["has_change_permission"]
    assert client.post(url, {"post": "yes"}).status_code == 403

    response = act(client, "restore_deleted", source, query="?deleted=yes")
    assert "1 record restored." in texts(response)
    source.refresh_from_db()
    assert source.deleted_at is None
    assert events_of(source).order_by("-at", "-pk").first().action == "restore"


def test_bulk_delete_selected_is_soft(client, researcher):
    one, two = new_source("WF bulk one"), new_source("WF bulk two")
    client.force_login(researcher)
    confirm = act(client, "delete_selected", one, two)
    assert confirm.status_code == 200
    assert "stay recoverable" in confirm.content.decode()
    response = act(client, "delete_selected", one, two, post="yes")
    assert response.status_code == 302
    assert Source.objects.filter(pk__in=[one.pk, two.pk], deleted_at__isnull=False).count() == 2
    assert (
        ReviewEvent.objects.filter(
            action="delete", object_id__in=[str(one.pk), str(two.pk)], actor=researcher
        ).count()
        == 2
    )


def test_purge_action_removes_deleted_records_and_refuses_live_ones(client, admin_user):
    gone, live = new_source("WF purge me"), new_source("WF keep me")
    record_soft_delete(record=gone, actor=admin_user)
    gone_pk = gone.pk
    client.force_login(admin_user)
    response = act(client, "purge", gone, live, query="?deleted=all")
    messages = texts(response)
    assert "1 record purged." in messages
    assert any("WF keep me" in m and "delete it first" in m for m in messages)
    assert not Source.objects.filter(pk=gone_pk).exists()
    assert Source.objects.filter(pk=live.pk).exists()
    assert ReviewEvent.objects.filter(
        action="purge", actor=admin_user, model="governance.source", object_id=str(gone_pk)
    ).exists()


def test_review_events_are_read_only_in_the_admin(client, admin_user, researcher):
    source = new_source()
    record_submit(record=source, actor=researcher)
    event = events_of(source).get()
    client.force_login(admin_user)
    assert client.get(reverse("admin:governance_reviewevent_changelist")).status_code == 200
    assert client.get(reverse("admin:governance_reviewevent_add")).status_code == 403
    change = reverse("admin:governance_reviewevent_change", args=[event.pk])
    assert client.post(change, {"action": "publish"}).status_code == 403
    delete = reverse("admin:governance_reviewevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert events_of(source).get().action == "submit"


def test_every_research_admin_has_the_workflow_actions(rf, admin_user):
    from django.contrib import admin

    from governance.admin import ResearchAdmin

    request = rf.get("/admin/")
    request.user = admin_user
    research_admins = [a for a in admin.site._registry.values() if isinstance(a, ResearchAdmin)]
    assert len(research_admins) >= 10
    for model_admin in research_admins:
        names = set(model_admin.get_actions(request))
        assert {"submit_for_review", "publish", "unpublish", "restore_deleted", "purge"} <= names, (
            model_admin
        )
        assert model_admin.get_actions(request)["delete_selected"][0].__name__ == (
            "soft_delete_selected"
        )
