"""Import and export of CSOs and CSO links (CSV, XLSX) with django-import-export.

Two promises, whatever the caller (admin, command, test):

* **All or nothing.** One bad row rejects the whole file: the import runs in a transaction and
  rolls back on any error, validation errors included, so neither rows nor history events
  remain. A dry run shows every row's change and writes nothing.
* **Errors name the row and the column.** Unknown slugs and codes, bad choice values, status
  moves the services refuse, self-links and duplicates are validation errors keyed by the
  column of the file (``source``, not ``source_cso``); :func:`import_errors` lists them as
  ``Row 3, column "towns": Unknown town slug: nowhere``.

Rows are saved through :func:`governance.services.record_save` (validated, audited with
``via="import"`` and the importing user) and status changes obey
:func:`csos.services.status_apply`, like every other write. New records arrive as restricted
drafts (the model defaults): a researcher publishes them after review.

Columns, many-to-many values separated by ``;``:

* CSOs: ``slug, name_en, name_be, name_ru, legal_form, status, liquidation_date,
  liquidation_grounds, character, character_evidence, founding_year, size_band, towns``
  (town slugs) ``, fields_of_activity`` (codes);
* links: ``source, target`` (CSO slugs) ``, kind, start_date, end_date, note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets
from import_export.formats import base_formats

from csos.models import CSO, CSOLink, CSOStatus, FieldOfActivity
from csos.services import link_check, liquidation_check, status_apply
from governance.services import audit_context, record_save
from towns.models import Town

#: The file formats offered for import and export.
FORMATS = [base_formats.CSV, base_formats.XLSX]
SEPARATOR = ";"


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (e.g. an unknown column)."""


class KeyListWidget(widgets.ManyToManyWidget):
    """Many-to-many by a natural key (slug, code), separated by ``;``; unknown keys are errors.

    The stock widget silently drops keys it cannot find, which would import a CSO without the
    towns the file names.
    """

    def __init__(self, model, field: str, label: str):
        super().__init__(model, separator=SEPARATOR, field=field)
        self.label = label

    def clean(self, value, row=None, **kwargs):
        if value is None or str(value).strip() == "":
            return []
        keys = list(dict.fromkeys(k.strip() for k in str(value).split(self.separator)))
        keys = [k for k in keys if k]
        found = {
            getattr(obj, self.field): obj
            for obj in self.model.objects.filter(**{f"{self.field}__in": keys})
        }
        missing = [k for k in keys if k not in found]
        if missing:
            raise ValueError(
                _("Unknown %(what)s: %(keys)s") % {"what": self.label, "keys": ", ".join(missing)}
            )
        return [found[k] for k in keys]

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        # ``.all()`` reads the prefetched rows: one query for the whole export.
        return self.separator.join(sorted(str(getattr(o, self.field)) for o in value.all()))


class WholeNumberWidget(widgets.IntegerWidget):
    """A whole number; spreadsheets store 2011 as 2011.0, which is accepted, "20x1" is not."""

    def clean(self, value, row=None, **kwargs):
        if value is None or str(value).strip() == "":
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number != number.to_integral_value():
            raise ValueError(_("Not a whole number: %(value)s") % {"value": value})
        return int(number)


class KeyWidget(widgets.ForeignKeyWidget):
    """A foreign key by a natural key; an unknown key is a ValueError (a validation error)."""

    def __init__(self, model, field: str, label: str):
        super().__init__(model, field=field)
        self.label = label

    def clean(self, value, row=None, **kwargs):
        if value is None or str(value).strip() == "":
            return None
        key = str(value).strip()
        try:
            return self.model.objects.get(**{self.field: key})
        except self.model.DoesNotExist:
            raise ValueError(
                _("Unknown %(what)s: %(key)s") % {"what": self.label, "key": key}
            ) from None


