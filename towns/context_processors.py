"""Template context for every page: whether demonstration (synthetic) data is public."""

from __future__ import annotations

import pghistory.models
from django.apps import apps
from django.db.models import Model
from django.utils.functional import SimpleLazyObject

from governance.access import AccessLevel, PublicationState

#: Apps whose models may hold synthetic records.
DATA_APPS = ("governance", "towns", "csos")


def synthetic_models() -> list[type[Model]]:
    """Every model with an ``is_synthetic`` field (research records, generated towns)."""
    found = []
    installed = {c.label for c in apps.get_app_configs()}
    for label in DATA_APPS:
        if label not in installed:
            continue
        for model in apps.get_app_config(label).get_models():
            if issubclass(model, pghistory.models.Event):
                continue  # the history of a record is not a record
            names = {f.name for f in model._meta.concrete_fields}
            if "is_synthetic" in names:
                found.append(model)
    return found


def public_synthetic_exists() -> bool:
    """Whether any synthetic record is public: one query (a UNION of one-row probes)."""
    probes = []
    for model in synthetic_models():
        names = {f.name for f in model._meta.concrete_fields}
        qs = model._base_manager.filter(is_synthetic=True)
        if "access_level" in names:
            qs = qs.filter(access_level=AccessLevel.PUBLIC, state=PublicationState.PUBLISHED)
        if "deleted_at" in names:
            qs = qs.filter(deleted_at__isnull=True)
        probes.append(qs.order_by().values("pk")[:1])
    if not probes:
        return False
    first, *rest = probes
    return first.union(*rest, all=True).exists() if rest else first.exists()


#: The last answer of :func:`public_synthetic_exists`, keyed by the data fingerprint it was
#: computed under (:func:`governance.cache.request_state`): any write changes the fingerprint.
_LAST_ANSWER: dict[str, bool] = {}


def public_synthetic_exists_for(request) -> bool:
    """:func:`public_synthetic_exists`, reused while the data has not changed.

    The fingerprint is read once per request anyway (authentication and the read cache share
    it), so a page with the banner pays no query of its own unless something was written.
    """
    from governance.cache import request_state

    state = request_state(request)
    answer = _LAST_ANSWER.get(state)
    if answer is None:
        answer = public_synthetic_exists()
        _LAST_ANSWER.clear()  # one entry: the current state's
        _LAST_ANSWER[state] = answer
    return answer


def demonstration_data(request) -> dict:
    """``demonstration_data``: true while any synthetic record is public (the banner of
    templates/base.html). Evaluated only when a template reads it."""
    return {"demonstration_data": SimpleLazyObject(lambda: public_synthetic_exists_for(request))}
