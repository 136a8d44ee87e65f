"""Review of changes: a change to a record the public sees waits for a reviewer's approval.

What is under review
--------------------
* a **published research record** (``state == "published"``, deleted or not): any change to
  its fields or its many-to-many relations (sources, towns…), its soft deletion and its
  restoration;
* every **reference record** (models with a ``version`` but no publication state: towns and
  their facts, regions, districts, posts, indicators, fields of activity), which the public
  always sees: its creation (a revision of kind "new record", with no row until a reviewer
  approves it), any change, and its deletion.

Drafts and records in review are written directly: the public does not see them, and
publishing them is already a reviewer's step (:mod:`governance.workflow`). Creating a
research record creates a draft, as before.

How
---
:func:`governance.services.record_save` is the one save path of the admin, the API, the
imports, the workflow steps and the restore of an earlier version. For a record under review
it calls :func:`propose` instead of writing the row: the change is validated as a save would
be (``full_clean``, "a claim needs a source", the version it started from) and stored, field
by field, old and new, in the author's pending :class:`~governance.models.Revision` of that
record (one per author and record; a further edit merges into it). The row is not touched,
so every read path (pages, API, exports, caches) keeps showing the published version
without a change of its own. The author's admin form shows their pending version.

A reviewer (``governance.publish_record``) sees the changes in the admin ("Changes for
review"), and :func:`approve` applies them through the record's own save service (the one
that also refreshes stored town aggregates, or checks CSO status moves), inside one
transaction, or :func:`send_back` returns them to the author with a comment. Approval refuses
a change when another approved change touched one of its fields since (the field's value is
no longer the revision's ``old``): nothing is silently overwritten. The applied change is in
the audit trail (pghistory) under its author, with the reviewer and the revision in the
context; the approval is a :class:`~governance.models.ReviewEvent`.

A reviewer's own edit is a revision too. It is approved by another reviewer, or explicitly
by the same reviewer from the revision's page: a form save never publishes by accident, and
the log shows who approved what, including self-approval (a team may have one reviewer).

Who writes directly
-------------------
Inside :func:`direct_writes` nothing is intercepted. It is used by :func:`approve` itself, by
the reviewers' workflow step "unpublish" (taking a published record off the public is the
opposite of publishing), and by the demo loader ``load_demo`` (the data loader of the demo,
which owns the demo's fields and never touches what reviewers decide: state and access).
Stored town aggregates (typology, share) are computed from published rows, not edited, and
are written by a queryset ``update``; the scale generator (``generate_scale_data``) writes
synthetic benchmark rows with ``COPY``. Neither is an edit of a research record.

API for other modules
---------------------
:func:`pending_revisions`, :func:`revisions_for_record`, :func:`approve`, :func:`send_back`,
:func:`withdraw`, :func:`approve_all`, :func:`record_towns` and :func:`record_town`;
:func:`pending_for` and :func:`overlay` give an author's pending version of a record.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import pghistory
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from governance.models import ReviewEvent, Revision

#: Bookkeeping fields that are never part of a change.
BOOKKEEPING = frozenset({"version", "created_at", "updated_at"})
#: Save services that also keep derived data right (town aggregates, CSO status moves), by
#: app label; other apps save with governance.services.record_save.
SAVE_SERVICES = {
    "towns": "towns.services.research_record_save",
    "csos": "csos.services.csos_record_save",
}

#: Reference records whose creation is not (yet) reviewed. A post is created in the same
#: save as the appointments that hold it (the town workspace enters both at once), and an
#: appointment cannot point at a post that does not exist yet. A new post is still not public:
#: below research level a post is seen only through an appointment the viewer may see, which a
#: reviewer published (towns.models.power.PostQuerySet.visible_to). Changes and deletions of
#: posts are reviewed.
CREATED_DIRECTLY = frozenset({"towns.post"})

_direct: contextvars.ContextVar[str | None] = contextvars.ContextVar("direct_writes", default=None)
_collected: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "revisions_collected", default=None
)


# --- Who writes directly ----------------------------------------------------------------------


@contextlib.contextmanager
def direct_writes(reason: str) -> Iterator[None]:
    """Write records under review directly in this block (approval, unpublish, demo loader)."""
    token = _direct.set(reason)
    try:
        yield
    finally:
        _direct.reset(token)


def writes_directly() -> bool:
    return _direct.get() is not None


@contextlib.contextmanager
def collecting() -> Iterator[list[Revision]]:
    """Collect the revisions proposed in this block (the admin tells the user about them)."""
    made: list[Revision] = []
    token = _collected.set(made)
    try:
        yield made
    finally:
        _collected.reset(token)


def collected() -> list[Revision]:
    """The revisions proposed so far in the current :func:`collecting` block (or none)."""
    return list(_collected.get() or [])


# --- What is under review ---------------------------------------------------------------------


def has_field(model, name: str) -> bool:
    """Whether ``model`` has a concrete field or many-to-many relation ``name``."""
    opts = model._meta
    return any(f.name == name for f in (*opts.concrete_fields, *opts.many_to_many))


def is_reference(model) -> bool:
    """A record the public always sees: versioned, without a publication state."""
    from governance.services import is_versioned

    return is_versioned(model) and not has_field(model, "state")


def under_review(stored: models.Model) -> bool:
    """Whether a change to the stored record ``stored`` must wait for a reviewer."""
    from governance.access import PublicationState
    from governance.services import is_versioned

    if not is_versioned(stored):
        return False
    if has_field(type(stored), "state"):
        return stored.state == PublicationState.PUBLISHED
    return True


def reviewed_fields(model) -> list[models.Field]:
    """The concrete fields a change is made of (editable ones, and ``deleted_at``)."""
    return [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key
        and f.name not in BOOKKEEPING
        and (f.editable or f.name == "deleted_at")
    ]


def _m2m_fields(model) -> dict[str, models.Field]:
    return {f.name: f for f in model._meta.many_to_many}


def stored_value(field: models.Field, obj: models.Model) -> Any:
    """The value of ``field`` on ``obj`` as a revision stores it (JSON-friendly)."""
    value = field.value_from_object(obj)
    if value is None:
        return None
    if field.is_relation:
        return field.get_prep_value(value)
    if isinstance(field, models.DecimalField):
        # 53.1 and 53.10000 are the same stored value: compare at the column's scale.
        value = field.to_python(value).quantize(Decimal(1).scaleb(-field.decimal_places))
    return value


def as_json(value: Any) -> Any:
    """``value`` as it reads back from the JSON column (dates, decimals become text)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def field_diff(stored: models.Model, instance: models.Model, m2m: dict | None) -> dict:
    """``{name: {"old", "new"}}`` of each field (and relation in ``m2m``) that differs."""
    changes: dict[str, dict] = {}
    for field in reviewed_fields(type(stored)):
        old = as_json(stored_value(field, stored))
        new = as_json(stored_value(field, instance))
        if old != new:
            changes[field.name] = {"old": old, "new": new}
    m2m_fields = _m2m_fields(type(stored))
    for name, values in (m2m or {}).items():
        if name not in m2m_fields:
            continue
        old = sorted(getattr(stored, name).values_list("pk", flat=True))
        new = sorted({getattr(v, "pk", v) for v in values})
        if old != new:
            changes[name] = {"old": old, "new": new}
    return changes