class SourceListWidget(widgets.ManyToManyWidget):
    """Sources by citation, slug of the citation or id, separated by ``;`` (see
    :class:`towns.imports.SourceWidget`); an unknown or ambiguous one is an error."""

    def __init__(self):
        from governance.models import Source

        super().__init__(Source, separator=SEPARATOR, field="citation")

    def clean(self, value, row=None, **kwargs):
        from towns.imports import SourceWidget

        if value is None or str(value).strip() == "":
            return []
        lookup = SourceWidget()
        keys = [k.strip() for k in str(value).split(self.separator) if k.strip()]
        lookup.preload(keys)
        return [lookup.clean(k) for k in keys]


def access_level_field() -> fields.Field:
    """The ``access_level`` column: a code or label of an access level; blank keeps it."""
    from towns.imports import AccessLevelWidget

    return fields.Field(
        attribute="access_level",
        column_name="access_level",
        widget=AccessLevelWidget(),
        saves_null_values=False,
    )


class AllOrNothingResource(resources.ModelResource):
    """A model resource whose imports are atomic, audited and report errors by column.

    ``sources`` (citations, slugs or ids separated by ``;``) and ``access_level`` are import
    columns of research records: a new record starts with the team's entry defaults
    (:mod:`governance.entry`), and only reviewers may set an access level that differs from
    them or from the record's own (the rule of the admin, ``governance.redaction``).
    """

    #: Columns read on import but not written on export (the export keeps its columns).
    import_only = ("sources", "access_level")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._actor = None
        self._seen: dict[tuple, int] = {}

    # -- the whole file ------------------------------------------------------------------------
    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        rollback_on_validation_errors=False,
        **kwargs,
    ):
        """Always in a transaction, always rolled back on any error (validation errors too)."""
        self._actor = kwargs.get("user")
        self._seen = {}
        with audit_context(actor=self._actor, via="import"):
            return super().import_data(
                dataset,
                dry_run=dry_run,
                raise_errors=raise_errors,
                use_transactions=True,
                collect_failed_rows=collect_failed_rows,
                rollback_on_validation_errors=True,
                **kwargs,
            )

    def before_import(self, dataset, **kwargs):
        # A misspelt column ("town" for "towns") would otherwise be ignored without a word.
        known = {f.column_name for f in self.get_import_fields()}
        unknown = [h for h in dataset.headers or [] if h not in (None, "") and h not in known]
        if unknown:
            raise ImportFileError(
                _("Unknown columns: %(unknown)s. The columns are: %(known)s.")
                % {"unknown": ", ".join(map(str, unknown)), "known": ", ".join(self.columns())}
            )

    def columns(self) -> list[str]:
        return [f.column_name for f in self.get_import_fields()]

    def get_export_fields(self, selected_fields=None):
        return [
            f
            for f in super().get_export_fields(selected_fields)
            if f.column_name not in self.import_only
        ]

    def after_init_instance(self, instance, new, row, **kwargs):
        if new:
            from governance.entry import apply_entry_defaults

            apply_entry_defaults(instance)

    def access_level_check(self, instance, row, errors: dict) -> None:
        """Only reviewers change who sees a record; others must leave the level as it is."""
        from governance.entry import entry_defaults
        from governance.redaction import may_change_access

        if "access_level" not in row or str(row["access_level"] or "").strip() == "":
            return
        if may_change_access(self._actor):
            return
        current = (
            getattr(instance, "_import_access_level", None)
            or (entry_defaults(type(instance))["access_level"])
        )
        if instance.access_level != current:
            errors.setdefault("access_level", []).append(
                _(
                    "Only reviewers set access levels: leave the cell blank or write "
                    "%(current)s (a new record gets the team's entry default)."
                )
                % {"current": current}
            )

    # -- one row --------------------------------------------------------------------------------
    def row_key(self, instance) -> tuple | None:
        """The natural key of a row, to find a row that repeats an earlier one."""
        return None

    def row_checks(self, instance, row, errors: dict, **kwargs) -> None:
        """Checks of a row beyond the model's own validation (add to ``errors``)."""

    def import_instance(self, instance, row, **kwargs):
        errors: dict = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        # Check many-to-many values now, before anything is saved, so that an unknown key is a
        # validation error of its column rather than a failure while saving.
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget) and field.column_name in row:
                try:
                    field.clean(row)
                except ValueError as exc:
                    errors[field.attribute] = [str(exc)]
        key = self.row_key(instance)
        number = kwargs.get("row_number")
        if key is not None:
            if key in self._seen:
                errors.setdefault(NON_FIELD_ERRORS, []).append(
                    _("This row repeats row %(row)s.") % {"row": self._seen[key]}
                )
            else:
                self._seen[key] = number
        self.row_checks(instance, row, errors, **kwargs)
        self.access_level_check(instance, row, errors)
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        try:
            instance.full_clean(exclude=list(errors), validate_unique=validate_unique)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(self._by_column(errors))

    def _by_column(self, errors: dict) -> dict:
        """Key errors by the column of the file, not the model attribute."""
        columns = {f.attribute: f.column_name for f in self.fields.values() if f.attribute}
        out: dict = {}
        for key, messages in errors.items():
            out.setdefault(columns.get(key, key), []).extend(messages)
        return out

    def do_instance_save(self, instance, is_create):
        # Saved with its many-to-many values in save_m2m, as one call of the service: a change
        # to a published record then waits for review whole (governance.revisions).
        pass

    def save_m2m(self, instance, row, **kwargs):
        # The service validates again and writes the audit row with who and how.
        m2m = {
            field.attribute: list(field.clean(row) or [])
            for field in self.get_import_fields()
            if isinstance(field.widget, widgets.ManyToManyWidget) and field.column_name in row
        }
        record_save(instance=instance, actor=self._actor, via="import", m2m=m2m)


