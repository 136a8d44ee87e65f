"""Write helpers every app's services share: validation of claims, the audit context, and the
optimistic lock against concurrent edits.

Concurrent edits
----------------
Every record people edit has a ``version`` (:class:`governance.models.TimeStamped`). A writer
starts from the version it loaded (the admin form carries it in a hidden field, an API client
sends it back in the body); :func:`record_save` locks the row (``SELECT … FOR UPDATE``),
compares the stored version with the instance's, and then saves with the version raised by
one, all in one transaction. A save that started from an older version is refused with a
:class:`VersionConflict` naming what changed since, who changed it and when (read from the
pghistory events), and nothing is written: never a silent overwrite. Two writers racing from
the same version are serialised by the row lock, so exactly one of them succeeds.

Why a small service and not django-concurrency: every write already goes through this one
function (admin, API, imports, workflow steps), so the check lives in one place; the version
must count 1, 2, 3 … with a database default for raw inserters; and the admin and the API
need conflict messages built from the audit trail, which the package does not give.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from governance.access import PublicationState
from governance.models import published_unique_constraints

#: The optimistic-lock column (see governance.models.TimeStamped).
VERSION_FIELD = "version"


def claim_has_source(instance: models.Model, sources: list | None = None) -> bool:
    """A claim cites a source through a ``source`` foreign key or a ``sources`` relation
    (``sources``: the relation's values about to be set, when not yet saved)."""
    if getattr(instance, "source_id", None):
        return True
    if sources is not None:
        return bool(sources)
    sources = getattr(instance, "sources", None)
    return bool(sources is not None and instance.pk and sources.exists())


def claim_check(instance: models.Model, sources: list | None = None) -> None:
    """A claim without a source is allowed only as a draft."""
    state = getattr(instance, "state", PublicationState.DRAFT)
    if state != PublicationState.DRAFT and not claim_has_source(instance, sources):
        raise ValidationError(
            {
                "state": _(
                    "A claim without a source can only be a draft: add a source or keep it as "
                    "a draft."
                )
            }
        )


@contextlib.contextmanager
def audit_context(*, actor=None, via: str) -> Iterator[None]:
    """Attach who (``actor``) and how (``via``: admin, api, import, command) to history rows."""
    with pghistory.context(user=getattr(actor, "pk", None), via=via):
        yield


def is_versioned(model: type[models.Model] | models.Model) -> bool:
    """Whether ``model`` has the optimistic-lock column."""
    return any(f.name == VERSION_FIELD for f in model._meta.concrete_fields)


@dataclass(frozen=True)
class ConcurrentChange:
    """One field another writer changed: its name, label and display values before and after."""

    name: str
    label: str
    old: Any
    new: Any


class VersionConflict(ValidationError):
    """A save started from ``expected`` but the record is at ``current``: refused, nothing written.

    ``changes`` are the fields changed since ``expected`` that the writer may see, ``editors``
    who changed them (users, or ids when the user is gone) and ``changed_at`` when the last
    change happened; ``removed`` says the record no longer exists (purged meanwhile).
    """

    def __init__(
        self,
        *,
        instance: models.Model,
        expected: int | None,
        current: int | None,
        changes: list[ConcurrentChange] | None = None,
        editors: list | None = None,
        changed_at=None,
        removed: bool = False,
        actor=None,
    ):
        self.instance = instance
        self.expected = expected
        self.current = current
        self.changes = changes or []
        self.editors = editors or []
        self.changed_at = changed_at
        self.removed = removed
        super().__init__(self.describe(show_values=True), code="version_conflict")

    def describe(
        self,
        *,
        show_values: bool,
        show_editors: bool = True,
        changes: list[ConcurrentChange] | None = None,
    ) -> str:
        """The message: what changed (with old → new values when ``show_values``), who, when.

        ``changes`` narrows the fields named (e.g. to those of an API representation).
        """
        changes = self.changes if changes is None else changes
        record = self.instance._meta.verbose_name
        if self.removed:
            return _(
                "This %(record)s was removed while you were editing it: nothing was saved."
            ) % {"record": record}
        parts = [
            _(
                "This %(record)s was changed by someone else while you were editing it "
                "(you started from version %(expected)s, it is now at version %(current)s): "
                "nothing was saved."
            )
            % {"record": record, "expected": self.expected, "current": self.current}
        ]
        if show_editors and self.editors:
            who = ", ".join(editor_name(e) for e in self.editors)
            when = self.changed_at.strftime("%Y-%m-%d %H:%M:%S %Z") if self.changed_at else "?"
            parts.append(_("Changed by %(who)s, last at %(when)s.") % {"who": who, "when": when})
        if changes:
            if show_values:
                listed = "; ".join(
                    f"{c.label}: “{display_value(c.old)}” → “{display_value(c.new)}”"
                    for c in changes
                )
            else:
                listed = ", ".join(c.label for c in changes)
            parts.append(_("What changed: %(changes)s.") % {"changes": listed})
        else:
            parts.append(_("No field you may see changed (only its bookkeeping)."))
        parts.append(
            _(
                "Your input is kept: compare it with these changes, then save again to "
                "replace them, or reload the record to start from the current version."
            )
        )
        return " ".join(parts)


def editor_name(editor) -> str:
    if isinstance(editor, models.Model):
        full = getattr(editor, "get_full_name", lambda: "")()
        return full or editor.get_username()
    return _("user #%(id)s") % {"id": editor} if editor is not None else _("an unknown writer")


def display_value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    text = str(value)
    return text if len(text) <= 80 else f"{text[:77]}…"


def changes_since(
    *, model: type[models.Model], object_id, version: int | None, viewer=None
) -> tuple[list[ConcurrentChange], list, Any]:
    """What changed in a record after ``version``: (changes, editors, time of the last change).

    Read from the record's history (pghistory events, which carry the version): for each field
    changed by an event newer than ``version``, its value at ``version`` and now. Fields the
    ``viewer`` may not see (:func:`governance.redaction.hidden_fields`) are left out.
    """
    from governance.audit import record_history
    from governance.redaction import hidden_fields

    entries = [
        entry
        for entry in reversed(record_history(model=model, object_id=object_id))
        if entry.label != "delete"
        and version is not None
        and (getattr(entry.event, VERSION_FIELD, None) or 0) > version
    ]
    if not entries:
        return [], [], None
    merged: dict[str, ConcurrentChange] = {}
    for entry in entries:
        for change in entry.changes:
            first = merged.get(change.name)
            old = first.old if first is not None else change.old
            merged[change.name] = ConcurrentChange(change.name, change.label, old, change.new)
    current = model._base_manager.filter(pk=object_id).first()
    hidden = hidden_fields(current, viewer) if current is not None else set()
    changes = [
        c for c in merged.values() if c.old != c.new and c.name not in hidden | {VERSION_FIELD}
    ]
    editors: list = []
    for entry in entries:
        if entry.user is not None and entry.user not in editors:
            editors.append(entry.user)
    return changes, editors, entries[-1].at


def version_claim(instance: models.Model, *, actor=None) -> None:
    """Lock the stored row of ``instance`` and raise its version by one, or refuse the save.

    ``instance.version`` is the version the writer started from. The row stays locked until
    the caller's transaction ends, so a second writer waits and then sees the new version.
    """
    model = type(instance)
    expected = getattr(instance, VERSION_FIELD)
    current = (
        model._base_manager.select_for_update()
        .filter(pk=instance.pk)
        .values_list(VERSION_FIELD, flat=True)
        .first()
    )
    if current is None:
        raise VersionConflict(instance=instance, expected=expected, current=None, removed=True)
    if current != expected:
        raise version_conflict(instance, expected=expected, current=current, actor=actor)
    setattr(instance, VERSION_FIELD, current + 1)


def version_conflict(
    instance: models.Model, *, expected: int | None, current: int, actor=None
) -> VersionConflict:
    """The conflict of a save from ``expected`` on a record now at ``current``, with its story."""
    changes, editors, at = changes_since(
        model=type(instance), object_id=instance.pk, version=expected, viewer=actor
    )
    return VersionConflict(
        instance=instance,
        expected=expected,
        current=current,
        changes=changes,
        editors=editors,
        changed_at=at,
    )


def seen_by(queryset: models.QuerySet, actor) -> models.QuerySet:
    """The live records of ``queryset`` that ``actor`` may see; all live ones for a write with
    no actor (a command, the demo loader: the system itself)."""
    if actor is None:
        return queryset.filter(deleted_at__isnull=True)
    return queryset.visible_to(actor)


def refuse_visible_duplicates(instance: models.Model, actor) -> None:
    """Refuse a new record, or a changed key, that a record the actor may see already holds, in
    any state (a draft too). The database holds such a key unique among the published records
    only (governance.models.published_unique): a key held by a record the actor may not see is
    no error here, since an error would tell them that record exists; the reviewer who would
    publish the second one meets the constraint instead."""
    model = type(instance)
    for constraint in published_unique_constraints(model):
        key = {
            model._meta.get_field(f).attname: getattr(instance, model._meta.get_field(f).attname)
            for f in constraint.fields
        }
        if any(value is None for value in key.values()):
            continue  # a missing part is the field's own error
        if not instance._state.adding:
            stored = model._base_manager.filter(pk=instance.pk).values(*key).first()
            if stored == key:
                continue  # the key is not changing: an edit is never refused for it
        holders = seen_by(model._default_manager.filter(**key), actor)
        if instance.pk is not None:
            holders = holders.exclude(pk=instance.pk)
        if holders.exists():
            raise ValidationError(constraint.get_violation_error_message())


@transaction.atomic
def record_save(
    *,
    instance: models.Model,
    actor=None,
    via: str = "service",
    m2m: dict[str, list] | None = None,
) -> models.Model:
    """Validate and save a record with its many-to-many relations, as one audited unit.

    ``m2m`` maps relation names to the objects to set (e.g. ``{"sources": [s1, s2]}``).
    Raises ``ValidationError`` (field errors) and leaves nothing written when invalid.

    An existing record is saved only from its current version: ``instance.version`` is the
    version the writer started from (as loaded, or as the form or API client sent it back).
    Otherwise :class:`VersionConflict` (a ``ValidationError``) is raised before anything is
    written. A new record starts at version 1.

    A change to a record under review (a published research record, any reference record) is
    not written: it is validated the same way and stored as the author's pending revision
    (:func:`governance.revisions.propose`, which sets ``instance._pending_revision``) until a
    reviewer approves it.
    """
    from governance.revisions import propose

    versioned = is_versioned(instance)
    started_from = getattr(instance, VERSION_FIELD, None) if versioned else None
    try:
        with audit_context(actor=actor, via=via):
            if versioned and propose(instance=instance, actor=actor, via=via, m2m=m2m):
                return instance
            if versioned and instance._state.adding:
                setattr(instance, VERSION_FIELD, 1)
            elif versioned:
                version_claim(instance, actor=actor)
            refuse_visible_duplicates(instance, actor)
            instance.full_clean()
            instance.save()
            for name, values in (m2m or {}).items():
                getattr(instance, name).set(values)
            if hasattr(instance, "confidence"):
                claim_check(instance)
    except BaseException:
        # The transaction rolls the row back; the caller's instance must not claim a version
        # that was never stored (a corrected form or a retry starts from the same one).
        if versioned:
            setattr(instance, VERSION_FIELD, started_from)
        raise
    return instance
