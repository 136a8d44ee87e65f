"""Sensible entry: the research team's defaults for new records, and words for access levels.

* :func:`entry_defaults` gives the access level and state a new record of a kind starts with
  (:class:`governance.models.EntryDefault`, else the model's own: restricted, draft).
* :func:`apply_entry_defaults` puts them on a new instance, leaving alone what the writer set
  (``explicit``); admin forms, the town workspace, API creates and imports call it.
* :func:`describe_access_levels` gives every access-level field of a form the help text and
  choice labels that say who will see the record.
* :func:`source_choices` lists the sources a real record may cite: demo (synthetic) sources are
  left out once real ones exist, and marked "demo" while they are all there is.

The core knows no app: kinds of records are model labels (``towns.indicatorvalue``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.db import models
from django.utils.translation import gettext_lazy as _

from governance.access import AccessLevel, PublicationState

#: Who sees a record at each access level (shown as help text and in the choice labels).
ACCESS_AUDIENCE = {
    AccessLevel.PUBLIC: _("everyone on the web"),
    AccessLevel.PARTNER: _("signed-in donors and partner tools"),
    AccessLevel.RESTRICTED: _("the research team only"),
}
ACCESS_HELP = _(
    "Who will see it once published. Public: everyone on the web. Partner: signed-in donors "
    "and partner tools. Restricted: the research team only."
)
#: The fields a team default can set.
DEFAULT_FIELDS = ("access_level", "state")


def research_models() -> list[type[models.Model]]:
    """Every concrete model with an access level and a state (the kinds a default can be for)."""
    found = []
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if {"access_level", "state", "deleted_at"} <= names:
            found.append(model)
    return sorted(found, key=lambda m: m._meta.label_lower)


def entry_defaults(model: type[models.Model] | models.Model) -> dict[str, str]:
    """``{"access_level": …, "state": …}`` a new record of ``model`` starts with."""
    from governance.models import EntryDefault

    opts = model._meta
    names = {f.name for f in opts.concrete_fields}
    row = EntryDefault.objects.filter(model=opts.label_lower).first()
    defaults = {}
    for name in DEFAULT_FIELDS:
        if name not in names:
            continue
        value = getattr(row, name, None) if row is not None else None
        defaults[name] = value or opts.get_field(name).get_default()
    if defaults.get("state") == PublicationState.PUBLISHED:
        defaults["state"] = PublicationState.DRAFT  # never published without a reviewer
    return defaults


def apply_entry_defaults(instance: models.Model, *, explicit: Iterable[str] = ()) -> dict:
    """Give a new ``instance`` its team defaults, except the fields the writer set (``explicit``).

    Returns the defaults applied. An existing record is left alone.
    """
    if not instance._state.adding:
        return {}
    applied = {
        name: value
        for name, value in entry_defaults(type(instance)).items()
        if name not in set(explicit)
    }
    for name, value in applied.items():
        setattr(instance, name, value)
    return applied


def access_choice_label(value: str) -> str:
    return f"{AccessLevel(value).label}: {ACCESS_AUDIENCE[AccessLevel(value)]}"


def describe_access_levels(form) -> None:
    """Help text and choice labels saying who will see the record, on each access-level field."""
    for name, field in form.fields.items():
        if not name.endswith("access_level") or not hasattr(field, "choices"):
            continue
        field.help_text = ACCESS_HELP
        field.choices = [
            (value, access_choice_label(value) if value in AccessLevel.values else label)
            for value, label in field.choices
        ]


def source_label(source) -> str:
    """A source as a picker shows it: demo sources say so."""
    text = source.citation if len(source.citation) <= 90 else f"{source.citation[:87]}…"
    return f"[{_('demo')}] {text}" if source.is_synthetic else text


def offered_sources(queryset=None):
    """The sources to offer for a real record: the real ones once any exist, else the demo ones."""
    from governance.models import Source

    qs = queryset if queryset is not None else Source.objects.all()
    qs = qs.filter(deleted_at__isnull=True)
    real = qs.filter(is_synthetic=False)
    return real if real.exists() else qs


def source_choices(queryset=None, *, limit: int = 200) -> list[tuple[str, str]]:
    """Choices for a source picker: newest real sources first, demo ones marked."""
    sources = offered_sources(queryset).order_by("-created_at", "citation")[:limit]
    return [(str(s.pk), source_label(s)) for s in sources]
