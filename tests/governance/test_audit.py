"""Nothing is lost: every write path leaves an audit row (who, when, old → new), any version can
be viewed and restored, a deleted or purged record comes back, and the history is not editable.

The audit rows are the pghistory event tables, written by PostgreSQL triggers.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import tablib
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.urls import reverse

from governance.audit import purged_records, record_history, record_restore_version
from governance.models import ReviewEvent, Source
from governance.services import audit_context, record_save
from governance.workflow import record_purge, record_soft_delete
from towns.imports import IndicatorValueResource
from towns.models import Indicator, IndicatorValue, Influence, InfluenceGroup, Town

pytestmark = pytest.mark.django_db

SourceEvent = Source.pgh_event_model
ValueEvent = IndicatorValue.pgh_event_model


def make_user(django_user_model, username: str, role: str):
    user = django_user_model.objects.create_user(
        username=username, password="a-long-test-password-1", is_staff=True
    )
    user.groups.add(Group.objects.get(name=role))
    if role == "admin":
        user.is_superuser = True
        user.save()
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def researcher(django_user_model):
    return make_user(django_user_model, "audit-researcher", "researcher")


@pytest.fixture
def reviewer(django_user_model):
    return make_user(django_user_model, "audit-reviewer", "reviewer")


@pytest.fixture
def admin_user(django_user_model):
    return make_user(django_user_model, "audit-admin", "admin")


def new_source(citation="Audit test document", **fields) -> Source:
    fields.setdefault("kind", Source.Kind.DOCUMENT)
    return Source.objects.create(citation=citation, is_synthetic=True, **fields)


def last_event(model_event, pk):
    return model_event.objects.filter(pgh_obj_id=pk).select_related("pgh_context").latest("pgh_id")


def change_of(model, pk, field: str):
    """(old, new) of ``field`` in the newest history entry of the record that changed it."""
    for entry in record_history(model=model, object_id=pk):
        for change in entry.changes:
            if change.name == field:
                return entry, (change.old, change.new)
    raise AssertionError(f"no change of {field} in the history")


def form_data(source: Source, **changes) -> dict:
    data = {
        "kind": source.kind,
        "citation": source.citation,
        "reliability": source.reliability,
        "note": source.note,
        "state": source.state,
        "access_level": source.access_level,
        "is_synthetic": "on" if source.is_synthetic else "",
    }
    data.update(changes)
    return data


# --- every write path leaves who, when and old → new ---------------------------------------


def test_admin_change_form_is_audited_with_the_admin_user(client, researcher):
    source = new_source(note="before")
    client.force_login(researcher)
    response = client.post(
        reverse("admin:governance_source_change", args=[source.pk]),
        form_data(source, note="after"),
    )
    assert response.status_code == 302
    entry, change = change_of(Source, source.pk, "note")
    assert change == ("before", "after")
    # The HistoryMiddleware put the signed-in user and the URL in the context.
    assert entry.user == researcher
    assert entry.via == "admin"
    assert entry.url == reverse("admin:governance_source_change", args=[source.pk])
    assert entry.at is not None


def test_admin_bulk_action_is_audited(client, reviewer):
    source = new_source(state="in_review")
    client.force_login(reviewer)
    client.post(
        reverse("admin:governance_source_changelist"),
        {"action": "publish", "_selected_action": [source.pk]},
    )
    entry, change = change_of(Source, source.pk, "state")
    assert change == ("In review", "Published")
    assert (entry.user, entry.via) == (reviewer, "admin")


def test_service_call_is_audited(researcher):
    source = new_source(reliability="C")
    source.reliability = "A"
    record_save(instance=source, actor=researcher, via="service")
    entry, change = change_of(Source, source.pk, "reliability")
    assert change == ("C: fairly reliable", "A: confirmed by independent sources")
    assert (entry.user, entry.via) == (researcher, "service")


def test_import_is_audited(researcher):
    town = Town.objects.get(slug="hlybokaye")
    indicator = Indicator.objects.create(
        system=2,
        code="audit-offences",
        name_en="Audit offences",
        unit="per 1,000 residents",
        direction="higher_worse",
        description="A test indicator.",
    )
    value = IndicatorValue.objects.create(town=town, indicator=indicator, year=2020, value="3.1")
    dataset = tablib.Dataset(
        ["hlybokaye", "audit-offences", "2020", "0", "4.2"],
        headers=["town", "indicator", "year", "quarter", "value"],
    )
    result = IndicatorValueResource().import_data(dataset, dry_run=False, user=researcher)
    assert not result.has_errors() and not result.has_validation_errors()
    entry, change = change_of(IndicatorValue, value.pk, "value")
    assert change == (Decimal("3.1"), Decimal("4.2"))
    assert (entry.user, entry.via) == (researcher, "import")


def test_management_command_is_audited():
    source = Source.objects.get(kind="presentation", is_synthetic=False)
    original = source.note
    Source.objects.filter(pk=source.pk).update(note="tampered")
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    entry, change = change_of(Source, source.pk, "note")
    assert change == ("tampered", original)
    assert entry.via == "load_demo"
    assert entry.user is None  # a command runs as nobody; `via` says which


def test_queryset_update_is_audited_by_the_triggers(researcher):
    source = new_source(note="before")
    Source.objects.filter(pk=source.pk).update(note="no context")
    entry, change = change_of(Source, source.pk, "note")
    assert change == ("before", "no context")
    assert entry.user is None and entry.via == ""  # still kept: when and old → new
    with audit_context(actor=researcher, via="bulk"):
        Source.objects.filter(pk=source.pk).update(note="with context")
    entry, change = change_of(Source, source.pk, "note")
    assert change == ("no context", "with context")
    assert (entry.user, entry.via) == (researcher, "bulk")


def test_bulk_update_and_bulk_create_are_audited(researcher):
    one, two = new_source("Audit bulk one"), new_source("Audit bulk two")
    one.note, two.note = "bulk 1", "bulk 2"
    with audit_context(actor=researcher, via="bulk"):
        Source.objects.bulk_update([one, two], ["note"])
        created = Source.objects.bulk_create(
            [
                Source(kind="media", citation=f"Audit bulk new {n}", is_synthetic=True)
                for n in (1, 2)
            ]
        )
    for source, note in ((one, "bulk 1"), (two, "bulk 2")):
        entry, change = change_of(Source, source.pk, "note")
        assert change == ("", note)
        assert (entry.user, entry.via) == (researcher, "bulk")
    for source in created:
        event = last_event(SourceEvent, source.pk)
        assert event.pgh_label == "insert"
        assert event.pgh_context.metadata == {"user": researcher.pk, "via": "bulk"}


# --- the history view ------------------------------------------------------------------------


def test_history_view_lists_who_when_and_old_to_new(client, researcher):
    source = new_source(note="first note")
    source.note = "second note"
    record_save(instance=source, actor=researcher, via="service")
    client.force_login(researcher)
    response = client.get(reverse("admin:governance_source_history", args=[source.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "first note → second note" in page
    assert "audit-researcher" in page
    assert "Restore this version" in page
    entries = response.context["entries"]
    assert [e.label for e in entries] == ["update", "insert"]
    assert entries[0].is_latest


def test_history_view_of_a_model_without_state_works_too(client, researcher):
    town = Town.objects.get(slug="hlybokaye")
    client.force_login(researcher)
    response = client.get(reverse("admin:towns_town_history", args=[town.pk]))
    assert response.status_code == 200
    assert response.context["entries"]


def test_outsider_cannot_see_a_history(client, django_user_model):
    source = new_source()
    user = django_user_model.objects.create_user("audit-outsider", password="x" * 16)
    user.is_staff = True
    user.save()
    client.force_login(user)
    response = client.get(reverse("admin:governance_source_history", args=[source.pk]))
    assert response.status_code == 403


# --- restore ---------------------------------------------------------------------------------


def test_restore_an_earlier_version_from_the_admin(client, researcher):
    source = new_source(note="good text", reliability="B")
    first = last_event(SourceEvent, source.pk)
    source.note, source.reliability = "vandalised", "D"
    record_save(instance=source, actor=researcher, via="service")
    client.force_login(researcher)
    response = client.post(reverse("admin:governance_source_restore_version", args=[first.pk]))
    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.note, source.reliability) == ("good text", "B")
    entry, change = change_of(Source, source.pk, "note")
    assert change == ("vandalised", "good text")
    assert (entry.user, entry.via) == (researcher, "admin")
    assert entry.event.pgh_context.metadata["restored_from"] == f"governance.SourceEvent:{first.pk}"
    assert ReviewEvent.objects.filter(
        action="restore", object_id=str(source.pk), actor=researcher
    ).exists()


def test_restore_is_post_only(client, researcher):
    source = new_source()
    event = last_event(SourceEvent, source.pk)
    client.force_login(researcher)
    url = reverse("admin:governance_source_restore_version", args=[event.pk])
    assert client.get(url).status_code == 405


def test_a_researcher_restoring_a_version_does_not_publish(researcher):
    source = new_source(state="published", access_level="public")
    published = last_event(SourceEvent, source.pk)
    Source.objects.filter(pk=source.pk).update(state="draft", note="later")
    record_restore_version(event=published, actor=researcher)
    source.refresh_from_db()
    assert (source.state, source.note) == ("draft", "")


def test_restore_of_a_soft_deleted_record(client, researcher):
    source = new_source("Audit soft deleted")
    record_soft_delete(record=source, actor=researcher)
    client.force_login(researcher)
    client.post(
        reverse("admin:governance_source_changelist") + "?deleted=yes",
        {"action": "restore_deleted", "_selected_action": [source.pk]},
    )
    source.refresh_from_db()
    assert source.deleted_at is None
    entry, change = change_of(Source, source.pk, "deleted_at")
    assert change[0] is not None and change[1] is None
    assert entry.user == researcher


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_purged_record_is_recreated_from_its_history(client, admin_user, researcher):
    source = new_source("Audit purged", note="kept in history", state="published")
    record_soft_delete(record=source, actor=researcher)
    pk = source.pk
    record_purge(record=source, actor=admin_user)
    assert not Source.objects.filter(pk=pk).exists()
    assert [e.pgh_obj_id for e in purged_records(model=Source)][:1] == [pk]

    client.force_login(researcher)
    page = client.get(reverse("admin:governance_source_purged"))
    assert page.status_code == 200
    assert "Audit purged" in page.content.decode()
    history = client.get(reverse("admin:governance_source_purged") + f"?object={pk}")
    assert history.status_code == 200
    assert "kept in history" in history.content.decode()

    last = last_event(SourceEvent, pk)
    assert last.pgh_label == "delete"
    response = client.post(reverse("admin:governance_source_restore_version", args=[last.pk]))
    assert response.status_code == 302
    restored = Source.objects.get(pk=pk)
    assert (restored.citation, restored.note, restored.deleted_at) == (
        "Audit purged",
        "kept in history",
        None,
    )
    # A researcher does not publish by restoring: the recreated record is a draft.
    assert restored.state == "draft"
    event = last_event(SourceEvent, pk)
    assert event.pgh_label == "insert"
    assert event.pgh_context.metadata["user"] == researcher.pk


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_recreated_claim_comes_back_as_a_draft_without_its_sources(admin_user, reviewer):
    group = InfluenceGroup.objects.create(
        name_en="Audit clan", origin="our_own", kind="clan_family", is_synthetic=True
    )
    claim = Influence.objects.create(
        group=group, town=Town.objects.get(slug="hlybokaye"), strength=4, is_synthetic=True
    )
    claim.sources.add(new_source(state="published"))
    Influence.objects.filter(pk=claim.pk).update(state="published")
    claim.refresh_from_db()
    record_soft_delete(record=claim, actor=admin_user)
    pk = claim.pk
    record_purge(record=claim, actor=admin_user)
    restored = record_restore_version(
        event=last_event(Influence.pgh_event_model, pk), actor=reviewer
    )
    assert (restored.pk, restored.strength, restored.state) == (pk, 4, "draft")
    step = ReviewEvent.objects.filter(action="restore", object_id=str(pk)).get()
    assert "without its sources" in step.comment


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_recreated_value_keeps_its_source_and_state(admin_user, reviewer):
    town = Town.objects.get(slug="hlybokaye")
    indicator = Indicator.objects.create(
        system=2,
        code="audit-purge",
        name_en="Audit purge",
        unit="number",
        direction="higher_worse",
        description="A test indicator.",
    )
    source = new_source(state="published")
    value = IndicatorValue.objects.create(
        town=town, indicator=indicator, year=2021, value="7", source=source, state="published"
    )
    record_soft_delete(record=value, actor=admin_user)
    pk = value.pk
    record_purge(record=value, actor=admin_user)
    restored = record_restore_version(event=last_event(ValueEvent, pk), actor=reviewer)
    # The source is a foreign key here, kept in the history: the value comes back published.
    assert restored.source_id == source.pk and restored.state == "published"


def test_restoring_a_version_that_no_longer_fits_is_refused_with_a_message(client, researcher):
    source = new_source(kind="interview", interview_code="INT-AUDIT-1")
    interview = last_event(SourceEvent, source.pk)
    Source.objects.filter(pk=source.pk).update(kind="document", interview_code="")
    # A rule the old version breaks now: simulate it with a version made invalid by hand.
    SourceEvent.objects.filter(pk=interview.pk).update(interview_code="NAME WITH SPACES")
    client.force_login(researcher)
    response = client.post(reverse("admin:governance_source_restore_version", args=[interview.pk]))
    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("could not be restored" in m and "without spaces" in m for m in messages)
    source.refresh_from_db()
    assert source.kind == "document"


# --- the history is not editable -------------------------------------------------------------


def test_history_cannot_be_edited_in_the_admin(client, admin_user):
    source = new_source()
    client.force_login(admin_user)
    events = reverse("admin:pghistory_events_changelist")
    assert (
        client.get(events + f"?method=tracks&obj=governance.Source:{source.pk}").status_code == 200
    )
    assert client.get(reverse("admin:pghistory_events_add")).status_code == 403
    event = last_event(SourceEvent, source.pk)
    slug = f"governance.SourceEvent:{event.pk}"
    change = reverse("admin:pghistory_events_change", args=[slug])
    before = SourceEvent.objects.filter(pgh_obj_id=source.pk).count()
    client.post(change, {"pgh_label": "forged"})
    delete = reverse("admin:pghistory_events_delete", args=[slug])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert SourceEvent.objects.filter(pgh_obj_id=source.pk).count() == before
    assert SourceEvent.objects.get(pk=event.pk).pgh_label == "insert"


def test_history_page_has_no_form_that_edits_an_event(client, researcher):
    source = new_source()
    client.force_login(researcher)
    page = client.get(reverse("admin:governance_source_history", args=[source.pk]))
    # The only form posts a restore (a new save), never to an event.
    assert "restore-version" not in page.content.decode()  # the current version: nothing to do
    source.note = "changed"
    record_save(instance=source, actor=researcher)
    page = client.get(reverse("admin:governance_source_history", args=[source.pk]))
    assert page.content.decode().count("restore-version") == 1