# --- Towns of a record ------------------------------------------------------------------------


def record_towns(obj: models.Model) -> list[int]:
    """The ids of the towns ``obj`` belongs to (its own id for a town; none if it has none).

    A record belongs to a town through a ``town`` foreign key (values, appointments,
    influences, activities, cooperation cases, heritage), a ``towns`` relation (CSOs), its
    CSO (leaderships, capacity scores, the source CSO of a link), its group's influences (a
    group, a membership) or, for a person, the towns of their appointments or else their
    town of origin.
    """
    model = type(obj)
    label = model._meta.label_lower
    if label == "towns.town":
        return [obj.pk] if obj.pk else []
    if getattr(obj, "town_id", None):
        return [obj.town_id]
    if has_field(model, "towns") and obj.pk:
        return list(obj.towns.values_list("pk", flat=True))
    for name in ("cso", "source_cso", "person_a"):
        if getattr(obj, f"{name}_id", None):
            return record_towns(getattr(obj, name))
    if label == "towns.influencegroup" and obj.pk:
        return sorted(set(obj.influences.values_list("town_id", flat=True)))
    if getattr(obj, "group_id", None):
        return record_towns(obj.group)
    if label == "towns.person" and obj.pk:
        towns = sorted(set(obj.appointments.values_list("town_id", flat=True)))
        if towns:
            return towns
        return [obj.origin_town_id] if obj.origin_town_id else []
    return []


