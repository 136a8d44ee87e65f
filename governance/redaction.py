"""The one field-redaction policy: which fields of a record a viewer may see.

A record is visible or not by :meth:`governance.access.ResearchQuerySet.visible_to`. Inside a
visible record, *sensitive fields* have their own level: person names in power and ties, CSO
leaders and contacts, interview codes, free-text notes. A field above the viewer's level is
**absent** from what the viewer gets (pages, API, exports), never null or "hidden".

The policy is declared here, per model label, and read by the API serializers, the exports and
the page helpers; nothing else decides which field a viewer sees.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache

from django.db import models
from django.utils.choices import CallableChoiceIterator
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.translation import get_language, gettext_lazy

from governance.access import (
    LEVELS_FOR,
    AccessLevel,
    PublicationState,
    Viewer,
    may_see_level,
    viewer_level,
)

PERSON_NAME_FIELDS = (
    "name",
    "name_en",
    "name_be",
    "name_ru",
    "given_name",
    "family_name",
    "patronymic_name",
)
# Free text written by researchers may name anyone: research level only, on every model.
NOTE_FIELDS = ("note", "notes")


@dataclass(frozen=True)
class FieldRule:
    """``fields`` are visible at the level held by ``level_attr`` on the record, or ``level``."""

    fields: tuple[str, ...]
    level_attr: str | None = None
    level: str | None = None

    def level_of(self, instance) -> str:
        if self.level_attr:
            return getattr(instance, self.level_attr)
        return self.level or AccessLevel.RESTRICTED


POLICY: dict[str, tuple[FieldRule, ...]] = {
    "towns.person": (FieldRule(PERSON_NAME_FIELDS, level_attr="names_access_level"),),
    "csos.cso": (
        FieldRule(("contacts",), level_attr="contacts_access_level"),
        FieldRule(("leaders", "leaderships"), level_attr="leaders_access_level"),
    ),
    "governance.source": (FieldRule(("interview_code",), level=AccessLevel.RESTRICTED),),
    # Where an independent group meets can endanger the people who meet there.
    "towns.communicationsite": (
        FieldRule(("latitude", "longitude"), level_attr="coordinates_access_level"),
    ),
}


def rules_for(model: type[models.Model] | models.Model) -> tuple[FieldRule, ...]:
    meta = model._meta
    rules = POLICY.get(meta.label_lower, ())
    notes = tuple(f.name for f in meta.get_fields() if f.name in NOTE_FIELDS)
    if notes:
        rules = (*rules, FieldRule(notes, level=AccessLevel.RESTRICTED))
    return rules


def sensitive_fields(model) -> set[str]:
    """Every field of ``model`` that has a level of its own."""
    return {name for rule in rules_for(model) for name in rule.fields}


def hidden_fields(instance: models.Model, user) -> set[str]:
    """The sensitive fields of ``instance`` that ``user`` may not see."""
    hidden: set[str] = set()
    for rule in rules_for(instance):
        if not may_see_level(user, rule.level_of(instance)):
            hidden.update(rule.fields)
    return hidden


def restricted_fields_shown(instance: models.Model, user) -> set[str]:
    """The sensitive fields at *restricted* level that ``user`` does see (for the access log)."""
    shown: set[str] = set()
    for rule in rules_for(instance):
        if rule.level_of(instance) == AccessLevel.RESTRICTED and may_see_level(
            user, AccessLevel.RESTRICTED
        ):
            shown.update(rule.fields)
    return shown


def redact(data: dict, instance: models.Model, user) -> dict:
    """``data`` (a serialised ``instance``) without the keys ``user`` may not see."""
    hidden = hidden_fields(instance, user)
    return {key: value for key, value in data.items() if key not in hidden}


def may_see_field(instance: models.Model, field: str, user) -> bool:
    return field not in hidden_fields(instance, user)


# --- Who may change who sees a record ----------------------------------------------------------

#: The permission of reviewers and admins (governance.workflow.PUBLISH_PERMISSION).
PUBLISH_PERMISSION = "governance.publish_record"


def is_access_field(name: str) -> bool:
    """``access_level``, ``<part>_access_level`` and ``state``: the fields that decide who sees
    a record or a part of it."""
    return name in ("access_level", "state") or name.endswith("_access_level")


def may_change_access(user) -> bool:
    """Only reviewers and admins (who may publish) change access levels and the publication
    state, in the admin and the API alike; researchers and partner tokens write data only."""
    return bool(
        user is not None
        and getattr(user, "is_active", False)
        and user.has_perm(PUBLISH_PERMISSION)
        and viewer_level(user) == Viewer.RESEARCH
    )


# --- Records in memory: visibility of related records -----------------------------------------


def record_visible(instance: models.Model, user) -> bool:
    """In-memory twin of ``visible_to(user)`` for a record already loaded with its parent.

    Used for related records (a leadership's person) so that checking them costs no query.
    Models without an access level (places, posts, indicators) are public reference data.
    """
    if getattr(instance, "deleted_at", None) is not None:
        return False
    if not hasattr(instance, "access_level"):
        return True
    level = viewer_level(user)
    if level == Viewer.RESEARCH:
        return True
    return (
        instance.state == PublicationState.PUBLISHED and instance.access_level in LEVELS_FOR[level]
    )


def person_names_visible(person, user) -> bool:
    """Whether ``user`` may see who ``person`` is: the record and its names."""
    return record_visible(person, user) and may_see_level(user, person.names_access_level)


def person_label(person, user) -> str:
    """What a page may print for ``person``: the name, or "(name not public)"."""
    if person is not None and person_names_visible(person, user):
        return person.name_en
    return str(NAME_WITHHELD)


# --- The access log: restricted reads, noted while a response is built, written once -----------

#: Attribute of the request that collects restricted-field reads until they are logged.
READS_ATTR = "_atlas_restricted_reads"


def _http_request(request):
    """The Django request behind a DRF request (both share the noted reads)."""
    return getattr(request, "_request", request)


def note_restricted_read(request, instance: models.Model, fields) -> None:
    """Remember that ``request`` was shown restricted ``fields`` of ``instance``."""
    if request is None or not fields or not getattr(request.user, "is_authenticated", False):
        return
    reads: dict = _http_request(request).__dict__.setdefault(READS_ATTR, OrderedDict())
    key = (instance._meta.label_lower, str(instance.pk))
    reads.setdefault(key, set()).update(fields)


def flush_restricted_reads(request) -> int:
    """Write the noted restricted-field reads of ``request`` (one insert); returns the rows.

    One row per record: who, which record, which fields, when and through which path; never
    the values. Called by the API views when a response is final and, for every other channel
    (pages, exports), by :class:`governance.middleware.RestrictedReadLogMiddleware`.
    """
    from governance.models import FieldAccessLog

    if request is None:
        return 0
    reads = _http_request(request).__dict__.pop(READS_ATTR, None)
    if not reads:
        return 0
    path = request.get_full_path()[:300]
    rows = [
        FieldAccessLog(
            user=request.user,
            model=model,
            object_id=object_id,
            fields=",".join(sorted(fields))[:500],
            path=path,
        )
        for (model, object_id), fields in reads.items()
    ]
    FieldAccessLog.objects.bulk_create(rows)
    return len(rows)


# --- Redacted views: what templates (and every other presenter) receive -----------------------

NAME_WITHHELD = gettext_lazy("(name not public)")
RECORD_WITHHELD = gettext_lazy("(not public)")
#: Fields never shown on a page, whatever the level (internal bookkeeping).
NEVER_SHOWN = frozenset({"search_text", "deleted_at"})


class Redacted(Mapping):
    """A read-only view of one record as one viewer may see it.

    It holds plain values only: the record's fields the viewer may see (a sensitive field above
    the viewer's level is *absent*, so a template that names it prints nothing), the labels of
    its choices (``get_<field>_display``), ``name`` and ``url`` where the model has them, and
    its related records as :class:`Redacted` views of their own, each redacted by its own
    rules. A related record the viewer may not see is a :class:`Withheld` stand-in: the link
    stays, who or what it points to does not. There is no way back to the model instance.
    """

    __slots__ = ("_label", "_model", "_values")
    withheld = False

    def __init__(self, model: str, values: dict, label):
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_label", label)

    def __getitem__(self, key):
        return self._values[key]

    def __getattr__(self, name):
        try:
            return object.__getattribute__(self, "_values")[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        raise AttributeError("a redacted record is read-only")

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __str__(self) -> str:
        label = self._label
        if callable(label):  # worked out when first shown: str() may read related records
            label = str(label())
            object.__setattr__(self, "_label", label)
        return label

    def __repr__(self) -> str:
        return f"<Redacted {self._model} {str(self)!r}>"

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__

    @property
    def model(self) -> str:
        return self._model


class RelatedList(list):
    """The visible related records of a redacted record (a prefetched many-to-many or reverse
    relation), redacted. ``all()`` gives the list itself, so that a template written for a
    model instance (``{% for s in record.sources.all %}``) reads a redacted record the same
    way."""

    def all(self):
        return self


class Withheld(Redacted):
    """A related record the viewer may not see: a placeholder without any of its values but
    one, ``is_synthetic``: whether the record is invented demo data is never sensitive, and a
    page must say so wherever it shows a trace of one (issue 16)."""

    __slots__ = ()
    withheld = True

    def __init__(self, model: str, label: str, *, is_synthetic: bool = False):
        super().__init__(model, {"withheld": True, "is_synthetic": is_synthetic}, label)

    def __bool__(self) -> bool:
        return True


def _label_of(instance: models.Model, hidden: set[str], values: dict) -> str:
    """The record's text: ``str()`` only when no person or CSO it names is withheld (the text
    of a person is its name; of a CSO or a source, never a sensitive field)."""
    meta = instance._meta
    if meta.label_lower == "towns.person":
        return instance.name_en if "name_en" not in hidden else str(NAME_WITHHELD)
    for f in meta.concrete_fields:
        if f.is_relation and sensitive_related(f.related_model):
            related = values.get(f.name)
            if related is None and getattr(instance, f.attname) is not None:
                return str(RECORD_WITHHELD)  # not loaded: not shown
            if isinstance(related, Redacted) and (related.withheld or str(related) in _WITHHELD):
                return str(RECORD_WITHHELD)
    return str(instance)


_WITHHELD = {str(NAME_WITHHELD), str(RECORD_WITHHELD)}


def sensitive_related(model) -> bool:
    """Whether records of ``model`` have sensitive fields of their own (a person, a CSO)."""
    return bool(POLICY.get(model._meta.label_lower))


def withheld(model: type[models.Model], instance: models.Model | None = None) -> Withheld:
    label = NAME_WITHHELD if model._meta.label_lower == "towns.person" else RECORD_WITHHELD
    synthetic = bool(getattr(instance, "is_synthetic", False))
    return Withheld(model._meta.label_lower, str(label), is_synthetic=synthetic)


#: Properties of a model that a redacted view carries besides its fields: computed from fields
#: that have no level of their own (a property reading a sensitive field never belongs here).
PRESENTED_PROPERTIES: dict[str, tuple[str, ...]] = {
    "towns.indicator": ("local_unit",),
}


def redacted(
    instance: models.Model | None,
    user,
    *,
    request=None,
    related: tuple[str, ...] = (),
    extra: dict | None = None,
) -> Redacted | None:
    """``instance`` as ``user`` may see it (see :class:`Redacted`); None stays None.

    * Concrete fields: every one the policy lets the viewer see. A foreign key becomes the
      related record redacted by its own rules (or :class:`Withheld`); it is followed only when
      it is already loaded (``select_related``) or named in ``related``, so no hidden query
      runs. Raw ids of relations (``person_id``) are never exposed.
    * Many-to-many and reverse relations: only when prefetched, as a list of the visible
      related records, redacted; a sensitive relation above the viewer's level is absent.
    * ``extra``: values the caller computed (already redacted), added as they are.

    A record the viewer may not see at all is :class:`Withheld`. With ``request``, the
    restricted fields the viewer does see are noted for the access log.
    """
    if instance is None:
        return None
    model = type(instance)
    if not record_visible(instance, user):
        return withheld(model, instance)
    meta = instance._meta
    hidden = hidden_fields(instance, user) | NEVER_SHOWN
    values: dict = {"pk": instance.pk, "id": instance.pk, "withheld": False}
    fields_cache = instance._state.fields_cache
    deferred = instance.get_deferred_fields()  # loading them would cost a query each
    for f in meta.concrete_fields:
        if f.name in hidden or f.attname in deferred:
            continue
        if f.is_relation:
            if f.name in fields_cache or f.name in related:
                target = getattr(instance, f.name)
                values[f.name] = redacted(target, user, request=request)
            continue
        values[f.name] = getattr(instance, f.attname)
        if f.choices:
            values[f"get_{f.name}_display"] = _display(f, values[f.name])
    prefetched = getattr(instance, "_prefetched_objects_cache", {})
    for name, items in prefetched.items():
        if name in hidden:
            continue
        values[name] = RelatedList(
            redacted(item, user, request=request) for item in items if record_visible(item, user)
        )
    if _has_name(model) and "name" not in hidden and "name_en" not in hidden:
        values["name"] = instance.name
    for name in PRESENTED_PROPERTIES.get(meta.label_lower, ()):
        values[name] = getattr(instance, name)
    if hasattr(instance, "get_absolute_url"):
        values["get_absolute_url"] = instance.get_absolute_url()
        values.setdefault("url", values["get_absolute_url"])
    if extra:
        values.update(extra)
    if request is not None:
        note_restricted_read(
            request, instance, restricted_fields_shown(instance, user) & set(values)
        )
    # The text only when shown: a record's str() may read a relation that is not loaded (a
    # mechanism's town), a query for every record of a page that never prints it.
    return Redacted(meta.label_lower, values, lambda: _label_of(instance, hidden, values))


@cache
def _has_name(model: type[models.Model]) -> bool:
    """Whether ``model`` has a ``name`` (a field or a property): ``dir()`` lists every attribute
    of the class, and redacting a dashboard's records asked it 280 times per page."""
    return "name" in dir(model)


