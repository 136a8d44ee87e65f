"""The audit trail read back: the history of a record, and restoring one of its versions.

The history itself is written by PostgreSQL triggers (django-pghistory, see
:func:`governance.models.audited`): every insert, update and delete of an audited model, from
any write path (forms, services, imports, commands, queryset ``update()``, ``bulk_update``,
``bulk_create``), leaves a row in the model's event table with the values after the change
and the context (who: ``user``, how: ``via``, and the request ``url`` where there was one).

* :func:`record_history` lists the events of one record, newest first, each with who, when,
  how and which fields changed from what to what.
* :func:`record_restore_version` copies the tracked values of an event back onto the record,
  or recreates the record when it was purged, through the record's save service: the restore
  is itself validated and leaves a new event, so nothing is ever overwritten without a trace.
* :func:`purged_records` finds records that exist only in their history any more.

What the history does not hold: many-to-many relations (a claim's sources), which live in
tables without triggers. A recreated claim that cites its sources that way therefore comes back
without them and, unless it was a draft, as a draft (a claim without a source may not be
anything else), so that a reviewer adds them and looks at it again. A claim citing one source
through a foreign key (an indicator value) keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pghistory
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from governance.access import PublicationState
from governance.models import ReviewEvent
from governance.services import claim_has_source, record_save
from governance.workflow import SaveService, may_publish, model_permission, review_event_log

#: Fields that change with every save: shown as the event's time, not as a change.
NOISE_FIELDS = frozenset({"updated_at", "search_text", "version"})


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    old: Any
    new: Any


@dataclass
class HistoryEntry:
    """One event of a record: when, what kind (insert/update/delete), who, how, what changed."""

    event: models.Model
    at: Any
    label: str
    user: Any
    via: str
    url: str
    changes: list[FieldChange] = field(default_factory=list)
    is_latest: bool = False


def event_model_for(model: type[models.Model]) -> type[models.Model] | None:
    """The pghistory event model of ``model``, or None when the model is not audited."""
    events = getattr(model, "pgh_event_models", None)
    if not events:
        return None
    return model.pgh_event_model


def tracked_fields(model: type[models.Model]) -> list[models.Field]:
    """The concrete fields of ``model`` that its event model keeps (all of them, for audited())."""
    event_model = event_model_for(model)
    if event_model is None:
        return []
    kept = {f.attname for f in event_model._meta.concrete_fields}
    return [f for f in model._meta.concrete_fields if f.attname in kept]


def _display(model_field: models.Field, value: Any, related: dict) -> Any:
    if value is None or value == "":
        return value
    if model_field.is_relation:
        obj = related.get(model_field.name, {}).get(value)
        return f"{obj} (#{value})" if obj is not None else f"#{value}"
    if model_field.choices:
        return dict(model_field.flatchoices).get(value, value)
    return value


def _related_objects(model, events, fields) -> dict[str, dict]:
    """The related objects the events point to, one query per relation (for readable labels)."""
    related = {}
    for f in fields:
        if not f.is_relation:
            continue
        ids = {getattr(e, f.attname) for e in events} - {None}
        manager = f.related_model._base_manager
        related[f.name] = manager.in_bulk(list(ids)) if ids else {}
    return related


def record_history(*, model: type[models.Model], object_id) -> list[HistoryEntry]:
    """Every event of the record ``object_id`` of ``model``, newest first, with its changes.

    Works for purged records too: the events outlive the row.
    """
    event_model = event_model_for(model)
    if event_model is None:
        return []
    events = list(
        event_model.objects.filter(pgh_obj_id=object_id)
        .select_related("pgh_context")
        .order_by("pgh_id")
    )
    fields = tracked_fields(model)
    related = _related_objects(model, events, fields)
    user_ids = {(e.pgh_context.metadata or {}).get("user") for e in events if e.pgh_context_id} - {
        None
    }
    users = get_user_model()._base_manager.in_bulk(list(user_ids)) if user_ids else {}
    entries: list[HistoryEntry] = []
    previous = None
    for event in events:
        metadata = (event.pgh_context.metadata if event.pgh_context_id else None) or {}
        changes = []
        if event.pgh_label != "delete":
            for f in fields:
                if f.primary_key or f.name in NOISE_FIELDS:
                    continue
                new = getattr(event, f.attname)
                old = getattr(previous, f.attname) if previous is not None else None
                if previous is None and new in (None, ""):
                    continue
                if previous is None or old != new:
                    changes.append(
                        FieldChange(
                            name=f.name,
                            label=str(f.verbose_name),
                            old=_display(f, old, related),
                            new=_display(f, new, related),
                        )
                    )
        user_id = metadata.get("user")
        entries.append(
            HistoryEntry(
                event=event,
                at=event.pgh_created_at,
                label=event.pgh_label,
                user=users.get(user_id, user_id),
                via=metadata.get("via", ""),
                url=metadata.get("url", ""),
                changes=changes,
            )
        )
        previous = event
    if entries:
        entries[-1].is_latest = True
    entries.reverse()
    return entries


def purged_records(*, model: type[models.Model]) -> list[models.Model]:
    """The last event of each record of ``model`` that no longer exists (newest first)."""
    event_model = event_model_for(model)
    if event_model is None:
        return []
    existing = model._base_manager.values("pk")
    last = (
        event_model.objects.exclude(pgh_obj_id__in=existing)
        .order_by("pgh_obj_id", "-pgh_id")
        .distinct("pgh_obj_id")
        .values("pgh_id")
    )
    return list(event_model.objects.filter(pgh_id__in=last).order_by("-pgh_created_at"))


@transaction.atomic
def record_restore_version(
    *,
    event: models.Model,
    actor,
    via: str = "service",
    save_service: SaveService = record_save,
) -> models.Model:
    """Copy the values of ``event`` back onto its record, or recreate a purged record from it.

    The record comes back live (not deleted). Its publication state changes only for users who
    may publish; for others it stays as it is now (a recreated record: a draft). Validated and
    saved through ``save_service``, so the restore is itself a new, attributed history event;
    a version that no longer fits (a related record purged since, a rule added) is refused with
    the service's ``ValidationError``.
    """
    model = event.pgh_tracked_model
    pk_name = model._meta.pk.attname
    pk = getattr(event, pk_name)
    record = model._base_manager.filter(pk=pk).first()
    recreated = record is None
    if recreated:
        allowed = actor is not None and actor.has_perm(model_permission(model, "add"))
    else:
        allowed = actor is not None and actor.has_perm(model_permission(model, "change"))
    if not allowed:
        raise PermissionDenied(
            _("You may not restore %(records)s.") % {"records": model._meta.verbose_name_plural}
        )
    if recreated:
        record = model(pk=pk)
    has_state = hasattr(record, "state")
    current_state = record.state if has_state and not recreated else PublicationState.DRAFT
    for f in tracked_fields(model):
        if f.primary_key or f.name == "version":
            # The optimistic lock is the record's own (governance.services.record_save): a
            # restore is a new save from the current version, not a return to an old one.
            continue
        setattr(record, f.attname, getattr(event, f.attname))
    if hasattr(record, "deleted_at"):
        record.deleted_at = None
    comment = _("version of %(at)s (event %(id)s) restored") % {
        "at": event.pgh_created_at.isoformat(timespec="seconds"),
        "id": event.pk,
    }
    if has_state:
        if not may_publish(actor):
            record.state = current_state
        elif (
            recreated
            and hasattr(record, "confidence")
            and record.state != PublicationState.DRAFT
            and not claim_has_source(record)
        ):
            # Many-to-many sources are not in the history: the recreated claim has none yet.
            record.state = PublicationState.DRAFT
            comment += _("; recreated without its sources, so as a draft")
    with pghistory.context(restored_from=f"{event._meta.label}:{event.pk}"):
        save_service(instance=record, actor=actor, via=via)
    review_event_log(
        record=record,
        actor=actor,
        action=ReviewEvent.Action.RESTORE,
        from_state="" if recreated else current_state,
        to_state=getattr(record, "state", ""),
        comment=comment,
    )
    return record


def validation_message(error: ValidationError) -> str:
    """One line for an admin message from any ``ValidationError``."""
    if hasattr(error, "message_dict"):
        return " ".join(
            f"{name}: {text}" if name != "__all__" else text
            for name, texts in error.message_dict.items()
            for text in texts
        )
    return " ".join(error.messages)