def record_town(obj: models.Model):
    """The town ``obj`` belongs to (the first, if several), or None."""
    from towns.models import Town

    ids = record_towns(obj)
    return Town.objects.filter(pk=ids[0]).first() if ids else None


# --- Proposing a change -----------------------------------------------------------------------


def _record_filter(model_or_obj, object_id=None) -> dict:
    content_type = ContentType.objects.get_for_model(model_or_obj, for_concrete_model=False)
    if object_id is None:
        object_id = model_or_obj.pk
    return {"content_type": content_type, "object_id": object_id}


def pending_for(obj: models.Model, user) -> Revision | None:
    """The pending revision of ``obj`` by ``user``, if any."""
    if obj.pk is None or getattr(user, "pk", None) is None:
        return None
    return (
        Revision.objects.filter(**_record_filter(obj), author=user, status=Revision.Status.PENDING)
        .order_by()
        .first()
    )


def _remember(revision: Revision) -> None:
    made = _collected.get()
    if made is not None:
        made.append(revision)


def propose(
    *, instance: models.Model, actor=None, via: str = "service", m2m: dict | None = None
) -> bool:
    """Store the change of ``instance`` as a revision instead of writing it, if under review.

    Called by :func:`governance.services.record_save` inside its transaction for an existing
    versioned record. Returns False when the record is not under review (the caller writes it),
    True when the change was handled here: stored in the author's pending revision (also set
    as ``instance._pending_revision``), or nothing to store (no field differs). Raises
    ``ValidationError`` (and :class:`~governance.services.VersionConflict`) as a save would.
    """
    from governance.services import VersionConflict, claim_check, version_conflict

    if writes_directly():
        return False
    if instance._state.adding:
        return _propose_creation(instance, actor=actor, via=via, m2m=m2m)
    if instance.pk is None:
        return False
    model = type(instance)
    stored = model._base_manager.select_for_update().filter(pk=instance.pk).first()
    if stored is None:
        raise VersionConflict(
            instance=instance, expected=instance.version, current=None, removed=True
        )
    if not under_review(stored):
        return False
    if instance.version != stored.version:
        raise version_conflict(
            instance, expected=instance.version, current=stored.version, actor=actor
        )
    instance.full_clean()
    if hasattr(instance, "confidence"):
        claim_check(instance, (m2m or {}).get("sources"))
    changes = field_diff(stored, instance, m2m)
    deleting = "deleted_at" in changes and changes["deleted_at"]["new"] is not None
    if deleting:
        changes = {"deleted_at": changes["deleted_at"]}
    revision = pending_for(stored, actor)
    if revision is not None and not deleting and not getattr(instance, "_shows_pending", False):
        # A partial write (an API PATCH, an import row) adds to what is already pending.
        merged = {**revision.changes, **changes}
        changes = field_diff(stored, _applied(stored, merged), _m2m_of(merged, model))
    instance._pending_revision = None
    if not changes:
        if revision is not None:
            revision.status = Revision.Status.WITHDRAWN
            revision.save(update_fields=["status", "updated_at"])
        return True
    deleting = "deleted_at" in changes and changes["deleted_at"]["new"] is not None
    kind = Revision.Kind.DELETE if deleting else Revision.Kind.CHANGE
    instance._pending_revision = _store(revision, stored, actor, via, kind, changes)
    return True