class CSOResource(AllOrNothingResource):
    founding_year = fields.Field(
        attribute="founding_year", column_name="founding_year", widget=WholeNumberWidget()
    )
    towns = fields.Field(
        attribute="towns",
        column_name="towns",
        widget=KeyListWidget(Town, "slug", "town slug"),
        m2m_add=False,
    )
    fields_of_activity = fields.Field(
        attribute="fields_of_activity",
        column_name="fields_of_activity",
        widget=KeyListWidget(FieldOfActivity, "code", "field of activity code"),
        m2m_add=False,
    )
    sources = fields.Field(
        attribute="sources", column_name="sources", widget=SourceListWidget(), m2m_add=False
    )
    access_level = access_level_field()

    class Meta:
        model = CSO
        name = "CSOs"
        fields = (
            "slug",
            "name_en",
            "name_be",
            "name_ru",
            "legal_form",
            "status",
            "liquidation_date",
            "liquidation_grounds",
            "character",
            "character_evidence",
            "founding_year",
            "size_band",
            "towns",
            "fields_of_activity",
            "sources",
            "access_level",
        )
        import_order = fields
        export_order = fields
        import_id_fields = ("slug",)
        clean_model_instances = True
        skip_unchanged = False
        report_skipped = True
        widgets = {"liquidation_date": {"format": "%Y-%m-%d"}}

    def get_queryset(self):
        return CSO.objects.prefetch_related("towns", "fields_of_activity").order_by("slug")

    def after_init_instance(self, instance, new, row, **kwargs):
        super().after_init_instance(instance, new, row, **kwargs)
        instance._import_access_level = None if new else instance.access_level
        # The status before the row, to check the move against the allowed transitions.
        instance._import_old = (
            None
            if new
            else (instance.status, instance.liquidation_date, instance.liquidation_grounds)
        )

    def row_key(self, instance):
        return (instance.slug,) if instance.slug else None

    def row_checks(self, instance, row, errors, **kwargs):
        if {"status", "liquidation_date", "founding_year"} & errors.keys():
            return
        old = getattr(instance, "_import_old", None)
        try:
            if old is None or instance.status == old[0]:
                liquidation_check(instance)
                return
            # A new status obeys the transitions, exactly as in the admin and the services.
            old_status, old_date, _old_grounds = old
            new_status, new_date = instance.status, instance.liquidation_date
            if new_status != CSOStatus.LIQUIDATED and new_date == old_date:
                new_date = None  # an exported file still carries the stored date
            instance.status, instance.liquidation_date = old_status, old_date
            status_apply(
                instance,
                old=old_status,
                status=new_status,
                liquidation_date=new_date,
                grounds=instance.liquidation_grounds,
            )
        except ValidationError as exc:
            exc.update_error_dict(errors)


