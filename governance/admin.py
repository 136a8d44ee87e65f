"""The researchers' workspace: what every app's admin shares, and the admin of sources.

* :class:`ServiceSaveMixin` saves every form and inline row through a service
  (:func:`governance.services.record_save` by default), so the admin obeys the same rules as
  the API and imports. A ``ValidationError`` the service raises (e.g. "a claim without a source
  can only be a draft") rolls the whole save back and shows the form again with the error on
  its field: never a 500, never half a save. Every change form and inline row carries the
  version it was loaded with (hidden ``loaded_version``): a save from an older version is
  refused with what changed, who changed it and when, the user's input kept in the form and
  the current version now carried, so saving again is a deliberate choice, never a silent one.
* :class:`ResearchAdmin` adds what every research record's list needs: filters on the
  publication state, access level, synthetic flag and "deleted", read-only timestamps, the
  review workflow as actions (submit, return to draft, publish, unpublish: services of
  :mod:`governance.workflow`, each shown only to who may use it) and soft deletion (delete
  button, "delete selected" and inline delete boxes set ``deleted_at``; "Restore deleted
  records" brings them back; only admins "Purge").
* :class:`HistoryAdminMixin` (every atlas admin) shows a record's audit trail on its "History"
  page (pghistory events: when, who, how, old → new), restores any earlier version, and lists
  purged records of the model so that they can be recreated from their history.
* :class:`ReviewEventAdmin`: the workflow log, read-only.
* :class:`PreloadedAutocompleteSelect` lets an inline of hundreds of rows render its
  autocomplete widgets from the rows' already loaded relations instead of one query each.
* :class:`AllOrNothingImportMixin` makes a django-import-export import apply all rows or none.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import (
    FieldDoesNotExist,
    ObjectDoesNotExist,
    PermissionDenied,
    ValidationError,
)
from django.db import models
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from import_export.forms import ExportForm

from governance import revisions
from governance.audit import (
    event_model_for,
    purged_records,
    record_history,
    record_restore_version,
    tracked_fields,
    validation_message,
)
from governance.entry import apply_entry_defaults, describe_access_levels
from governance.models import ReviewEvent, Revision, Source
from governance.redaction import is_access_field, may_change_access
from governance.services import VersionConflict, audit_context, is_versioned, record_save
from governance.workflow import (
    may_publish,
    may_purge,
    record_publish,
    record_purge,
    record_restore_deleted,
    record_return_to_draft,
    record_soft_delete,
    record_submit,
    record_unpublish,
    review_event_log,
)

#: Filters every list of research records gets, where the model has the field.
RESEARCH_FILTERS = ("state", "access_level", "is_synthetic")
#: Read-only bookkeeping fields, where the model has them.
TIMESTAMP_FIELDS = ("created_at", "updated_at")
#: The hidden form field with the version a change form was loaded with.
LOADED_VERSION = "loaded_version"


def with_loaded_version(fieldsets, model, *, include: bool) -> list:
    """``fieldsets`` with the hidden version field last in the first one (``include``), or
    without it (a new record has no version yet; a read-only form is never saved).

    Django renders only the fields named in the fieldsets; a hidden field there renders as a
    hidden row, so the version travels with every change form and inline row.
    """
    fieldsets = [
        (name, {**options, "fields": without_loaded_version(options["fields"])})
        for name, options in fieldsets
    ]
    if include and fieldsets and is_versioned(model):
        name, options = fieldsets[0]
        fieldsets[0] = (name, {**options, "fields": [*options["fields"], LOADED_VERSION]})
    return fieldsets


def without_loaded_version(fields) -> list:
    kept = []
    for field in fields:
        if isinstance(field, list | tuple):
            field = type(field)(f for f in field if f != LOADED_VERSION)
            if field:
                kept.append(field)
        elif field != LOADED_VERSION:
            kept.append(field)
    return kept


# --- Autocomplete widgets that reuse loaded relations ----------------------------------------


class PreloadedAutocompleteMixin:
    """Render the selected options from objects already loaded with the row, when they cover it.

    Django's autocomplete widget runs one query per widget to label the selected value. In an
    inline that is one query per row and relation. :class:`AtlasAdminForm` hands the widget the
    related objects the row was loaded with (``select_related``/``prefetch_related``), and the
    widget uses them when they cover the selected values (after a failed POST they may not:
    then it falls back to Django's query).
    """

    preloaded: list[models.Model] | None = None

    def optgroups(self, name, value, attr=None):
        selected = {str(v) for v in value if str(v) not in self.choices.field.empty_values}
        remote_opts = self.field.remote_field.model._meta
        to_field = getattr(self.field.remote_field, "field_name", remote_opts.pk.attname)
        to_field = remote_opts.get_field(to_field).attname
        known = {str(getattr(obj, to_field)): obj for obj in self.preloaded or ()}
        if self.preloaded is None or not selected <= known.keys():
            return super().optgroups(name, value, attr)
        options = []
        if not self.is_required and not self.allow_multiple_selected:
            options.append(self.create_option(name, "", "", False, 0))
        for key, obj in known.items():
            if key in selected:
                label = self.choices.field.label_from_instance(obj)
                options.append(
                    self.create_option(name, getattr(obj, to_field), label, True, len(options))
                )
        return [(None, options, 0)]


class PreloadedAutocompleteSelect(PreloadedAutocompleteMixin, AutocompleteSelect):
    pass


class PreloadedAutocompleteSelectMultiple(PreloadedAutocompleteMixin, AutocompleteSelectMultiple):
    pass


class PreloadedAutocompleteAdminMixin:
    """Use the preloading autocomplete widgets for ``autocomplete_fields`` (admins and inlines)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = PreloadedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = PreloadedAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


# --- Forms that carry the errors of a rejected save ------------------------------------------


class SaveRejected(Exception):
    """A service refused to save: ``errors`` maps a form prefix (None: the main form) to
    ``(label, ValidationError)``. Raised inside the admin's transaction, which it rolls back."""

    def __init__(self, errors: dict[str | None, tuple[str, ValidationError]]):
        super().__init__(errors)
        self.errors = errors


def error_messages(error: ValidationError) -> dict[str | None, list[str]]:
    """``{field or None: [messages]}`` of a ValidationError, whatever its shape."""
    if hasattr(error, "error_dict"):
        return {
            (None if field == "__all__" else field): messages_
            for field, messages_ in error.message_dict.items()
        }
    return {None: list(error.messages)}


class AtlasAdminForm(forms.ModelForm):
    """The base form of every admin form and inline row of the atlas.

    ``rejected`` is set (on a subclass made per request) when the first attempt to save was
    refused by the service: each form then shows its own errors, so the page comes back with
    every error in place and nothing saved.
    """

    rejected: dict[str | None, tuple[str, ValidationError]] = {}
    #: The user whose pending revisions the form shows, and the request's store of them (set
    #: per request, see with_pending).
    pending_author_id: int | None = None
    pending_cache: dict | None = None

    #: The version of the record the form was loaded with (the optimistic lock, see
    #: governance.services): a save from an older version is refused with what changed.
    loaded_version = forms.IntegerField(
        label=_("version"), widget=forms.HiddenInput, required=False, min_value=1
    )

    def __init__(self, *args, **kwargs):
        kwargs = self._show_pending_version(kwargs)
        super().__init__(*args, **kwargs)
        # A new record starts with the research team's defaults (governance.entry).
        given = kwargs.get("initial") or {}
        for name, value in apply_entry_defaults(self.instance, explicit=given).items():
            if name in self.fields:
                self.initial[name] = value
        describe_access_levels(self)
        if not is_versioned(self.instance):
            self.fields.pop(LOADED_VERSION, None)
        elif self.instance.pk is not None and not self.instance._state.adding:
            self.fields[LOADED_VERSION].initial = self.instance.version
            self._renew_version_after_conflict()
        self._preload_autocomplete()

    def _show_pending_version(self, kwargs: dict) -> dict:
        """An author sees their own pending revision of the record (governance.revisions): its
        values fill the form, so that saving again refines the same revision."""
        instance = kwargs.get("instance")
        store = self.pending_cache
        if store is None or instance is None or instance.pk is None:
            return kwargs
        if not is_versioned(instance):
            return kwargs
        if "by_record" not in store:  # one query per request
            store["by_record"] = {
                (r.content_type_id, r.object_id): r
                for r in revisions.pending_revisions().filter(author_id=self.pending_author_id)
            }
        content_type = ContentType.objects.get_for_model(instance, for_concrete_model=False)
        revision = store["by_record"].get((content_type.id, instance.pk))
        if revision is None:
            return kwargs
        m2m = revisions.overlay(instance, revision.changes)
        return {**kwargs, "initial": {**m2m, **(kwargs.get("initial") or {})}}

    def _renew_version_after_conflict(self) -> None:
        """After a refused save, carry the current version: the user has now been told what
        changed, so saving the kept input again is a deliberate choice, not a silent one."""
        own = self.rejected.get(self.prefix)
        if own is None or not isinstance(own[1], VersionConflict) or not self.is_bound:
            return
        if own[1].current is None:
            return
        data = self.data.copy()
        data[self.add_prefix(LOADED_VERSION)] = str(own[1].current)
        self.data = data

    def _post_clean(self):
        super()._post_clean()
        version = self.cleaned_data.get(LOADED_VERSION) if LOADED_VERSION in self.fields else None
        if version is not None and self.instance.pk is not None:
            # The service compares this with the stored version (SELECT … FOR UPDATE).
            self.instance.version = version

    def _preload_autocomplete(self) -> None:
        instance = self.instance
        if instance.pk is None:
            return
        prefetched = getattr(instance, "_prefetched_objects_cache", {})
        for name, field in self.fields.items():
            widget = getattr(field.widget, "widget", field.widget)
            if not isinstance(widget, PreloadedAutocompleteMixin):
                continue
            try:
                model_field = instance._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if model_field.many_to_many:
                if name in prefetched:
                    widget.preloaded = list(prefetched[name])
            elif model_field.is_cached(instance):
                related = model_field.get_cached_value(instance)
                widget.preloaded = [] if related is None else [related]

    def clean(self):
        cleaned = super().clean()
        own = self.rejected.get(self.prefix)
        if own is not None:
            for field, texts in error_messages(own[1]).items():
                if field in self.fields:
                    self.add_error(field, texts)
                else:
                    label = self._field_label(field)
                    self.add_error(None, [f"{label}: {t}" if label else t for t in texts])
        if self.prefix is None and self.rejected:
            # The main form also lists what the rows below refused, so nothing goes unseen.
            self.add_error(None, gettext("Nothing was saved: correct the errors and save again."))
            for prefix, (label, error) in self.rejected.items():
                if prefix is not None:
                    for texts in error_messages(error).values():
                        self.add_error(None, [f"{label}: {t}" for t in texts])
        return cleaned

    def _field_label(self, name: str | None) -> str:
        if not name:
            return ""
        try:
            return str(self.instance._meta.get_field(name).verbose_name)
        except FieldDoesNotExist:
            return name


def with_pending(form_class, request):
    """``form_class``, showing the pending revisions of this request's user."""
    author = getattr(request.user, "pk", None)
    store = request.__dict__.setdefault("_atlas_pending", {}) if author is not None else None
    return type(
        form_class.__name__,
        (form_class,),
        {"pending_author_id": author, "pending_cache": store},
    )


def with_rejected(form_class, request):
    """``form_class``, carrying the errors of this request's rejected save if there was one."""
    rejected = getattr(request, "_atlas_rejected", None)
    if not rejected:
        return form_class
    return type(form_class.__name__, (form_class,), {"rejected": rejected})


def m2m_data(form) -> dict[str, list]:
    """The many-to-many values of a validated model form, for the service to set."""
    return {
        f.name: list(form.cleaned_data[f.name])
        for f in form.instance._meta.many_to_many
        if f.name in form.cleaned_data
    }


# --- Admins that save through services -------------------------------------------------------


class AtlasInlineMixin(PreloadedAutocompleteAdminMixin):
    """Inline rows of the atlas: the atlas form, preloaded autocompletes, rejected-save errors.

    Rows are saved by the parent admin's :meth:`ServiceSaveMixin.save_formset`.
    """

    form = AtlasAdminForm
    show_change_link = True

    def get_formset(self, request, obj=None, **kwargs):
        form = with_rejected(kwargs.get("form", self.form), request)
        kwargs["form"] = with_pending(form, request)
        return super().get_formset(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        # Read-only rows are never saved: no version to carry.
        include = self.has_change_permission(request, obj)
        return with_loaded_version(fieldsets, self.model, include=include)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if model_has_field(self.model, "deleted_at"):
            # A deleted row is only in its own admin (filter "Deleted"), where it is restored.
            queryset = queryset.filter(deleted_at__isnull=True)
        return queryset

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if model_has_field(self.model, "state") and not may_publish(request.user):
            # The publication state moves through the review workflow (admin actions).
            fields.append("state")
        return [*fields, *access_fields_locked(self.model, request.user, fields)]


class ServiceSaveMixin(PreloadedAutocompleteAdminMixin):
    """Save the main form and every inline row through ``save_service``, as one unit.

    ``save_service(*, instance, actor, via, m2m)`` validates (``full_clean``), saves, sets the
    many-to-many relations and checks the rules that need them (claims and their sources).
    When it raises ``ValidationError`` the admin's transaction is rolled back and the page is
    shown again with the errors on their fields.
    """

    form = AtlasAdminForm
    #: The write service; apps with derived data (town aggregates) set their own.
    save_service = staticmethod(record_save)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        return with_pending(with_rejected(form_class, request), request)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        include = obj is not None and self.has_change_permission(request, obj)
        return with_loaded_version(fieldsets, self.model, include=include)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id and request.method == "GET":
            self.tell_pending(request, object_id)
        with revisions.collecting():
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            except SaveRejected as rejected:
                # Django's view ran in a transaction that the exception rolled back: nothing is
                # written (no row, no history event). Show the same POST again, with the errors.
                request._atlas_rejected = rejected.errors
                return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        with revisions.collecting():
            return super().delete_view(request, object_id, extra_context)

    def changelist_view(self, request, extra_context=None):
        with revisions.collecting():  # list actions and "delete selected"
            return super().changelist_view(request, extra_context)

    # -- review of changes (governance.revisions)

    def tell_pending(self, request, object_id) -> None:
        """On a change form: the user's own pending or sent-back change, others' pending ones."""
        if not is_versioned(self.model):
            return
        try:
            pk = self.model._meta.pk.to_python(unquote(object_id))
        except ValidationError:
            return
        content_type = ContentType.objects.get_for_model(self.model, for_concrete_model=False)
        for revision in (
            Revision.objects.filter(content_type=content_type, object_id=pk)
            .exclude(status__in=[Revision.Status.APPROVED, Revision.Status.WITHDRAWN])
            .select_related("author")[:5]
        ):
            mine = revision.author_id == request.user.pk
            if revision.status == Revision.Status.SENT_BACK:
                if not mine:
                    continue
                text, level = (
                    gettext("Your change ({link}) was sent back: {comment}"),
                    messages.WARNING,
                )
            elif mine:
                text, level = (
                    gettext(
                        "The form shows your change of {when}, waiting for review ({link}); "
                        "the public sees the published version."
                    ),
                    messages.INFO,
                )
            else:
                text, level = (
                    gettext(
                        "A change by {who} of {when} is waiting for review ({link}); the form "
                        "shows the published version."
                    ),
                    messages.INFO,
                )
            link = format_html(
                '<a href="{}">{}</a>',
                reverse("admin:governance_revision_change", args=[revision.pk]),
                gettext("see it"),
            )
            when = revision.updated_at.strftime("%Y-%m-%d %H:%M")
            who = revision.author or "?"
            message = format_html(text, link=link, when=when, who=who, comment=revision.comment)
            self.message_user(request, message, level)

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        made = revisions.collected()
        if made and level == messages.SUCCESS:
            # Django would say "changed" or "deleted": nothing the public sees has changed yet.
            if getattr(request, "_atlas_review_told", False):
                return
            request._atlas_review_told = True
            message = ngettext(
                "Saved for review: %(count)d change waits for a reviewer's approval; until then "
                "everyone else sees the published version.",
                "Saved for review: %(count)d changes wait for a reviewer's approval; until then "
                "everyone else sees the published version.",
                len({r.pk for r in made}),
            ) % {"count": len({r.pk for r in made})}
            level = messages.WARNING
        return super().message_user(request, message, level, *args, **kwargs)

    def save_model(self, request, obj, form, change):
        try:
            self.save_service(instance=obj, actor=request.user, via="admin", m2m=m2m_data(form))
        except ValidationError as error:
            raise SaveRejected({None: (str(obj._meta.verbose_name), error)}) from error

    def save_related(self, request, form, formsets, change):
        # The main form's many-to-many relations were set by the service in save_model.
        if _proposed_new(form.instance):
            # A new reference record waits for review and has no row yet: its inline parts
            # cannot point at it. Refused whole (rolled back) rather than half-saved.
            if any(row.has_changed() for formset in formsets for row in formset.forms):
                raise SaveRejected(
                    {
                        None: (
                            str(self.model._meta.verbose_name),
                            ValidationError(
                                gettext(
                                    "A new %(record)s waits for a reviewer before anything can "
                                    "be attached to it: save it without the rows below, and "
                                    "add them once it is approved."
                                )
                                % {"record": self.model._meta.verbose_name}
                            ),
                        )
                    }
                )
            return
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def log_addition(self, request, obj, message):
        if _proposed_new(obj):
            return None  # nothing was added yet: the revision is the record of the proposal
        return super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if not _proposed_new(obj):
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, gettext("Saved."), messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:governance_revision_change", args=[obj._pending_revision.pk])
        )

    def save_formset(self, request, form, formset, change):
        # commit=False fills new/changed/deleted_objects (the change message reads them) and
        # saved_forms, without writing anything.
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            if model_has_field(type(obj), "deleted_at"):
                # Research records are deleted softly here too: recoverable from their admin.
                try:
                    record_soft_delete(
                        record=obj, actor=request.user, via="admin", save_service=self.save_service
                    )
                except (ValidationError, PermissionDenied) as error:
                    label = f"{obj._meta.verbose_name} «{obj}»"
                    raise SaveRejected({None: (label, as_validation_error(error))}) from error
            elif not revisions.propose_removal(instance=obj, actor=request.user, via="admin"):
                with audit_context(actor=request.user, via="admin"):
                    obj.delete()
        for row in formset.saved_forms:
            instance = row.instance
            try:
                self.save_service(
                    instance=instance, actor=request.user, via="admin", m2m=m2m_data(row)
                )
            except ValidationError as error:
                label = f"{instance._meta.verbose_name} «{instance}»"
                raise SaveRejected({row.prefix: (label, error)}) from error

    def delete_model(self, request, obj):
        # Removing a record the public sees (a town, a post...) waits for a reviewer.
        if revisions.propose_removal(instance=obj, actor=request.user, via="admin"):
            return
        with audit_context(actor=request.user, via="admin"):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        if revisions.is_reference(self.model):
            for obj in queryset:
                self.delete_model(request, obj)
            return
        with audit_context(actor=request.user, via="admin"):
            super().delete_queryset(request, queryset)


def _proposed_new(obj) -> bool:
    """A new record stored as a revision (governance.revisions): no row, no primary key."""
    return obj.pk is None and getattr(obj, "_pending_revision", None) is not None


def model_has_field(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def as_validation_error(error: Exception) -> ValidationError:
    if isinstance(error, ValidationError):
        return error
    return ValidationError(str(error))


def purged_label(model, event) -> str:
    """What a purged record was called, rebuilt from its last event (its relations may be gone)."""
    instance = model(**{f.attname: getattr(event, f.attname) for f in tracked_fields(model)})
    try:
        return str(instance)
    except ObjectDoesNotExist:
        return f"{capfirst(model._meta.verbose_name)} #{event.pgh_obj_id}"


class HistoryAdminMixin:
    """The history of a record from its audit trail, and "restore this version".

    Replaces Django's history page (the "History" button of every change form) with the
    pghistory events of the record: when, who, how (admin, api, import, command...) and which
    fields changed from what to what, newest first, with a "Restore this version" button on
    every earlier version. Records that were removed for good are listed on a "purged" page of
    the model, from where they can be recreated. Nothing here edits an event: the restore is a
    new save, which leaves its own event.
    """

    history_template = "admin/governance/record_history.html"
    purged_template = "admin/governance/purged_records.html"

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        urls = [
            path(
                "purged/",
                self.admin_site.admin_view(self.purged_view),
                name=f"{name}_purged",
            ),
            path(
                "restore-version/<int:event_id>/",
                self.admin_site.admin_view(require_POST(self.restore_version_view)),
                name=f"{name}_restore_version",
            ),
        ]
        return urls + super().get_urls()

    def history_view(self, request, object_id, extra_context=None):
        if event_model_for(self.model) is None:
            return super().history_view(request, object_id, extra_context)
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return self._history_response(request, obj, obj.pk, extra_context)

    def _history_response(self, request, obj, object_id, extra_context=None):
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("History of “%s”") % obj,
            "subtitle": None,
            "object": obj,
            "object_id": object_id,
            "opts": opts,
            "entries": record_history(model=self.model, object_id=object_id),
            "review_events": ReviewEvent.objects.filter(
                model=opts.label_lower, object_id=str(object_id)
            ).select_related("actor"),
            "may_restore": self.has_change_permission(request) or self.has_add_permission(request),
            "restore_url": f"admin:{opts.app_label}_{opts.model_name}_restore_version",
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.history_template, context)

    def purged_view(self, request):
        if event_model_for(self.model) is None or not self.has_view_permission(request):
            raise PermissionDenied
        object_id = request.GET.get("object")
        if object_id:
            # The history of one purged record (its row is gone, its events are not).
            entries = record_history(model=self.model, object_id=object_id)
            if not entries or self.model._base_manager.filter(pk=object_id).exists():
                raise Http404
            label = purged_label(self.model, entries[0].event)
            return self._history_response(
                request, label, entries[0].event.pgh_obj_id, {"purged": True}
            )
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Purged %s") % opts.verbose_name_plural,
            "opts": opts,
            "events": [
                (event, purged_label(self.model, event))
                for event in purged_records(model=self.model)
            ],
            "may_restore": self.has_add_permission(request),
            "restore_url": f"admin:{opts.app_label}_{opts.model_name}_restore_version",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.purged_template, context)

    def restore_version_view(self, request, event_id):
        event_model = event_model_for(self.model)
        if event_model is None:
            raise Http404
        event = get_object_or_404(event_model, pk=event_id)
        try:
            record = record_restore_version(
                event=event, actor=request.user, via="admin", save_service=self.save_service
            )
        except ValidationError as error:
            self.message_user(
                request,
                gettext("This version could not be restored: %s") % validation_message(error),
                messages.ERROR,
            )
            opts = self.model._meta
            back = reverse(f"admin:{opts.app_label}_{opts.model_name}_purged")
            if self.model._base_manager.filter(pk=event.pgh_obj_id).exists():
                back = reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_history",
                    args=[event.pgh_obj_id],
                )
            return HttpResponseRedirect(back)
        if getattr(record, "_pending_revision", None) is not None:
            # A published record: the restored version waits for a reviewer.
            self.message_user(
                request,
                gettext(
                    "The version of %(at)s of “%(record)s” was saved for review: a reviewer "
                    "must approve it before anyone else sees it."
                )
                % {"at": event.pgh_created_at.strftime("%Y-%m-%d %H:%M:%S"), "record": record},
                messages.WARNING,
            )
        else:
            self.message_user(
                request,
                gettext("The version of %(at)s of “%(record)s” was restored.")
                % {"at": event.pgh_created_at.strftime("%Y-%m-%d %H:%M:%S"), "record": record},
                messages.SUCCESS,
            )
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[record.pk])
        )