def _propose_creation(instance: models.Model, *, actor, via: str, m2m: dict | None) -> bool:
    """A new reference record (a post, a district, a town...) as a revision, not a row: the
    public sees every reference record, so a new one waits for a reviewer like a change does.
    Validated as a save would be; research records (they start as drafts) return False."""
    model = type(instance)
    if not is_reference(model) or model._meta.label_lower in CREATED_DIRECTLY:
        return False
    instance.full_clean()
    changes = {}
    for field in reviewed_fields(model):
        new = as_json(stored_value(field, instance))
        if new is not None and new != "":
            changes[field.name] = {"old": None, "new": new}
    m2m_fields = _m2m_fields(model)
    for name, values in (m2m or {}).items():
        ids = sorted({getattr(v, "pk", v) for v in values})
        if name in m2m_fields and ids:
            changes[name] = {"old": [], "new": ids}
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    revision = Revision.objects.create(
        content_type=content_type,
        object_id=None,
        author=actor if getattr(actor, "pk", None) else None,
        kind=Revision.Kind.CREATE,
        changes=changes,
        base_version=None,
        via=via[:20],
        object_repr=str(instance)[:200],
        towns=record_towns(instance),
    )
    _remember(revision)
    instance._pending_revision = revision
    return True


def _store(revision, stored, actor, via: str, kind: str, changes: dict) -> Revision:
    """Save ``changes`` of ``stored`` as the author's pending revision (new if ``revision`` is
    None), with the record's current version, name and towns."""
    if revision is None:
        revision = Revision(
            **_record_filter(stored), author=actor if getattr(actor, "pk", None) else None
        )
    revision.kind = kind
    revision.changes = changes
    revision.base_version = stored.version
    revision.via = via[:20]
    revision.object_repr = str(stored)[:200]
    revision.towns = record_towns(stored)
    revision.save()
    _remember(revision)
    return revision


def propose_removal(*, instance: models.Model, actor=None, via: str = "service") -> bool:
    """A deletion of a reference record (it has no soft delete) as a revision, if under review.

    Returns False when the caller may delete the row itself.
    """
    if writes_directly() or instance.pk is None:
        return False
    stored = type(instance)._base_manager.filter(pk=instance.pk).first()
    if stored is None or not under_review(stored):
        return False
    revision = pending_for(stored, actor)
    instance._pending_revision = _store(revision, stored, actor, via, Revision.Kind.DELETE, {})
    return True


# --- An author's pending version --------------------------------------------------------------


def _m2m_of(changes: dict, model) -> dict[str, list]:
    names = _m2m_fields(model)
    return {name: change["new"] for name, change in changes.items() if name in names}


def _applied(stored: models.Model, changes: dict) -> models.Model:
    """A copy of ``stored`` with the concrete field values of ``changes``."""
    copy = type(stored)._base_manager.get(pk=stored.pk)
    overlay(copy, changes)
    return copy


def overlay(obj: models.Model, changes: dict) -> dict[str, list]:
    """Set the new values of ``changes`` on ``obj`` in memory; returns the many-to-many ones
    (relation name → list of ids) for a form's initial data. Marks ``obj`` as showing its
    pending version, so that a save of it replaces the pending revision instead of adding."""
    model = type(obj)
    for name, change in changes.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:  # a field removed since the revision was made
            continue
        if field.many_to_many:
            continue
        value = change["new"]
        setattr(obj, field.attname, None if value is None else field.to_python(value))
    obj._shows_pending = True
    return _m2m_of(changes, model)