@cache
def _choice_labels(field: models.Field) -> dict | None:
    """The labels of ``field``'s choices by value, as Django's ``get_FOO_display`` builds them
    on every call (``make_hashable`` of every choice: a fifth of a dashboard's time); None for
    choices given as a callable, which may change."""
    if isinstance(field.choices, CallableChoiceIterator):
        return None
    return dict(make_hashable(field.flatchoices))


def _display(field: models.Field, value):
    """What ``instance.get_FOO_display()`` returns for ``value`` of ``field`` (same rules)."""
    labels = _choice_labels(field)
    if labels is None:
        labels = dict(make_hashable(field.flatchoices))
    elif isinstance(value, str | int):  # the text of one label in one language, kept
        return _label_text(field, value, get_language())
    # force_str() turns a lazy label into the active language's text, as Django does.
    return force_str(labels.get(make_hashable(value), value), strings_only=True)


@lru_cache(maxsize=4096)
def _label_text(field: models.Field, value: str | int, language: str | None):
    """The label of ``value`` in ``language`` (the active one: the argument keys the entry).
    A dashboard shows the same few labels hundreds of times (each value's confidence)."""
    return force_str(_choice_labels(field).get(value, value), strings_only=True)


def redacted_list(instances, user, *, request=None, related: tuple[str, ...] = ()) -> list:
    """Every record of ``instances`` the viewer may see, redacted (hidden ones left out)."""
    return [
        redacted(i, user, request=request, related=related)
        for i in instances
        if record_visible(i, user)
    ]


