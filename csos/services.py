"""Writes of the civil-society side: the admin, the imports and any other writer call these.

Every write goes through :func:`governance.services.record_save`, so it is validated
(``full_clean``), audited (pghistory, with who and how in the context) and all-or-nothing.

Status transitions
------------------
A CSO's status follows what happens to organisations in Belarus; the allowed moves are
:data:`ALLOWED_TRANSITIONS`:

=============  ==========================  ==================================================
from           to                          why
=============  ==========================  ==================================================
registered     liquidated                  liquidated by a court or the registering body
registered     abroad                      re-registered or working from abroad
informal       registered                  the initiative registers
informal       abroad                      the initiative goes on from abroad
liquidated     abroad                      re-founded abroad after the liquidation
liquidated     informal                    goes on without registration after it
abroad         registered                  registers (again) in Belarus
abroad         informal                    the foreign entity is dropped, people go on
=============  ==========================  ==================================================

Choices, stated so that they can be argued with:

* **registered → informal is refused**: a registered CSO that loses its registration has been
  liquidated; record the liquidation (date, grounds), then the move to informal.
* **informal → liquidated is refused**: an informal initiative has no legal entity, so
  nothing can be liquidated; an initiative that is made to stop keeps its status and a note
  (the grounds go into the history of the change).
* **liquidated → registered is refused**: a liquidation ends the legal entity; registering
  again founds a new organisation, recorded as a new CSO (and, if wanted, a link to the old).
* **abroad → liquidated is refused**: the liquidation dates and grounds record Belarusian
  liquidations; the end of a foreign entity is not one.

A CSO that leaves the liquidated status keeps its liquidation on record: the history holds
every earlier version, the grounds stay in ``liquidation_grounds`` prefixed with the date
(the model allows a liquidation date only on a liquidated CSO), and its links, leaders and
cooperation cases are never touched by a status change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from csos.models import CSO, CSOLink, CSOStatus, LinkKind
from governance.services import record_save, seen_by

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    CSOStatus.REGISTERED: frozenset({CSOStatus.LIQUIDATED, CSOStatus.ABROAD}),
    CSOStatus.INFORMAL: frozenset({CSOStatus.REGISTERED, CSOStatus.ABROAD}),
    CSOStatus.LIQUIDATED: frozenset({CSOStatus.ABROAD, CSOStatus.INFORMAL}),
    CSOStatus.ABROAD: frozenset({CSOStatus.REGISTERED, CSOStatus.INFORMAL}),
}

#: Why a transition that is not in ALLOWED_TRANSITIONS is refused, where a reason is known.
REFUSAL_REASONS: dict[tuple[str, str], str] = {
    (CSOStatus.REGISTERED, CSOStatus.INFORMAL): gettext_lazy(
        "A registered CSO that loses its registration is liquidated: record the liquidation first."
    ),
    (CSOStatus.INFORMAL, CSOStatus.LIQUIDATED): gettext_lazy(
        "An informal initiative has no legal entity that could be liquidated."
    ),
    (CSOStatus.LIQUIDATED, CSOStatus.REGISTERED): gettext_lazy(
        "A liquidated CSO cannot be registered again: record the new registration as a new CSO."
    ),
    (CSOStatus.ABROAD, CSOStatus.LIQUIDATED): gettext_lazy(
        "Liquidation records a Belarusian liquidation; a CSO working from abroad is not "
        "liquidated in Belarus."
    ),
}

#: Link kinds without a direction: A–B and B–A of the same kind are the same link.
SYMMETRIC_LINK_KINDS = frozenset({LinkKind.PARTNERSHIP, LinkKind.JOINT_PROJECT, LinkKind.INFORMAL})

CSO_M2M = ("towns", "fields_of_activity", "sources")
LINK_M2M = ("sources",)


def _label(status: str) -> str:
    return str(CSOStatus(status).label) if status in CSOStatus.values else status


def status_transition_check(old: str, new: str) -> None:
    """Raise ``ValidationError`` on ``status`` unless a CSO may move from ``old`` to ``new``."""
    if new not in CSOStatus.values:
        message = _("%(status)r is not a CSO status.") % {"status": new}
        raise ValidationError({"status": ValidationError(message, code="invalid")})
    if old == new:
        message = _("The CSO is already %(status)s.") % {"status": _label(new).lower()}
        raise ValidationError({"status": ValidationError(message, code="unchanged")})
    if new not in ALLOWED_TRANSITIONS.get(old, frozenset()):
        allowed = ", ".join(sorted(_label(s).lower() for s in ALLOWED_TRANSITIONS.get(old, ())))
        reason = REFUSAL_REASONS.get((old, new), "")
        message = _(
            "A CSO cannot go from %(old)s to %(new)s. %(reason)sFrom %(old)s it can go to: "
            "%(allowed)s."
        ) % {
            "old": _label(old).lower(),
            "new": _label(new).lower(),
            "reason": f"{reason} " if reason else "",
            "allowed": allowed or "-",
        }
        raise ValidationError({"status": ValidationError(message, code="transition")})


def liquidation_check(cso: CSO) -> None:
    """The liquidation fields of ``cso`` as its status needs them, else field errors.

    A liquidated CSO has a date (not in the future, not before its founding year) and grounds;
    any other CSO has no liquidation date.
    """
    errors: dict[str, str] = {}
    date = cso.liquidation_date
    if cso.status == CSOStatus.LIQUIDATED:
        if date is None:
            errors["liquidation_date"] = _("Give the date of the liquidation.")
        elif date > timezone.localdate():
            errors["liquidation_date"] = _("The liquidation date cannot be in the future.")
        elif cso.founding_year and date.year < cso.founding_year:
            errors["liquidation_date"] = _(
                "The liquidation date cannot be before the founding year (%(year)d)."
            ) % {"year": cso.founding_year}
        if not (cso.liquidation_grounds or "").strip():
            errors["liquidation_grounds"] = _("Give the grounds of the liquidation.")
    elif date is not None:
        errors["liquidation_date"] = _(
            "Only a liquidated CSO has a liquidation date (this one is %(status)s)."
        ) % {"status": _label(cso.status).lower()}
    if errors:
        raise ValidationError(errors)


def status_apply(
    cso: CSO,
    *,
    old: str,
    status: str,
    liquidation_date: dt.date | None = None,
    grounds: str = "",
) -> None:
    """Check the move ``old`` → ``status`` and set the status fields of ``cso`` in memory.

    ``cso`` holds the stored (old) liquidation fields. Shared by every way of changing a status
    (:func:`cso_save`, hence the admin, :func:`cso_update`, :func:`cso_change_status`, and the
    import), so all obey the same rules. Raises ``ValidationError`` with field errors.
    """
    status_transition_check(old, status)
    if status == CSOStatus.LIQUIDATED:
        cso.status = status
        cso.liquidation_date = liquidation_date
        cso.liquidation_grounds = (grounds or "").strip()
        liquidation_check(cso)
        return
    if liquidation_date is not None:
        raise ValidationError({"liquidation_date": _("Only a liquidation has a liquidation date.")})
    if old == CSOStatus.LIQUIDATED and cso.liquidation_date:
        # The model allows the date on liquidated CSOs only; keep it with the grounds.
        cso.liquidation_grounds = _("Liquidated on %(date)s: %(grounds)s") % {
            "date": cso.liquidation_date.isoformat(),
            "grounds": cso.liquidation_grounds,
        }
        cso.liquidation_date = None
    cso.status = status


def _stored_status(cso: CSO) -> tuple[str, dt.date | None, str] | None:
    """The status fields of ``cso`` as stored (None for a CSO not saved yet)."""
    if cso.pk is None:
        return None
    return (
        CSO.objects.filter(pk=cso.pk)
        .values_list("status", "liquidation_date", "liquidation_grounds")
        .first()
    )


@transaction.atomic
def cso_save(
    *, instance: CSO, actor=None, via: str = "service", m2m: dict[str, list] | None = None
) -> CSO:
    """Save a CSO as a form or a service built it; a changed status obeys the transitions.

    The stored status is read from the database: if ``instance`` carries another one, the move
    is checked with :func:`status_apply` (a liquidation date left over from the stored record is
    dropped when the CSO leaves the liquidated status). Used as the admin's save service.
    """
    stored = _stored_status(instance)
    if stored is None or stored[0] == instance.status:
        liquidation_check(instance)
        return record_save(instance=instance, actor=actor, via=via, m2m=m2m)
    old_status, old_date, _old_grounds = stored
    status, date, grounds = instance.status, instance.liquidation_date, instance.liquidation_grounds
    if status != CSOStatus.LIQUIDATED and date == old_date:
        date = None  # the form or file still shows the stored date
    instance.status, instance.liquidation_date = old_status, old_date
    with pghistory.context(status_change=f"{old_status} -> {status}"):
        status_apply(
            instance, old=old_status, status=status, liquidation_date=date, grounds=grounds
        )
        return record_save(instance=instance, actor=actor, via=via, m2m=m2m)


def _split(data: Mapping[str, Any], m2m_names: tuple[str, ...], model) -> tuple[dict, dict]:
    """Split ``data`` into concrete field values and many-to-many values; refuse unknown keys."""
    editable = {f.name for f in model._meta.concrete_fields if f.editable and not f.primary_key}
    # Foreign keys may be given by object (``town``) or by id (``town_id``).
    editable |= {f.attname for f in model._meta.concrete_fields if f.is_relation}
    fields, m2m = {}, {}
    unknown = []
    for key, value in data.items():
        if key in m2m_names:
            m2m[key] = list(value or [])
        elif key in editable:
            fields[key] = value
        else:
            unknown.append(key)
    if unknown:
        raise ValidationError(
            {
                key: _("%(model)s has no field %(field)r.")
                % {"model": model.__name__, "field": key}
                for key in unknown
            }
        )
    return fields, m2m


@transaction.atomic
def cso_create(*, data: Mapping[str, Any], actor=None, via: str = "service") -> CSO:
    """Create a CSO from ``data``: field names, with ``towns``, ``fields_of_activity`` and
    ``sources`` as lists of objects. A CSO may be recorded as already liquidated (with date and
    grounds), informal or abroad."""
    fields, m2m = _split(data, CSO_M2M, CSO)
    return cso_save(instance=CSO(**fields), actor=actor, via=via, m2m=m2m)


@transaction.atomic
def cso_update(*, cso: CSO, data: Mapping[str, Any], actor=None, via: str = "service") -> CSO:
    """Update ``cso`` from ``data``; a new ``status`` follows :data:`ALLOWED_TRANSITIONS`."""
    fields, m2m = _split(data, CSO_M2M, CSO)
    for key, value in fields.items():
        setattr(cso, key, value)
    return cso_save(instance=cso, actor=actor, via=via, m2m=m2m)


@transaction.atomic
def cso_change_status(
    *,
    cso: CSO,
    status: str,
    actor=None,
    liquidation_date: dt.date | None = None,
    grounds: str = "",
    via: str = "service",
) -> CSO:
    """Move ``cso`` to ``status`` if :data:`ALLOWED_TRANSITIONS` permits it.

    A liquidation needs ``liquidation_date`` (not in the future, not before the founding year)
    and ``grounds``. For the other moves ``grounds`` is optional and kept, with the old and new
    status, in the audit context of the history row. The CSO's links, leaders and cooperation
    cases stay as they are, and its earlier versions stay in its history. Raises
    ``ValidationError`` with field errors and writes nothing when the move is not allowed.
    """
    stored = _stored_status(cso)
    if stored is not None:
        cso.status, cso.liquidation_date, cso.liquidation_grounds = stored
    old = cso.status
    with pghistory.context(status_change=f"{old} -> {status}", status_grounds=grounds or ""):
        status_apply(
            cso,
            old=old,
            status=status,
            liquidation_date=liquidation_date,
            grounds=grounds if status == CSOStatus.LIQUIDATED else cso.liquidation_grounds,
        )
        return record_save(instance=cso, actor=actor, via=via)


def link_check(link: CSOLink, actor=None) -> None:
    """Self-links and duplicates (also mirrored ones of an undirected kind) as field errors.

    Only a duplicate the actor may see is named (all live links for the system itself): a
    link the actor may not see must not be confirmed by an error (the reviewer who publishes
    the second one meets it).
    """
    errors: dict[str, str] = {}
    if link.source_cso_id and link.source_cso_id == link.target_cso_id:
        errors["target_cso"] = _("A link joins two different CSOs: pick another target.")
    elif link.source_cso_id and link.target_cso_id and link.kind:
        same = Q(source_cso_id=link.source_cso_id, target_cso_id=link.target_cso_id)
        if link.kind in SYMMETRIC_LINK_KINDS:
            same |= Q(source_cso_id=link.target_cso_id, target_cso_id=link.source_cso_id)
        duplicate = (
            seen_by(CSOLink.objects.filter(same, kind=link.kind), actor).exclude(pk=link.pk).first()
        )
        if duplicate is not None:
            errors["target_cso"] = _("These CSOs already have a link of this kind (%(link)s).") % {
                "link": duplicate
            }
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def cso_link_create(*, data: Mapping[str, Any], actor=None, via: str = "service") -> CSOLink:
    """Create a link between two CSOs. Refuses a self-link and a duplicate (the same pair and
    kind; for undirected kinds also the mirrored pair) with an error on ``target_cso``."""
    fields, m2m = _split(data, LINK_M2M, CSOLink)
    link = CSOLink(**fields)
    link_check(link, actor)
    return record_save(instance=link, actor=actor, via=via, m2m=m2m)


@transaction.atomic
def cso_link_update(
    *, link: CSOLink, data: Mapping[str, Any], actor=None, via: str = "service"
) -> CSOLink:
    """Update a link with the same checks as :func:`cso_link_create`."""
    fields, m2m = _split(data, LINK_M2M, CSOLink)
    for key, value in fields.items():
        setattr(link, key, value)
    link_check(link, actor)
    return record_save(instance=link, actor=actor, via=via, m2m=m2m)


def csos_record_save(
    *, instance: models.Model, actor=None, via: str = "service", m2m: dict[str, list] | None = None
) -> models.Model:
    """Save any record of the civil-society side with the rules of its kind.

    The admin's save service (main forms and inline rows alike): a CSO through
    :func:`cso_save` (status transitions), a link after :func:`link_check` (no self-link, no
    duplicate), anything else through :func:`governance.services.record_save`.
    """
    if isinstance(instance, CSO):
        return cso_save(instance=instance, actor=actor, via=via, m2m=m2m)
    if isinstance(instance, CSOLink):
        link_check(instance, actor)
    return record_save(instance=instance, actor=actor, via=via, m2m=m2m)
