"""Write helpers every app's services share: validation of claims and the audit context."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pghistory
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from governance.access import PublicationState


def claim_has_source(instance: models.Model) -> bool:
    """A claim cites a source through a ``source`` foreign key or a ``sources`` relation."""
    if getattr(instance, "source_id", None):
        return True
    sources = getattr(instance, "sources", None)
    return bool(sources is not None and instance.pk and sources.exists())


def claim_check(instance: models.Model) -> None:
    """A claim without a source is allowed only as a draft."""
    state = getattr(instance, "state", PublicationState.DRAFT)
    if state != PublicationState.DRAFT and not claim_has_source(instance):
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
    """
    with audit_context(actor=actor, via=via):
        instance.full_clean()
        instance.save()
        for name, values in (m2m or {}).items():
            getattr(instance, name).set(values)
        if hasattr(instance, "confidence"):
            claim_check(instance)
    return instance
