"""Concurrent edits: the version column, the service's optimistic lock, the admin's conflict form,
and a real race of two database connections (issue 9, "Concurrent edits").

The race tests need rows that another connection can see, so they create committed rows on a
connection of their own and delete them (with their history) in a ``finally``; they never use
the transactional_db/live_server fixtures, which would flush the demo data other tests need.
"""

from __future__ import annotations

import re
import threading
import time
from html.parser import HTMLParser

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from csos.models import CSO
from governance.access import PublicationState
from governance.models import Source
from governance.services import VersionConflict, record_save
from governance.workflow import record_publish, record_soft_delete, record_submit
from towns.models import Person, Post
from towns.services import research_record_save

pytestmark = pytest.mark.django_db

VERSION_INPUT = re.compile(r'name="(?:[\w-]+-)?loaded_version" value="(\d+)"')


def make_source(**extra) -> Source:
    data = {"kind": "document", "citation": "Budget of Olshany, 2024", "access_level": "public"}
    return record_save(instance=Source(**{**data, **extra}), via="test")


def update_events(record) -> list:
    return list(record.events.filter(pgh_label="update").order_by("pgh_id"))


# --- The column and the service ------------------------------------------------------------------


def test_every_edited_model_has_a_version_with_a_database_default():
    from django.apps import apps

    editable = [
        m
        for m in apps.get_models()
        if m._meta.app_label in ("governance", "towns", "csos")
        and any(f.name == "updated_at" for f in m._meta.fields)
        and not m._meta.object_name.endswith("Event")
        # A change waiting for review is decided, not edited (governance.revisions).
        and m._meta.label != "governance.Revision"
    ]
    names = {m._meta.label for m in editable}
    # Research records and the reference data researchers edit alike.
    assert {"governance.Source", "towns.Post", "towns.Indicator", "csos.CSOLink"} <= names
    for model in editable:
        field = model._meta.get_field("version")
        assert field.default == 1, model
        assert getattr(field.db_default, "value", field.db_default) == 1, model
        # The history mirrors it, so a conflict can say from which version things changed.
        assert any(f.name == "version" for f in model.pgh_event_model._meta.fields), model


def test_raw_sql_insert_gets_version_one_from_the_database_default():
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO governance_source (created_at, updated_at, access_level, state, "
            "is_synthetic, kind, citation, url, interview_code, reliability, note) "
            "VALUES (now(), now(), 'public', 'draft', false, 'document', 'Raw', '', '', 'C', '') "
            "RETURNING id, version"
        )
        _pk, version = cursor.fetchone()
    assert version == 1


def test_new_record_starts_at_one_and_each_save_raises_it_by_one():
    source = make_source()
    assert source.version == 1
    source.citation = "Budget of Olshany, 2024 (revised)"
    record_save(instance=source, via="test")
    assert source.version == 2
    assert Source.objects.get(pk=source.pk).version == 2
    record_save(instance=source, via="test")
    assert Source.objects.get(pk=source.pk).version == 3


def test_stale_save_is_refused_naming_what_changed_who_and_when(django_user_model):
    anna = django_user_model.objects.create_user(username="anna", password="x-long-pass-1")
    boris = django_user_model.objects.create_user(username="boris", password="x-long-pass-2")
    source = make_source()
    first, second = Source.objects.get(pk=source.pk), Source.objects.get(pk=source.pk)
    first.citation = "Budget of Olshany, 2025"
    first.reliability = Source.Reliability.B
    record_save(instance=first, actor=anna, via="test")
    second.note = "Checked against the printed copy."
    with pytest.raises(VersionConflict) as caught:
        record_save(instance=second, actor=boris, via="test")
    conflict = caught.value
    assert (conflict.expected, conflict.current) == (1, 2)
    assert {c.name for c in conflict.changes} == {"citation", "reliability"}
    message = conflict.messages[0]
    assert "changed by someone else" in message
    assert "citation: “Budget of Olshany, 2024” → “Budget of Olshany, 2025”" in message
    assert "B: usually reliable" in message  # choices are shown by their labels
    assert "anna" in message and "UTC" in message
    # Nothing of the second save was written; the instance still holds the version it had.
    stored = Source.objects.get(pk=source.pk)
    assert stored.citation == "Budget of Olshany, 2025" and stored.note == ""
    assert stored.version == 2 and second.version == 1
    assert len(update_events(stored)) == 1


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_conflict_leaves_out_fields_the_writer_may_not_see(personas):
    person = Person.objects.filter(names_access_level="restricted").first()
    assert person is not None
    stale = Person.objects.get(pk=person.pk)
    person.name_en = "Fictional Person Z. Renamed"
    person.note = "A new note."
    research_record_save(instance=person, actor=personas["researcher"].user, via="test")
    stale.origin = stale.origin
    with pytest.raises(VersionConflict) as caught:
        research_record_save(instance=stale, actor=personas["partner"].user, via="test")
    names = {c.name for c in caught.value.changes}
    assert "name_en" not in names and "note" not in names
    assert "Renamed" not in caught.value.messages[0]