class CSOLinkResource(AllOrNothingResource):
    source = fields.Field(
        attribute="source_cso", column_name="source", widget=KeyWidget(CSO, "slug", "CSO slug")
    )
    target = fields.Field(
        attribute="target_cso", column_name="target", widget=KeyWidget(CSO, "slug", "CSO slug")
    )
    sources = fields.Field(
        attribute="sources", column_name="sources", widget=SourceListWidget(), m2m_add=False
    )
    access_level = access_level_field()

    class Meta:
        model = CSOLink
        name = "CSO links"
        fields = (
            "source",
            "target",
            "kind",
            "start_date",
            "end_date",
            "note",
            "sources",
            "access_level",
        )
        import_order = fields
        export_order = fields
        import_id_fields = ("source", "target", "kind")
        clean_model_instances = True
        skip_unchanged = False
        report_skipped = True
        widgets = {
            "start_date": {"format": "%Y-%m-%d"},
            "end_date": {"format": "%Y-%m-%d"},
        }

    def get_queryset(self):
        return CSOLink.objects.select_related("source_cso", "target_cso").order_by(
            "source_cso__slug", "target_cso__slug", "kind"
        )

    def get_instance(self, instance_loader, row):
        # An unknown slug is reported for its column by import_instance, not as a crash here.
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None

    def after_init_instance(self, instance, new, row, **kwargs):
        super().after_init_instance(instance, new, row, **kwargs)
        instance._import_access_level = None if new else instance.access_level

    def row_key(self, instance):
        if instance.source_cso_id and instance.target_cso_id and instance.kind:
            return (instance.source_cso_id, instance.target_cso_id, instance.kind)
        return None

    def row_checks(self, instance, row, errors, **kwargs):
        if "source_cso" in errors or "target_cso" in errors:
            return
        try:
            link_check(instance, self._actor)
        except ValidationError as exc:
            exc.update_error_dict(errors)


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did: the library's result and the errors as sentences."""

    result: object
    errors: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors


def import_errors(result) -> list[str]:
    """Every error of an import result as ``Row N, column "c": message`` (or a file error)."""
    out = [_("File: %(error)s") % {"error": err.error} for err in result.base_errors]
    for number, row_errors in result.row_errors():
        out.extend(
            _("Row %(row)d: %(error)s") % {"row": number, "error": err.error} for err in row_errors
        )
    for invalid in result.invalid_rows:
        for column, messages in invalid.field_specific_errors.items():
            out.extend(
                _('Row %(row)d, column "%(column)s": %(message)s')
                % {"row": invalid.number, "column": column, "message": message}
                for message in messages
            )
        out.extend(
            _("Row %(row)d: %(message)s") % {"row": invalid.number, "message": message}
            for message in invalid.non_field_specific_errors
        )
    return out


def run_import(
    resource_class: type[AllOrNothingResource],
    data: bytes | str,
    *,
    file_format: str = "csv",
    actor=None,
    dry_run: bool = False,
) -> ImportOutcome:
    """Import ``data`` (CSV text or XLSX bytes) with ``resource_class``, all or nothing."""
    fmt = {"csv": base_formats.CSV, "xlsx": base_formats.XLSX}[file_format]()
    try:
        if not fmt.is_binary() and isinstance(data, bytes):
            data = data.decode("utf-8-sig")
        dataset: tablib.Dataset = fmt.create_dataset(data)
    except Exception as exc:  # any unreadable file (bad encoding, not a zip, ...) is the user's
        raise ImportFileError(
            _("The file cannot be read as %(format)s (%(reason)s). Save it as UTF-8 CSV or .xlsx.")
            % {"format": file_format.upper(), "reason": type(exc).__name__}
        ) from exc
    result = resource_class().import_data(dataset, dry_run=dry_run, user=actor)
    return ImportOutcome(result=result, errors=import_errors(result))


def export_data(resource_class: type[AllOrNothingResource], *, file_format: str = "csv"):
    """Export every record of ``resource_class`` as CSV text or XLSX bytes."""
    dataset = resource_class().export()
    return dataset.export(file_format)
