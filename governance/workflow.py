"""The review workflow of research records, and their soft deletion: who may move a record where.

Every step is a service: keyword-only, atomic, checked by role, saved through the record's save
service (:func:`governance.services.record_save` unless the caller passes its own, e.g. the
towns' service that refreshes the stored town aggregates) with the audit context, and logged
as a :class:`governance.models.ReviewEvent` (who, when, from → to). Because every step saves
through that service, every step also raises the record's ``version`` (the optimistic lock,
see :mod:`governance.services`): a form or API client still holding the version from before a
publish, return to draft or deletion is refused instead of undoing the step.

* submit for review: draft → in review; anyone who may change the model; refused for a
  claim without a source;
* publish: in review → published; ``governance.publish_record`` (reviewers, admins); refused
  for a claim without a source;
* unpublish: published → draft; ``governance.publish_record``;
* return to draft: in review → draft; anyone who may change the model;
* delete (soft): sets ``deleted_at``; anyone who may delete the model;
* restore (undelete): clears ``deleted_at``; anyone who may delete the model;
* purge: removes the row; superusers and ``governance.purge_record`` (admins); only a record
  deleted first.

Choices, stated so that they can be argued with:

* Publishing needs a review: a draft is submitted first, so that every published record has
  been through the review queue, where reviewers see it before the public does. A reviewer
  may submit and publish their own draft; both steps are logged under their name.
* A deleted record takes no workflow step until it is restored: it is hidden from everyone
  (``visible_to``) and its state is kept as it was, so a restore brings it back unchanged.
* Purging removes only records that were deleted first: nobody removes a live record by
  mistake, and even a purged record can be recreated from its history
  (:func:`governance.audit.record_restore_version`).
* A change to a published record, its deletion and its restoration are not written at once:
  they wait as a revision for a reviewer's approval (:mod:`governance.revisions`); the steps
  here then return the record as it was, with ``_pending_revision`` set and no workflow event.
  "Unpublish", a reviewer's step, is written directly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.access import PublicationState
from governance.models import ReviewEvent
from governance.revisions import direct_writes
from governance.services import audit_context, claim_check, record_save

SaveService = Callable[..., models.Model]

PUBLISH_PERMISSION = "governance.publish_record"
PURGE_PERMISSION = "governance.purge_record"


def model_permission(model: type[models.Model] | models.Model, action: str) -> str:
    """The name of Django's ``action`` permission on ``model`` (e.g. ``towns.change_influence``)."""
    opts = model._meta
    return f"{opts.app_label}.{action}_{opts.model_name}"


def may_publish(actor) -> bool:
    return bool(actor is not None and actor.has_perm(PUBLISH_PERMISSION))


def may_purge(actor) -> bool:
    return bool(
        actor is not None
        and actor.is_active
        and (actor.is_superuser or actor.has_perm(PURGE_PERMISSION))
    )


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _require_model_permission(actor, record: models.Model, action: str) -> None:
    _require(
        actor is not None and actor.has_perm(model_permission(record, action)),
        _("You may not %(action)s %(records)s.")
        % {"action": action, "records": record._meta.verbose_name_plural},
    )


def _require_live(record: models.Model) -> None:
    if getattr(record, "deleted_at", None) is not None:
        raise ValidationError(_("This record is deleted: restore it first."))


def _require_state(record: models.Model, allowed: set[str], step: str) -> None:
    if record.state not in allowed:
        raise ValidationError(
            {
                "state": _("A record in the state “%(state)s” cannot be %(step)s.")
                % {"state": record.get_state_display(), "step": step}
            }
        )


def review_event_log(
    *,
    record: models.Model,
    actor,
    action: str,
    from_state: str = "",
    to_state: str = "",
    comment: str = "",
    object_id=None,
) -> ReviewEvent:
    """Write one line of the workflow log of ``record``."""
    return ReviewEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        model=record._meta.label_lower,
        object_id=str(object_id if object_id is not None else record.pk),
        object_repr=str(record)[:200],
        from_state=from_state,
        to_state=to_state,
        comment=comment[:500],
    )


def _move(
    *,
    record: models.Model,
    actor,
    to_state: str,
    action: str,
    via: str,
    save_service: SaveService,
    comment: str = "",
) -> models.Model:
    from_state = record.state
    record.state = to_state
    try:
        if hasattr(record, "confidence") and to_state != PublicationState.DRAFT:
            claim_check(record)
        save_service(instance=record, actor=actor, via=via)
    except ValidationError:
        # The transaction rolls the row back; the caller's instance must not lie either.
        record.state = from_state
        raise
    review_event_log(
        record=record,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
    )
    return record