# --- Reading ----------------------------------------------------------------------------------


def pending_revisions(user=None, town=None) -> models.QuerySet[Revision]:
    """Pending revisions, oldest first: of ``user`` (as author) and of ``town`` when given."""
    queryset = Revision.objects.filter(status=Revision.Status.PENDING).select_related(
        "content_type", "author"
    )
    if user is not None:
        queryset = queryset.filter(author=user)
    if town is not None:
        queryset = queryset.filter(towns__contains=[getattr(town, "pk", town)])
    return queryset.order_by("created_at", "pk")


def revisions_for_record(obj: models.Model) -> models.QuerySet[Revision]:
    """Every revision of ``obj``, newest first."""
    return Revision.objects.filter(**_record_filter(obj)).select_related("author", "reviewer")


def model_label(revision: Revision) -> str:
    """The kind of record in words ("Cooperation case"), never an app label."""
    model = revision.content_type.model_class()
    return capfirst(model._meta.verbose_name) if model else revision.content_type.model


def display(field: models.Field | None, value: Any) -> str:
    """A stored value as a reviewer reads it: choice labels, related records' names."""
    from governance.services import display_value

    if field is None or value is None or value == "":
        return display_value(value)
    if field.many_to_many or field.is_relation:
        ids = value if isinstance(value, list) else [value]
        related = field.related_model._base_manager.in_bulk(ids)
        names = [str(related[i]) if i in related else f"#{i}" for i in ids]
        return "; ".join(names) if names else "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return display_value(value)


def diff_rows(revision: Revision) -> list[dict]:
    """One row per changed field: name, human label, old and new as text, and whether the
    published value moved since the revision was made (approval would then be refused)."""
    model = revision.content_type.model_class()
    record = revision.record if model and revision.kind != Revision.Kind.CREATE else None
    rows = []
    for name, change in revision.changes.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        current = None
        if record is not None and field is not None:
            current = (
                sorted(getattr(record, name).values_list("pk", flat=True))
                if field.many_to_many
                else as_json(stored_value(field, record))
            )
        rows.append(
            {
                "name": name,
                "label": capfirst(field.verbose_name) if field is not None else name,
                "old": display(field, change["old"]),
                "new": display(field, change["new"]),
                "moved": record is not None and field is not None and current != change["old"],
            }
        )
    return rows


# --- Deciding ---------------------------------------------------------------------------------


def _require_reviewer(by) -> None:
    from governance.workflow import may_publish

    if not may_publish(by):
        raise PermissionDenied(_("Only reviewers and admins may approve or send back changes."))


def _locked_pending(revision: Revision) -> Revision:
    locked = Revision.objects.select_for_update().get(pk=revision.pk)
    if locked.status != Revision.Status.PENDING:
        raise ValidationError(
            _("This change is no longer pending (it is “%(status)s”).")
            % {"status": locked.get_status_display()}
        )
    return locked


def save_service_for(model) -> Any:
    from governance.services import record_save

    path = SAVE_SERVICES.get(model._meta.app_label)
    return import_string(path) if path else record_save


def _log(revision: Revision, *, by, action: str, comment: str) -> None:
    ReviewEvent.objects.create(
        actor=by,
        action=action,
        model=revision.content_type.app_label + "." + revision.content_type.model,
        object_id="" if revision.object_id is None else str(revision.object_id),
        object_repr=revision.object_repr,
        comment=comment[:500],
    )


