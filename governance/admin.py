"""The researchers' workspace: what every app's admin shares, and the admin of sources.

* :class:`ServiceSaveMixin` saves every form and inline row through a service
  (:func:`governance.services.record_save` by default), so the admin obeys the same rules as
  the API and imports. A ``ValidationError`` the service raises (e.g. "a claim without a source
  can only be a draft") rolls the whole save back and shows the form again with the error on
  its field: never a 500, never half a save.
* :class:`ResearchAdmin` adds what every research record's list needs: filters on the
  publication state, access level and synthetic flag, and read-only timestamps.
* :class:`PreloadedAutocompleteSelect` lets an inline of hundreds of rows render its
  autocomplete widgets from the rows' already loaded relations instead of one query each.
* :class:`AllOrNothingImportMixin` makes a django-import-export import apply all rows or none.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from import_export.forms import ExportForm

from governance.models import Source
from governance.services import audit_context, record_save

#: Filters every list of research records gets, where the model has the field.
RESEARCH_FILTERS = ("state", "access_level", "is_synthetic")
#: Read-only bookkeeping fields, where the model has them.
TIMESTAMP_FIELDS = ("created_at", "updated_at")


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._preload_autocomplete()

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
        kwargs["form"] = with_rejected(kwargs.get("form", self.form), request)
        return super().get_formset(request, obj, **kwargs)


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
        return with_rejected(form_class, request)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except SaveRejected as rejected:
            # Django's view ran in a transaction that the exception rolled back: nothing is
            # written (no row, no history event). Show the same POST again, now with the errors.
            request._atlas_rejected = rejected.errors
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        try:
            self.save_service(instance=obj, actor=request.user, via="admin", m2m=m2m_data(form))
        except ValidationError as error:
            raise SaveRejected({None: (str(obj._meta.verbose_name), error)}) from error

    def save_related(self, request, form, formsets, change):
        # The main form's many-to-many relations were set by the service in save_model.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        # commit=False fills new/changed/deleted_objects (the change message reads them) and
        # saved_forms, without writing anything.
        formset.save(commit=False)
        with audit_context(actor=request.user, via="admin"):
            for obj in formset.deleted_objects:
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
        with audit_context(actor=request.user, via="admin"):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with audit_context(actor=request.user, via="admin"):
            super().delete_queryset(request, queryset)


def model_has_field(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


class AtlasModelAdmin(ServiceSaveMixin, admin.ModelAdmin):
    """An admin of the atlas: saves through services, timestamps read-only."""

    list_per_page = 50
    # Django 6 makes https the default scheme of a URL typed without one; the atlas already does.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        extra = [f for f in TIMESTAMP_FIELDS if model_has_field(self.model, f) and f not in fields]
        return [*fields, *extra]


class ResearchAdmin(AtlasModelAdmin):
    """An admin of research records: filters on state, access level and the synthetic flag."""

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        extra = [f for f in RESEARCH_FILTERS if model_has_field(self.model, f) and f not in filters]
        return [*filters, *extra]


# --- Import and export: all rows or none -----------------------------------------------------


class AllOrNothingImportMixin(ImportExportMixin):
    """django-import-export in the admin, where one bad row rejects the whole file.

    The dry run (the upload step) already shows no confirm button when any row is invalid; the
    confirm step runs the import again and rolls everything back if any row fails there too
    (the data may have changed in between), instead of importing the good rows. Export writes
    exactly the columns the import reads.
    """

    formats = [base_formats.CSV, base_formats.XLSX]
    export_form_class = ExportForm
    import_template_name = "admin/import_export/import.html"
    #: A sentence or two on the columns, shown above the upload form.
    import_help = ""

    def has_import_permission(self, request):
        # django-import-export lets any staff user import unless a setting says otherwise; an
        # import adds and changes records, so it takes both permissions on the model.
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_import_context_data(self, **kwargs):
        context = super().get_import_context_data(**kwargs)
        context["import_help"] = self.import_help
        return context

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