def _review_step(
    name: str,
    doc: str,
    *,
    only_publishers,
    from_state: str,
    step,
    to_state: str,
    action: str,
) -> Callable[..., models.Model]:
    """One step of the review workflow, as a service: who may, from which state, to which,
    logged as what.

    ``only_publishers`` is the refusal for actors who may not publish; without it, the step
    needs the permission to change the record. Messages are lazy: they are translated when
    shown, in the viewer's language.
    """

    @transaction.atomic
    def service(
        *,
        record: models.Model,
        actor,
        via: str = "service",
        save_service: SaveService = record_save,
        comment: str = "",
    ) -> models.Model:
        if only_publishers:
            _require(may_publish(actor), str(only_publishers))
        else:
            _require_model_permission(actor, record, "change")
        _require_live(record)
        _require_state(record, {from_state}, str(step))
        # Only "unpublish" changes a published record, and only reviewers take it: taking a
        # record off the public needs no second review (governance.revisions).
        with direct_writes(name) if only_publishers else contextlib.nullcontext():
            return _move(
                record=record,
                actor=actor,
                to_state=to_state,
                action=action,
                via=via,
                save_service=save_service,
                comment=comment,
            )

    service.__name__ = service.__qualname__ = name
    service.__doc__ = doc
    return service


record_submit = _review_step(
    "record_submit",
    "Submit a draft for review (anyone who may change the record). A claim needs a source.",
    only_publishers=None,
    from_state=PublicationState.DRAFT,
    step=gettext_lazy("submitted for review"),
    to_state=PublicationState.IN_REVIEW,
    action=ReviewEvent.Action.SUBMIT,
)
record_publish = _review_step(
    "record_publish",
    "Publish a record in review (reviewers and admins only). A claim needs a source.",
    only_publishers=gettext_lazy("Only reviewers and admins may publish records."),
    from_state=PublicationState.IN_REVIEW,
    step=gettext_lazy("published (submit it for review)"),
    to_state=PublicationState.PUBLISHED,
    action=ReviewEvent.Action.PUBLISH,
)
record_unpublish = _review_step(
    "record_unpublish",
    "Take a published record back to draft (reviewers and admins only).",
    only_publishers=gettext_lazy("Only reviewers and admins may unpublish records."),
    from_state=PublicationState.PUBLISHED,
    step=gettext_lazy("unpublished"),
    to_state=PublicationState.DRAFT,
    action=ReviewEvent.Action.UNPUBLISH,
)
record_return_to_draft = _review_step(
    "record_return_to_draft",
    "Return a record in review to draft: the author withdraws it or a reviewer sends it back.",
    only_publishers=None,
    from_state=PublicationState.IN_REVIEW,
    step=gettext_lazy("returned to draft"),
    to_state=PublicationState.DRAFT,
    action=ReviewEvent.Action.RETURN,
)


@transaction.atomic
def record_soft_delete(
    *,
    record: models.Model,
    actor,
    via: str = "service",
    save_service: SaveService = record_save,
) -> models.Model:
    """Delete a record recoverably: it gets ``deleted_at`` and disappears for every viewer."""
    _require_model_permission(actor, record, "delete")
    if record.deleted_at is not None:
        raise ValidationError(_("This record is already deleted."))
    record.deleted_at = timezone.now()
    try:
        save_service(instance=record, actor=actor, via=via)
    except ValidationError:
        record.deleted_at = None
        raise
    if getattr(record, "_pending_revision", None) is not None:
        # A published record: the deletion waits for a reviewer (governance.revisions).
        record.deleted_at = None
        return record
    review_event_log(
        record=record,
        actor=actor,
        action=ReviewEvent.Action.DELETE,
        from_state=record.state,
        to_state=record.state,
    )
    return record


@transaction.atomic
def record_restore_deleted(
    *,
    record: models.Model,
    actor,
    via: str = "service",
    save_service: SaveService = record_save,
) -> models.Model:
    """Bring a softly deleted record back, in the state it had."""
    _require_model_permission(actor, record, "delete")
    if record.deleted_at is None:
        raise ValidationError(_("This record is not deleted."))
    deleted_at, record.deleted_at = record.deleted_at, None
    save_service(instance=record, actor=actor, via=via)
    if getattr(record, "_pending_revision", None) is not None:
        # A published record comes back to the public only when a reviewer approves.
        record.deleted_at = deleted_at
        return record
    review_event_log(
        record=record,
        actor=actor,
        action=ReviewEvent.Action.RESTORE,
        from_state=record.state,
        to_state=record.state,
        comment=_("undeleted"),
    )
    return record


@transaction.atomic
def record_purge(*, record: models.Model, actor, via: str = "service") -> None:
    """Remove a deleted record for good (admins only). Its history stays, so it can be recreated.

    Rows that depend on it are removed with it where the model says CASCADE (each leaves its
    own delete event); a PROTECT or RESTRICT relation refuses the purge with a clear message.
    """
    _require(may_purge(actor), _("Only admins may purge records."))
    if record.deleted_at is None:
        raise ValidationError(_("Only deleted records can be purged: delete it first."))
    pk, state = record.pk, record.state
    try:
        with audit_context(actor=actor, via=via):
            record.delete()
    except (ProtectedError, RestrictedError) as error:
        blocking = ", ".join(sorted({str(obj) for obj in error.args[1]})[:5])
        raise ValidationError(
            _("Other records depend on it and cannot be removed with it: %(records)s.")
            % {"records": blocking}
        ) from error
    review_event_log(
        record=record,
        actor=actor,
        action=ReviewEvent.Action.PURGE,
        from_state=state,
        object_id=pk,
        comment=_("removed for good; recoverable from its history"),
    )