class AtlasModelAdmin(HistoryAdminMixin, ServiceSaveMixin, admin.ModelAdmin):
    """An admin of the atlas: saves through services, timestamps read-only, audit history."""

    list_per_page = 50
    # Django 6 makes https the default scheme of a URL typed without one; the atlas already does.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        extra = [f for f in TIMESTAMP_FIELDS if model_has_field(self.model, f) and f not in fields]
        return [*fields, *extra]


def access_fields_locked(model, user, already=()) -> list[str]:
    """The access-level fields of ``model`` that ``user`` may not change (all of them, for
    anyone but reviewers and admins: :func:`governance.redaction.may_change_access`)."""
    if may_change_access(user):
        return []
    return [
        f.name
        for f in model._meta.concrete_fields
        if is_access_field(f.name) and f.name not in already
    ]


class DeletedFilter(admin.SimpleListFilter):
    """Softly deleted records are hidden from the list unless asked for."""

    title = _("deleted")
    parameter_name = "deleted"
    template = "admin/governance/deleted_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        opts = model._meta
        self.purged_url = (
            reverse(f"admin:{opts.app_label}_{opts.model_name}_purged")
            if event_model_for(model) is not None and model_admin.has_view_permission(request)
            else ""
        )

    def lookups(self, request, model_admin):
        return [("yes", _("Deleted")), ("all", _("All, deleted or not"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "all":
            return queryset
        return queryset.filter(deleted_at__isnull=True)

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("Not deleted"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


#: ReviewEvent action recorded when a change form moves the state (reviewers may edit it).
FORM_STATE_ACTIONS = {
    "published": ReviewEvent.Action.PUBLISH,
    "in_review": ReviewEvent.Action.SUBMIT,
}


@admin.action(description=_("Delete selected %(verbose_name_plural)s (recoverable)"))
def soft_delete_selected(modeladmin, request, queryset):
    """Django's "delete selected" (with its confirmation page), deleting softly."""
    return delete_selected(modeladmin, request, queryset.filter(deleted_at__isnull=True))


soft_delete_selected.allowed_permissions = ("delete",)


class ResearchAdmin(AtlasModelAdmin):
    """An admin of research records: filters, the review workflow and recoverable deletion.

    * Filters on state, access level, the synthetic flag and "deleted" (deleted records are
      hidden unless that filter asks for them; they open read-only).
    * Actions "Submit for review", "Return to draft", "Publish", "Unpublish", "Restore deleted"
      and "Purge", each shown only to users who may use it, each calling its service in
      :mod:`governance.workflow`, one record at a time: the ones that can move move, and each
      one that cannot is named in a message with the reason.
    * Deleting (the delete button, "delete selected", an inline's delete box) is soft: the
      record gets ``deleted_at`` and can be restored; only admins purge.
    * The publication state is read-only in forms for users who may not publish.
    """

    actions = [
        "submit_for_review",
        "return_to_draft",
        "publish",
        "unpublish",
        "restore_deleted",
        "purge",
    ]
    delete_confirmation_template = "admin/governance/soft_delete_confirmation.html"
    delete_selected_confirmation_template = (
        "admin/governance/soft_delete_selected_confirmation.html"
    )

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        extra = [f for f in RESEARCH_FILTERS if model_has_field(self.model, f) and f not in filters]
        return [*filters, *extra, DeletedFilter]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not may_publish(request.user) and "state" not in fields:
            fields.append("state")
        return [*fields, *access_fields_locked(self.model, request.user, fields)]

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "autocomplete":
            # A deleted record is not offered as a new relation.
            queryset = queryset.filter(deleted_at__isnull=True)
        return queryset, may_have_duplicates

    # -- permissions of the actions (Django calls has_<name>_permission)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.deleted_at is not None:
            return False  # a deleted record is read-only until restored
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.deleted_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def has_submit_permission(self, request):
        return self.has_change_permission(request)

    def has_publish_permission(self, request):
        return may_publish(request.user) and self.has_change_permission(request)

    def has_restore_permission(self, request):
        return self.has_delete_permission(request)

    def has_purge_permission(self, request):
        return may_purge(request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            actions["delete_selected"] = (
                soft_delete_selected,
                "delete_selected",
                soft_delete_selected.short_description,
            )
        return actions

    # -- the actions

    def run_service(self, request, queryset, service, *, done: str, with_save: bool = True):
        """Call ``service`` on each selected record; report successes and each failure."""
        moved, failed = 0, []
        for record in queryset:
            kwargs = {"record": record, "actor": request.user, "via": "admin"}
            if with_save:
                kwargs["save_service"] = self.save_service
            try:
                service(**kwargs)
            except (ValidationError, PermissionDenied) as error:
                failed.append(f"«{record}»: {validation_message(as_validation_error(error))}")
            else:
                moved += 1
        if moved:
            self.message_user(
                request,
                ngettext("%(count)d record %(done)s.", "%(count)d records %(done)s.", moved)
                % {"count": moved, "done": done},
                messages.SUCCESS,
            )
        for failure in failed:
            self.message_user(request, gettext("Not changed: %s") % failure, messages.ERROR)

    @admin.action(description=_("Submit for review"), permissions=["submit"])
    def submit_for_review(self, request, queryset):
        self.run_service(request, queryset, record_submit, done=gettext("submitted for review"))

    @admin.action(description=_("Return to draft"), permissions=["submit"])
    def return_to_draft(self, request, queryset):
        self.run_service(
            request, queryset, record_return_to_draft, done=gettext("returned to draft")
        )

    @admin.action(description=_("Publish"), permissions=["publish"])
    def publish(self, request, queryset):
        self.run_service(request, queryset, record_publish, done=gettext("published"))

    @admin.action(description=_("Unpublish (back to draft)"), permissions=["publish"])
    def unpublish(self, request, queryset):
        self.run_service(request, queryset, record_unpublish, done=gettext("unpublished"))

    @admin.action(description=_("Restore deleted records"), permissions=["restore"])
    def restore_deleted(self, request, queryset):
        self.run_service(request, queryset, record_restore_deleted, done=gettext("restored"))

    @admin.action(description=_("Purge deleted records for good"), permissions=["purge"])
    def purge(self, request, queryset):
        self.run_service(request, queryset, record_purge, done=gettext("purged"), with_save=False)

    # -- deletion is soft

    def get_deleted_objects(self, objs, request):
        # Nothing related is removed by a soft delete: list only the records themselves.
        objs = list(objs)
        opts = self.model._meta
        listed = [f"{capfirst(opts.verbose_name)}: {obj}" for obj in objs]
        return listed, {opts.verbose_name_plural: len(objs)}, set(), []

    def delete_model(self, request, obj):
        record_soft_delete(
            record=obj, actor=request.user, via="admin", save_service=self.save_service
        )

    def delete_queryset(self, request, queryset):
        for record in queryset.filter(deleted_at__isnull=True):
            record_soft_delete(
                record=record, actor=request.user, via="admin", save_service=self.save_service
            )

    # -- a state changed in the form is a workflow step too

    def save_model(self, request, obj, form, change):
        before = ""
        if change:
            before = (
                type(obj)._base_manager.filter(pk=obj.pk).values_list("state", flat=True).first()
            ) or ""
        super().save_model(request, obj, form, change)
        if getattr(obj, "_pending_revision", None) is not None:
            return  # the state moves when a reviewer approves the change (governance.revisions)
        after = getattr(obj, "state", "")
        if after and after != (before or "draft"):
            action = FORM_STATE_ACTIONS.get(after)
            if action is None:
                action = (
                    ReviewEvent.Action.UNPUBLISH
                    if before == "published"
                    else ReviewEvent.Action.RETURN
                )
            review_event_log(
                record=obj,
                actor=request.user,
                action=action,
                from_state=before,
                to_state=after,
                comment=gettext("changed in the form"),
            )


@admin.register(ReviewEvent)
class ReviewEventAdmin(admin.ModelAdmin):
    """The workflow log: read-only, for everyone who works on the data."""

    list_display = ["at", "action", "record_kind", "object_repr", "step", "actor"]
    list_filter = ["action", "model"]
    list_select_related = ["actor"]
    search_fields = ["object_repr", "object_id", "comment"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in ReviewEvent._meta.fields]

    @admin.display(description=_("kind of record"), ordering="model")
    def record_kind(self, event):
        return event.record_kind

    @admin.display(description=_("state"))
    def step(self, event):
        return f"{event.from_state_label or '—'} → {event.to_state_label or '—'}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Import and export: all rows or none -----------------------------------------------------


def _neutralised(dataset):
    """A copy of ``dataset`` whose text cells cannot start a spreadsheet formula."""
    import tablib

    from governance.api.renderers import neutralise

    copy = tablib.Dataset(headers=dataset.headers, title=dataset.title)
    for row in dataset:
        copy.append([neutralise(v) if isinstance(v, str) else v for v in row])
    return copy


class SafeCSV(base_formats.CSV):
    """CSV export with formula cells neutralised (the library's own escape only drops ``=``)."""

    def export_data(self, dataset, **kwargs):
        return super().export_data(_neutralised(dataset), **kwargs)


class SafeXLSX(base_formats.XLSX):
    """XLSX export in which no cell is a formula.

    openpyxl stores any text starting with ``=`` as a formula, which the spreadsheet runs on
    opening. Here such cells are stored as text, exactly as written (the library's own escape
    drops the ``=``). Numbers stay numbers. Other prefixes (``+``, ``-``, ``@``) are harmless
    in XLSX, where a text cell is never evaluated.
    """

    def export_data(self, dataset, **kwargs):
        import io

        from openpyxl import load_workbook

        data = super().export_data(dataset, **kwargs)
        workbook = load_workbook(io.BytesIO(data))
        formulas = [
            cell
            for sheet in workbook.worksheets
            for row in sheet.iter_rows()
            for cell in row
            if cell.data_type == "f"
        ]
        if not formulas:
            return data
        for cell in formulas:
            cell.data_type = "s"
        stream = io.BytesIO()
        workbook.save(stream)
        return stream.getvalue()


#: Session key of the temporary import files this session uploaded (their generated names).
IMPORT_FILES_SESSION_KEY = "atlas_import_files"
IMPORT_FILES_KEPT = 10


class AllOrNothingImportMixin(ImportExportMixin):
    """django-import-export in the admin, where one bad row rejects the whole file.

    The dry run (the upload step) already shows no confirm button when any row is invalid; the
    confirm step runs the import again and rolls everything back if any row fails there too
    (the data may have changed in between), instead of importing the good rows. Export writes
    exactly the columns the import reads.
    """

    formats = [SafeCSV, SafeXLSX]
    export_form_class = ExportForm
    #: Larger files are refused before they are parsed (a worker would be busy for minutes).
    import_max_bytes = 5 * 1024 * 1024
    import_template_name = "admin/import_export/import.html"
    #: A sentence or two on the columns, shown above the upload form.
    import_help = ""

    def has_import_permission(self, request):
        # django-import-export lets any staff user import unless a setting says otherwise; an
        # import adds and changes records, so it takes both permissions on the model.
        return self.has_add_permission(request) and self.has_change_permission(request)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        # django-import-export gives binary formats native cell types (numbers as numbers),
        # but tells them apart by exact class, so it would miss SafeXLSX: say so per request.
        request._atlas_native_export = file_format.is_binary()
        return super().get_export_data(file_format, request, queryset, **kwargs)

    def get_data_for_export(self, request, queryset, **kwargs):
        if getattr(request, "_atlas_native_export", False):
            kwargs["force_native_type"] = True
        return super().get_data_for_export(request, queryset, **kwargs)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_import_context_data(self, **kwargs):
        context = super().get_import_context_data(**kwargs)
        context["import_help"] = self.import_help
        return context

    def import_action(self, request, **kwargs):
        upload = request.FILES.get("import_file") if request.method == "POST" else None
        if upload is not None and upload.size > self.import_max_bytes:
            messages.error(
                request,
                gettext(
                    "The file is too large (%(size).1f MB): the limit is %(max)d MB. "
                    "Split it into several files."
                )
                % {"size": upload.size / 2**20, "max": self.import_max_bytes // 2**20},
            )
            return HttpResponseRedirect(request.path)
        return super().import_action(request, **kwargs)

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        name = initial.get("import_file_name")
        if name:
            # The confirm step may only name a file this session uploaded (see process_import).
            issued = request.session.get(IMPORT_FILES_SESSION_KEY, [])
            request.session[IMPORT_FILES_SESSION_KEY] = [*issued, name][-IMPORT_FILES_KEPT:]
        return initial

    def process_import(self, request, **kwargs):
        name = request.POST.get("import_file_name", "")
        issued = request.session.get(IMPORT_FILES_SESSION_KEY, [])
        if request.method == "POST" and name not in issued:
            # Only the file this session uploaded: never a client-chosen name (the library
            # would read and then delete the file of that name in its temporary folder).
            return self._upload_again(request)
        try:
            with revisions.collecting():
                response = super().process_import(request, **kwargs)
        except FileNotFoundError:
            # The confirm step names the uploaded temporary file; an expired one.
            return self._upload_again(request)
        request.session[IMPORT_FILES_SESSION_KEY] = [n for n in issued if n != name]
        return response

    def add_success_message(self, result, request):
        """The library counts a row that waits for review as "new" or "updated"; say which
        rows were written and which wait for a reviewer (governance.revisions)."""
        from import_export.results import RowResult

        pending = len({r.pk for r in revisions.collected()})
        if not pending:
            return super().add_success_message(result, request)
        totals = result.totals
        written = totals[RowResult.IMPORT_TYPE_NEW] + totals[RowResult.IMPORT_TYPE_UPDATE]
        messages.warning(
            request,
            gettext(
                "Import finished: %(written)d rows written directly, %(pending)d saved "
                "for review (changes to published records and new reference records: a "
                "reviewer must approve them; until then everyone else sees the published "
                "version), %(skipped)d unchanged."
            )
            % {
                "written": max(written - pending, 0),
                "pending": pending,
                "skipped": totals[RowResult.IMPORT_TYPE_SKIP],
            },
        )

    def _upload_again(self, request):
        messages.error(
            request, gettext("The uploaded file is no longer available: upload it again.")
        )
        info = self.model._meta.app_label, self.model._meta.model_name
        return HttpResponseRedirect(reverse("admin:{}_{}_import".format(*info)))

    def process_dataset(self, dataset, form, request, **kwargs):
        kwargs["rollback_on_validation_errors"] = True
        return super().process_dataset(dataset, form, request, **kwargs)

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            messages.error(
                request, gettext("The file was rejected and nothing was imported: see below.")
            )
            context = self.get_import_context_data()
            context.update(self.admin_site.each_context(request))
            form = self.get_import_form_class(request)(
                self.get_import_formats(), self.get_import_resource_classes(request)
            )
            context.update(
                {
                    "title": _("Import"),
                    "form": form,
                    "opts": self.model._meta,
                    "media": self.media + form.media,
                    "result": result,
                    "import_error_display": self.import_error_display,
                }
            )
            request.current_app = self.admin_site.name
            return TemplateResponse(request, [self.import_template_name], context)
        return super().process_result(result, request)


# --- Sources ---------------------------------------------------------------------------------


@admin.register(Source)
class SourceAdmin(ResearchAdmin):
    list_display = [
        "citation",
        "kind",
        "date",
        "reliability",
        "interview_code",
        "state",
        "access_level",
        "is_synthetic",
    ]
    list_filter = ["kind", "reliability"]
    search_fields = ["citation", "interview_code", "url"]
    date_hierarchy = "date"
    fieldsets = [
        (None, {"fields": ["kind", "citation", "date", "url", "interview_code"]}),
        (_("Assessment"), {"fields": ["reliability", "note"]}),
        (
            _("Record"),
            {"fields": ["state", "access_level", "is_synthetic", "created_at", "updated_at"]},
        ),
    ]


# The admin of changes for review lives in its own module (registered on import).
from governance import admin_revisions  # noqa: E402, F401