# --- Presenting a page's context -------------------------------------------------------------


@cache
def needs_redaction(model: type[models.Model]) -> bool:
    """Whether an instance of ``model`` may not reach a template as it is: it has sensitive
    fields of its own, or points at records that have (an appointment's person, an activity's
    sources): through a foreign key or a many-to-many field of its own. (Reverse relations are
    not followed: a town's appointments reach a page through a view, which presents them.)"""
    if sensitive_fields(model):
        return True
    return any(
        f.related_model is not None and sensitive_fields(f.related_model)
        for f in (*model._meta.concrete_fields, *model._meta.many_to_many)
        if f.is_relation
    )


_PLAIN = (str, bytes, int, float, Decimal, datetime.date, type(None), Redacted)
#: The exact types of _PLAIN (and bool), for the fast test of a list's or tuple's items: a
#: dashboard hands over thousands of chart cells, and a call per number was 0.1 s of it.
_PLAIN_TYPES = frozenset(
    (str, bytes, int, bool, float, Decimal, datetime.date, datetime.datetime, type(None))
)


def present(value, user, *, request=None, _depth: int = 0):
    """``value`` as a template may receive it: every model instance that
    :func:`needs_redaction` becomes its :class:`Redacted` view for ``user`` (with the related
    records it has loaded, each redacted by its own rules), inside lists, tuples, dicts and
    dataclasses (copied with the redacted values; their methods still work). Anything else is
    returned as it is, the same object when nothing inside changed. Views call it on their
    context (and template tags on what they return), so that a template cannot read a
    sensitive attribute the viewer may not see: it never holds the instance."""
    if _depth > 8 or isinstance(value, _PLAIN):
        return value
    if isinstance(value, models.Model):
        return redacted(value, user, request=request) if needs_redaction(type(value)) else value

    def inner(item):
        return present(item, user, request=request, _depth=_depth + 1)

    if isinstance(value, list | tuple) and all(type(item) in _PLAIN_TYPES for item in value):
        return value
    if isinstance(value, list):
        items = [inner(item) for item in value]
        if not any(a is not b for a, b in zip(items, value, strict=True)):
            return value
        return items if type(value) is list else type(value)(items)
    if isinstance(value, tuple):
        items = [inner(item) for item in value]
        if not any(a is not b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, dict):
        items = {key: inner(item) for key, item in value.items()}
        return items if any(items[k] is not value[k] for k in value) else value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            if not f.init:
                continue
            current = getattr(value, f.name)
            shown = inner(current)
            if shown is not current:
                changes[f.name] = shown
        return dataclasses.replace(value, **changes) if changes else value
    return value