def test_a_record_removed_meanwhile_is_a_conflict_not_a_resurrection():
    source = make_source()
    stale = Source.objects.get(pk=source.pk)
    Source.objects.filter(pk=source.pk).delete()
    stale.citation = "Back from the dead"
    with pytest.raises(VersionConflict, match="removed while you were editing"):
        record_save(instance=stale, via="test")
    assert not Source.objects.filter(pk=source.pk).exists()


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_workflow_steps_raise_the_version_and_refuse_a_stale_record(personas):
    reviewer = personas["reviewer"].user
    source = make_source()
    stale = Source.objects.get(pk=source.pk)
    record_submit(record=source, actor=reviewer, via="test")
    assert Source.objects.get(pk=source.pk).version == 2
    record_publish(record=source, actor=reviewer, via="test")
    assert Source.objects.get(pk=source.pk).version == 3
    # A form still holding version 1 cannot undo the publication by saving its old state.
    with pytest.raises(VersionConflict) as caught:
        record_save(instance=stale, actor=reviewer, via="test")
    assert "publication state" in caught.value.messages[0]
    assert Source.objects.get(pk=source.pk).state == PublicationState.PUBLISHED
    # A soft delete from a stale copy is refused too, and leaves the record live.
    with pytest.raises(VersionConflict):
        record_soft_delete(record=stale, actor=reviewer, via="test")
    assert stale.deleted_at is None
    assert Source.objects.get(pk=source.pk).deleted_at is None
    record_soft_delete(record=source, actor=reviewer, via="test")
    assert Source.objects.get(pk=source.pk).version == 4


def test_restoring_an_old_version_is_a_new_version(personas):
    from governance.audit import record_restore_version

    source = make_source()
    source.citation = "Changed"
    record_save(instance=source, via="test")
    first_event = source.events.order_by("pgh_id").first()
    record_restore_version(event=first_event, actor=personas["reviewer"].user, via="test")
    stored = Source.objects.get(pk=source.pk)
    assert stored.citation == "Budget of Olshany, 2024" and stored.version == 3


# --- The admin: two signed-in researchers ------------------------------------------------------


