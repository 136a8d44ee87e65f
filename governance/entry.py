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


# --- Bulk actions: access level and source on many records ------------------------------------


def bulk_action_form():
    """The admin's action bar with two more choices: an access level and a source."""
    from django import forms
    from django.contrib.admin.helpers import ActionForm

    class BulkEntryActionForm(ActionForm):
        access_level = forms.ChoiceField(
            label=_("Access level"),
            required=False,
            choices=[("", "—"), *((v, access_choice_label(v)) for v in AccessLevel.values)],
        )
        source = forms.ChoiceField(label=_("Source"), required=False)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["source"].choices = [("", "—"), *source_choices()]

    return BulkEntryActionForm


class BulkEntryActionsMixin:
    """Admin actions "Set the access level" (reviewers and admins: who sees a record is theirs
    to decide) and "Cite the source" (anyone who may change the records), each applied through
    the admin's save service, record by record, with the version each was loaded with; a change
    to a published record then waits for review like any other."""

    #: Add these to the admin's ``actions``.
    bulk_actions = ["set_access_level", "cite_source"]

    def get_action_form(self):
        return bulk_action_form()

    @property
    def action_form(self):  # Django reads ModelAdmin.action_form
        return self.get_action_form()

    def _bulk(self, request, queryset, change, *, done: str) -> None:
        from django.contrib import messages
        from django.core.exceptions import PermissionDenied, ValidationError
        from django.db import transaction

        from governance.audit import validation_message

        moved, refused = 0, []
        for record in queryset:
            try:
                with transaction.atomic():
                    m2m = change(record)
                    self.save_service(instance=record, actor=request.user, via="admin", m2m=m2m)
            except (ValidationError, PermissionDenied) as error:
                text = validation_message(error) if isinstance(error, ValidationError) else error
                refused.append(f"«{record}»: {text}")
            else:
                moved += 1
        if moved:
            self.message_user(request, f"{moved} × {done}", messages.SUCCESS)
        for text in refused:
            self.message_user(request, _("Not changed: %s") % text, messages.ERROR)

    def set_access_level(self, request, queryset):
        from django.contrib import messages

        level = request.POST.get("access_level", "")
        if level not in AccessLevel.values:
            self.message_user(
                request, _("Choose an access level beside the action."), messages.ERROR
            )
            return

        def change(record):
            record.access_level = level
            return None

        self._bulk(request, queryset, change, done=access_choice_label(level))

    set_access_level.short_description = _("Set the access level chosen beside the action")
    set_access_level.allowed_permissions = ("publish",)

    def cite_source(self, request, queryset):
        from django.contrib import messages

        from governance.models import Source

        source = Source.objects.filter(pk=request.POST.get("source") or None).first()
        if source is None:
            self.message_user(request, _("Choose a source beside the action."), messages.ERROR)
            return
        names = {f.name for f in queryset.model._meta.get_fields()}

        def change(record):
            if "sources" in names:
                return {"sources": [*record.sources.all(), source]}
            record.source = source
            return None

        if not names & {"sources", "source"}:
            self.message_user(request, _("These records cite no sources."), messages.ERROR)
            return
        self._bulk(request, queryset, change, done=_("cite “%s”") % source_label(source))

    cite_source.short_description = _("Cite the source chosen beside the action")
    cite_source.allowed_permissions = ("change",)