@transaction.atomic
def approve(revision: Revision, *, by) -> models.Model | None:
    """Apply ``revision`` to its record (reviewers only); returns the record (None if removed).

    Refused (``ValidationError``, nothing written) when the revision is not pending, when its
    record is gone, or when a field it changes no longer has the value the change started
    from (another approved change touched it): send it back so that its author redoes it.
    """
    _require_reviewer(by)
    revision = _locked_pending(revision)
    model = revision.content_type.model_class()
    creating = revision.kind == Revision.Kind.CREATE
    if creating:
        # A new record: created by its save service, which validates it again (a code taken
        # meanwhile is refused with the field's error, nothing written).
        record = model()
    else:
        record = model._base_manager.select_for_update().filter(pk=revision.object_id).first()
    if record is None:
        raise ValidationError(_("The record of this change no longer exists."))
    moved = [row["label"] for row in diff_rows(revision) if row["moved"]]
    if moved:
        raise ValidationError(
            _(
                "Since this change was proposed, another change was approved to: %(fields)s. "
                "Nothing was applied: send it back so that its author redoes it from the "
                "current version."
            )
            % {"fields": ", ".join(str(m) for m in moved)}
        )
    author = revision.author
    context = {"approved_by": by.pk, "revision": revision.pk}
    with direct_writes("approve"), pghistory.context(**context):
        if revision.kind == Revision.Kind.DELETE and not has_field(model, "deleted_at"):
            from governance.services import audit_context

            try:
                with audit_context(actor=author, via=revision.via or "review"):
                    record.delete()
            except (ProtectedError, RestrictedError) as error:
                blocking = ", ".join(sorted({str(o) for o in error.args[1]})[:5])
                raise ValidationError(
                    _("Other records depend on it: %(records)s.") % {"records": blocking}
                ) from error
            record = None
        else:
            m2m = overlay(record, revision.changes)
            save_service_for(model)(
                instance=record, actor=author, via=revision.via or "review", m2m=m2m
            )
    fields = ["status", "reviewer", "reviewed_at", "updated_at"]
    if creating:
        revision.object_id = record.pk
        revision.object_repr = str(record)[:200]
        revision.towns = record_towns(record)
        fields += ["object_id", "object_repr", "towns"]
    revision.status = Revision.Status.APPROVED
    revision.reviewer = by
    revision.reviewed_at = timezone.now()
    revision.save(update_fields=fields)
    what = ", ".join(str(row["label"]) for row in diff_rows(revision)) or _("deletion")
    _log(revision, by=by, action=ReviewEvent.Action.APPROVE, comment=what)
    return record


@transaction.atomic
def send_back(revision: Revision, *, by, comment: str) -> Revision:
    """Return ``revision`` to its author with ``comment`` (required); nothing is applied."""
    _require_reviewer(by)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Say why the change is sent back.")})
    revision = _locked_pending(revision)
    revision.status = Revision.Status.SENT_BACK
    revision.reviewer = by
    revision.reviewed_at = timezone.now()
    revision.comment = comment
    revision.save(update_fields=["status", "reviewer", "reviewed_at", "comment", "updated_at"])
    _log(revision, by=by, action=ReviewEvent.Action.SEND_BACK, comment=comment)
    return revision


@transaction.atomic
def withdraw(revision: Revision, *, by) -> Revision:
    """The author (or a reviewer) drops a pending revision; nothing is applied."""
    if revision.author_id != getattr(by, "pk", None):
        _require_reviewer(by)
    revision = _locked_pending(revision)
    revision.status = Revision.Status.WITHDRAWN
    revision.save(update_fields=["status", "updated_at"])
    return revision


def approve_all(revisions: Iterable[Revision], *, by) -> dict:
    """Approve each revision on its own (one refused does not stop the others).

    Returns ``{"approved": n, "refused": m, "errors": [(revision, message), …]}``.
    """
    _require_reviewer(by)
    approved, errors = 0, []
    for revision in revisions:
        try:
            approve(revision, by=by)
        except (ValidationError, PermissionDenied) as error:
            message = " ".join(getattr(error, "messages", [str(error)]))
            errors.append((revision, message))
        else:
            approved += 1
    return {"approved": approved, "refused": len(errors), "errors": errors}