class FormValues(HTMLParser):
    """The values a browser would submit from the page's change form (inputs, selects,
    textareas; checked boxes only), so a test posts exactly what the user saw."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._select: str | None = None
        self._selected_any = False
        self._textarea: str | None = None
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button", "file"):
                return
            self.values.setdefault(name, []).append(
                a.get("value", "on" if kind == "checkbox" else "")
            )
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][0] += (
                data.removeprefix("\n") if not self.values[self._textarea][0] else data
            )


def form_of(response) -> dict[str, list[str]]:
    assert response.status_code == 200, response.status_code
    parser = FormValues()
    parser.feed(response.content.decode())
    return parser.values


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def two_researchers(django_user_model):
    anna = django_user_model.objects.create_superuser(
        username="anna-researcher", email="a@example.org", password="a-long-test-password-1"
    )
    boris = django_user_model.objects.create_superuser(
        username="boris-researcher", email="b@example.org", password="a-long-test-password-2"
    )
    return (anna, signed_in(anna)), (boris, signed_in(boris))


def test_admin_second_save_is_rejected_with_what_changed_and_keeps_the_input(two_researchers):
    (_anna, anna_client), (_boris, boris_client) = two_researchers
    source = make_source(note="")
    url = f"/admin/governance/source/{source.pk}/change/"
    anna_form, boris_form = form_of(anna_client.get(url)), form_of(boris_client.get(url))
    assert anna_form["loaded_version"] == ["1"] == boris_form["loaded_version"]

    anna_form["citation"] = ["Budget of Olshany, 2025"]
    saved = anna_client.post(url, anna_form)
    assert saved.status_code == 302, saved.content.decode()[:2000]

    boris_form["note"] = ["Boris's careful note"]
    rejected = boris_client.post(url, boris_form)
    assert rejected.status_code == 200
    page = rejected.content.decode()
    assert "changed by someone else while you were editing it" in page
    assert "citation: “Budget of Olshany, 2024” → “Budget of Olshany, 2025”" in page
    assert "anna-researcher" in page
    assert "Boris&#x27;s careful note" in page  # his input is still in the form
    # The database holds Anna's change only, and the history one change.
    stored = Source.objects.get(pk=source.pk)
    assert (stored.citation, stored.note, stored.version) == ("Budget of Olshany, 2025", "", 2)
    assert len(update_events(stored)) == 1
    # The page now carries the current version: saving again is Boris's informed choice.
    again = form_of(rejected)
    assert again["loaded_version"] == ["2"]
    assert boris_client.post(url, again).status_code == 302
    stored = Source.objects.get(pk=source.pk)
    assert stored.note == "Boris's careful note" and stored.version == 3


def test_admin_view_only_and_add_forms_carry_no_version(two_researchers, personas):
    (_anna, anna_client), _ = two_researchers
    page = anna_client.get("/admin/governance/source/add/").content.decode()
    assert "loaded_version" not in page
    source = make_source()
    donor_like = personas["researcher"].client  # researchers may change sources: has the field
    assert VERSION_INPUT.search(
        donor_like.get(f"/admin/governance/source/{source.pk}/change/").content.decode()
    )


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_admin_inline_row_edited_meanwhile_is_rejected(two_researchers):
    (_anna, anna_client), (_boris, boris_client) = two_researchers
    cso = CSO.objects.filter(leaderships__isnull=False, deleted_at__isnull=True).first()
    assert cso is not None
    url = f"/admin/csos/cso/{cso.pk}/change/"
    boris_form = form_of(boris_client.get(url))
    row_prefix = next(
        name.removesuffix("-loaded_version")
        for name in boris_form
        if name.startswith("leaderships-") and name.endswith("-loaded_version")
    )
    row_id = int(boris_form[f"{row_prefix}-id"][0])
    # Anna changes that leadership in its own admin page meanwhile.
    from csos.models import CSOLeadership

    leadership_url = f"/admin/csos/csoleadership/{row_id}/change/"
    anna_form = form_of(anna_client.get(leadership_url))
    anna_form["role"] = ["Chair (re-elected)"]
    assert anna_client.post(leadership_url, anna_form).status_code == 302
    # Boris saves the CSO page with his stale copy of the row.
    boris_form[f"{row_prefix}-role"] = ["Treasurer"]
    rejected = boris_client.post(url, boris_form)
    assert rejected.status_code == 200
    page = rejected.content.decode()
    assert "Nothing was saved" in page and "changed by someone else" in page
    assert "Chair (re-elected)" in page and "anna-researcher" in page
    assert CSOLeadership.objects.get(pk=row_id).role == "Chair (re-elected)"


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_admin_reference_data_is_protected_too(two_researchers):
    (_anna, anna_client), (_boris, boris_client) = two_researchers
    post = Post.objects.first()
    url = f"/admin/towns/post/{post.pk}/change/"
    anna_form, boris_form = form_of(anna_client.get(url)), form_of(boris_client.get(url))
    anna_form["organization"] = ["District executive committee (renamed)"]
    assert anna_client.post(url, anna_form).status_code == 302
    boris_form["name_ru"] = ["Председатель (исправлено)"]
    rejected = boris_client.post(url, boris_form)
    assert rejected.status_code == 200
    assert "changed by someone else" in rejected.content.decode()
    stored = Post.objects.get(pk=post.pk)
    assert stored.organization == "District executive committee (renamed)"
    assert stored.name_ru != "Председатель (исправлено)"


# --- A real race: two connections, committed rows ------------------------------------------------


def committed(fn):
    """Run ``fn`` in a thread, on its own connection, outside the test's transaction."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as error:  # handed to the test thread
            box["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def purge_committed(pk: int) -> None:
    def purge():
        with transaction.atomic():
            event_model = Source.pgh_event_model
            contexts = list(
                event_model.objects.filter(pgh_obj_id=pk)
                .exclude(pgh_context_id=None)
                .values_list("pgh_context_id", flat=True)
            )
            Source.objects.filter(pk=pk).delete()
            event_model.objects.filter(pgh_obj_id=pk).delete()
            from pghistory.models import Context

            Context.objects.filter(pk__in=contexts).delete()

    committed(purge)


def test_two_connections_racing_from_the_same_version_exactly_one_wins():
    pk = committed(lambda: make_source(citation="Race subject", is_synthetic=True).pk)
    try:
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}
        timings: dict[str, float] = {}

        def writer(name: str, hold: float):
            try:
                record = Source.objects.get(pk=pk)  # both read version 1 ...
                barrier.wait(10)  # ... before either writes
                record.citation = f"Race subject, edited by {name}"
                started = time.monotonic()
                with transaction.atomic():
                    record_save(instance=record, via="test")
                    time.sleep(hold)  # keep the row locked: the other writer must wait
                timings[name] = time.monotonic() - started
                results[name] = "saved"
            except VersionConflict as conflict:
                timings[name] = time.monotonic() - started
                results[name] = conflict
            finally:
                connections.close_all()

        threads = [
            threading.Thread(target=writer, args=("first", 0.5)),
            threading.Thread(target=writer, args=("second", 0.5)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        saved = [n for n, r in results.items() if r == "saved"]
        refused = [n for n, r in results.items() if isinstance(r, VersionConflict)]
        assert len(saved) == 1 and len(refused) == 1, results
        winner, loser = saved[0], refused[0]
        assert "Race subject, edited by" in results[loser].messages[0]

        def stored():
            source = Source.objects.get(pk=pk)
            return source.citation, source.version, source.events.filter(pgh_label="update").count()

        citation, version, updates = committed(stored)
        assert citation == f"Race subject, edited by {winner}"
        assert (version, updates) == (2, 1)
    finally:
        purge_committed(pk)


def test_a_writer_waits_for_the_row_lock_then_sees_the_new_version():
    pk = committed(lambda: make_source(citation="Lock subject", is_synthetic=True).pk)
    try:
        locked = threading.Event()
        outcome: dict = {}

        def holder():
            try:
                with transaction.atomic():
                    record = Source.objects.get(pk=pk)
                    record.citation = "Lock subject, by the holder"
                    record_save(instance=record, via="test")
                    locked.set()
                    time.sleep(1.0)
            finally:
                connections.close_all()

        def latecomer():
            try:
                record = Source.objects.get(pk=pk)  # read before the holder's commit
                assert record.version == 1
                locked.wait(10)
                record.citation = "Lock subject, by the latecomer"
                started = time.monotonic()
                try:
                    record_save(instance=record, via="test")
                    outcome["result"] = "saved"
                except VersionConflict as conflict:
                    outcome["result"] = conflict
                outcome["waited"] = time.monotonic() - started
            finally:
                connections.close_all()

        late = threading.Thread(target=latecomer)
        late.start()
        time.sleep(0.2)  # the latecomer has read version 1
        hold = threading.Thread(target=holder)
        hold.start()
        hold.join(30)
        late.join(30)
        assert isinstance(outcome["result"], VersionConflict), outcome
        assert outcome["result"].current == 2
        assert outcome["waited"] >= 0.5  # it was blocked by the lock, not ahead of it
        assert (
            committed(lambda: Source.objects.get(pk=pk).citation) == "Lock subject, by the holder"
        )
    finally:
        purge_committed(pk)
