"""Import and export of indicator values and of towns' facts (CSV and XLSX).

The rules, for both files:

* A town is named by its slug (``hlybokaye``) or its GeoNames id (``629018``); an indicator by
  its code (``population``). Nothing else creates a town or an indicator.
* Every cell is checked before anything is written: an unknown town or indicator, a year or
  quarter out of range, a value that is not a number, a row repeating another row's town,
  indicator and period, an unknown column: each is reported with its row and column.
* One bad row rejects the whole file: the import runs in one transaction that is rolled back
  (no row, no history event). The dry run shows, row by row, what would be added, changed or
  left alone.
* Rows are written through :func:`towns.services.research_record_save` under the audit context
  ``via="import"``, so the same validation and history apply as in the admin and the API.
* Export writes exactly the columns the import reads (plus read-only columns that the import
  ignores), so an exported file can be edited and imported again.

Rows are numbered from 1, the first line after the header.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, resources, widgets

from governance.access import AccessLevel
from governance.models import Confidence, Source
from governance.services import audit_context
from towns.models import Indicator, IndicatorValue, Town, TownKind
from towns.services import adopt_synthetic_twin, research_record_save


class ImportFileError(Exception):
    """The file as a whole cannot be imported (missing or unknown columns)."""


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def field_limits(model: type[models.Model], name: str) -> tuple[int | None, int | None]:
    """The bounds of a model field's Min/MaxValueValidators, so the checks stay in step."""
    low = high = None
    for validator in model._meta.get_field(name).validators:
        if isinstance(validator, MinValueValidator):
            low = validator.limit_value
        elif isinstance(validator, MaxValueValidator):
            high = validator.limit_value
    return low, high


# --- Widgets: every bad cell is a ValueError with a message for the researcher ---------------


class WholeNumberWidget(widgets.Widget):
    """A whole number within bounds; ``blank`` is returned for an empty cell.

    Spreadsheets store numbers as floats, so ``2019.0`` is accepted as 2019; ``2019.5``,
    ``20x9`` and ``TRUE`` are not.
    """

    def __init__(self, *, minimum=None, maximum=None, blank=None, label=""):
        super().__init__()
        self.minimum, self.maximum, self.blank, self.label = minimum, maximum, blank, label

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return self.blank
        number = None
        if not isinstance(value, bool):
            try:
                decimal = Decimal(str(value).strip())
            except InvalidOperation:
                decimal = None
            if decimal is not None and decimal.is_finite() and decimal == decimal.to_integral():
                number = int(decimal)
        if number is None:
            raise ValueError(_("%(value)r is not a whole number.") % {"value": value})
        if (self.minimum is not None and number < self.minimum) or (
            self.maximum is not None and number > self.maximum
        ):
            raise ValueError(self.range_message(number))
        return number

    def range_message(self, number: int) -> str:
        return _("%(number)s is out of range: %(label)s is between %(min)s and %(max)s.") % {
            "number": number,
            "label": self.label,
            "min": self.minimum,
            "max": self.maximum,
        }

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return value if kwargs.get("force_native_type") else str(value)


class QuarterWidget(WholeNumberWidget):
    def __init__(self):
        low, high = field_limits(IndicatorValue, "quarter")
        super().__init__(minimum=low or 0, maximum=high, blank=0, label=gettext_lazy("the quarter"))

    def range_message(self, number: int) -> str:
        return _("The quarter is 0 (the whole year) or 1 to 4, not %(number)s.") % {
            "number": number
        }


class NumberWidget(widgets.Widget):
    """A finite decimal number written with a decimal point (``1234.5``)."""

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return None
        number = None
        if not isinstance(value, bool):
            try:
                number = Decimal(str(value).strip())
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite():
            hint = (
                _(" Write decimals with a point, without thousands separators.")
                if isinstance(value, str) and "," in value
                else ""
            )
            raise ValueError(_("%(value)r is not a number.") % {"value": value} + hint)
        return number

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        if kwargs.get("force_native_type"):
            return value
        # Plain digits whatever the active language (no decimal comma, no exponent).
        return format(value.normalize(), "f")


class ChoiceWidget(widgets.Widget):
    """A code of a ``TextChoices``; blank gives None."""

    def __init__(self, choices):
        super().__init__()
        self.choices = choices

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return None
        code = str(value).strip()
        if code not in self.choices.values:
            raise ValueError(
                _("%(value)r is not one of: %(codes)s.")
                % {"value": value, "codes": ", ".join(self.choices.values)}
            )
        return code


class StrictBooleanWidget(widgets.Widget):
    """1/0, true/false, yes/no (any case); blank gives None; anything else is an error."""

    TRUE = {"1", "true", "yes"}
    FALSE = {"0", "false", "no"}

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text.endswith(".0"):
            text = text[:-2]
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValueError(_("%(value)r is not 1/0, true/false or yes/no.") % {"value": value})

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        if kwargs.get("force_native_type"):
            return value
        return "1" if value else "0"


class LookupWidget(widgets.Widget):
    """A related object named by a key; the objects are looked up once and kept.

    ``preload(keys)`` fetches every key of a file in one query; a key not preloaded is looked
    up on its own.
    """

    not_found = ""

    def __init__(self):
        super().__init__()
        self.cache: dict[str, models.Model | None] = {}

    def key(self, value) -> str:
        return str(value).strip()

    def fetch(self, keys: set[str]) -> dict[str, models.Model]:
        raise NotImplementedError

    def preload(self, values) -> None:
        keys = {self.key(v) for v in values if not is_blank(v)} - self.cache.keys()
        if keys:
            found = self.fetch(keys)
            self.cache.update({k: found.get(k) for k in keys})

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return None
        self.preload([value])
        obj = self.cache.get(self.key(value))
        if obj is None:
            raise ValueError(self.not_found % {"value": value})
        return obj


class TownWidget(LookupWidget):
    """A town by slug, or by GeoNames id when the cell is a whole number. Exports the slug."""

    not_found = gettext_lazy("No town has the slug or GeoNames id %(value)r.")

    def key(self, value) -> str:
        text = str(value).strip()
        # Spreadsheets turn 629018 into 629018.0.
        return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text

    def fetch(self, keys):
        ids = {int(k) for k in keys if k.isdigit()}
        towns = Town.objects.filter(models.Q(slug__in=keys) | models.Q(geonames_id__in=ids)).only(
            "id", "slug", "geonames_id", "name_en", "name_be", "name_ru"
        )
        found = {}
        for town in towns:
            found[town.slug] = town
            if town.geonames_id is not None:
                found[str(town.geonames_id)] = town
        return found

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else value.slug


class IndicatorWidget(LookupWidget):
    not_found = gettext_lazy("No indicator has the code %(value)r.")

    def fetch(self, keys):
        return {i.code: i for i in Indicator.objects.filter(code__in=keys)}

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else value.code


class SourceWidget(LookupWidget):
    """A source by its citation (any case and spacing), by the slug of its citation, or by its
    id. A real source wins over a demo one of the same citation; two real sources of the same
    citation are ambiguous and refused (name it by id)."""

    not_found = gettext_lazy(
        "No source has the citation, slug or id %(value)r (see the list of sources)."
    )
    ambiguous = gettext_lazy("Several sources have the citation %(value)r: give its id.")

    def __init__(self):
        super().__init__()
        self.ambiguous_keys: set[str] = set()

    def key(self, value) -> str:
        text = " ".join(str(value).split())
        return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text

    def fetch(self, keys):
        ids = {int(k) for k in keys if k.isdigit()}
        wanted = {k.casefold() for k in keys} | {slugify(k) for k in keys}
        by_name: dict[str, list[Source]] = {}
        found: dict[str, Source] = {}
        for source in Source.objects.filter(deleted_at__isnull=True).only(
            "id", "citation", "is_synthetic"
        ):
            if source.pk in ids:
                found[str(source.pk)] = source
            for name in {" ".join(source.citation.split()).casefold(), slugify(source.citation)}:
                if name in wanted:
                    by_name.setdefault(name, []).append(source)
        for key in keys:
            if key in found:
                continue
            matches = by_name.get(key.casefold()) or by_name.get(slugify(key)) or []
            real = [s for s in matches if not s.is_synthetic] or matches
            if len(real) == 1:
                found[key] = real[0]
            elif len(real) > 1:
                self.ambiguous_keys.add(key)
        return found

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except ValueError:
            if self.key(value) in self.ambiguous_keys:
                raise ValueError(self.ambiguous % {"value": value}) from None
            raise

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else value.citation


class AccessLevelWidget(ChoiceWidget):
    """The access level of a row: a code (public, partner, restricted) or its label."""

    def __init__(self):
        super().__init__(AccessLevel)

    def clean(self, value, row=None, **kwargs):
        if not is_blank(value):
            labels = {str(label).casefold(): code for code, label in AccessLevel.choices}
            value = labels.get(str(value).strip().casefold(), str(value).strip().casefold())
        return super().clean(value, row, **kwargs)


# --- Resources -------------------------------------------------------------------------------


class AllOrNothingResource(resources.ModelResource):
    """A resource whose import is all rows or none, checked cell by cell, written by a service.

    Subclasses name ``required_columns``, may add checks in :meth:`check_row`, and implement
    :meth:`row_key` (the identity of the record a row writes, to catch duplicates) and
    :meth:`find_instance` (the existing record, or None for a new one).
    """

    #: Columns every file must have (each cell in them must be filled).
    required_columns: tuple[str, ...] = ()
    #: Model constraint names → the column their violation message belongs to.
    constraint_columns: dict[str, str] = {}

    class Meta:
        use_transactions = True
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def import_data(self, dataset, *args, **kwargs):
        # django-import-export keeps the valid rows of a file with invalid ones unless told
        # otherwise; here a file is applied whole or not at all, whoever calls the import.
        kwargs["rollback_on_validation_errors"] = True
        self.actor = kwargs.get("user")
        with audit_context(actor=self.actor, via="import"):
            return super().import_data(dataset, *args, **kwargs)

    # -- the whole file

    def column_names(self) -> set[str]:
        return {f.column_name for f in self.get_import_fields()}

    def before_import(self, dataset, **kwargs):
        self.seen: dict[object, int] = {}
        self.normalise_headers(dataset)
        problems = self.header_problems(dataset.headers)
        if problems:
            # No row is looked at: the report is about the columns.
            del dataset[:]
            raise ImportFileError(" ".join(problems))
        # Trailing empty lines (frequent in spreadsheets) are not rows; inner ones are errors.
        while len(dataset) and all(is_blank(v) for v in dataset[-1]):
            del dataset[-1]
        self.preload(dataset)

    def normalise_headers(self, dataset) -> None:
        """Headers stripped and lower-cased; unnamed columns without data (leftovers) dropped."""
        headers = ["" if h is None else str(h).strip().lower() for h in dataset.headers or []]
        rows = [list(row) for row in dataset]
        keep = [
            i
            for i, header in enumerate(headers)
            if header or any(not is_blank(row[i]) for row in rows)
        ]
        dataset.wipe()
        dataset.headers = [headers[i] for i in keep]
        for row in rows:
            dataset.append([row[i] for i in keep])

    def header_problems(self, headers) -> list[str]:
        headers = list(headers or [])
        known = self.column_names()
        problems = []
        missing = [c for c in self.required_columns if c not in headers]
        if missing:
            problems.append(_("The file lacks the columns: %s.") % ", ".join(missing))
        unknown = [h or _("(no name)") for h in headers if h not in known]
        if unknown:
            problems.append(
                _("Unknown columns: %(unknown)s. The columns are: %(known)s.")
                % {
                    "unknown": ", ".join(unknown),
                    "known": ", ".join(f.column_name for f in self.get_import_fields()),
                }
            )
        repeated = sorted({h for h in headers if h and headers.count(h) > 1})
        if repeated:
            problems.append(_("Repeated columns: %s.") % ", ".join(repeated))
        return problems

    def preload(self, dataset) -> None:
        """Look up the related objects of every row at once (a fixed number of queries)."""
        for field in self.get_import_fields():
            if isinstance(field.widget, LookupWidget) and field.column_name in dataset.headers:
                field.widget.preload(dataset[field.column_name])

    # -- each row

    def before_import_row(self, row, row_number=None, **kwargs):
        """Check every cell of the row and its identity; raise all the row's errors at once."""
        if all(is_blank(v) for v in row.values()):
            raise ValidationError(
                {NON_FIELD_ERRORS: [_("The row is empty: delete it or fill it in.")]}
            )
        errors: dict[str, list[str]] = {}
        cleaned: dict[str, object] = {}
        for field in self.get_import_fields():
            if field.readonly or field.column_name not in row:
                continue
            try:
                cleaned[field.column_name] = field.clean(row)
            except ValueError as error:
                errors[field.column_name] = [str(error)]
        for column in self.required_columns:
            if column not in errors and is_blank(cleaned.get(column)):
                errors[column] = [_("This cell must be filled in.")]
        if not errors:
            self.check_row(cleaned, errors)
        if not errors:
            key = self.row_key(cleaned)
            if key in self.seen:
                errors[NON_FIELD_ERRORS] = [self.duplicate_message(self.seen[key])]
            else:
                self.seen[key] = row_number
        if errors:
            raise ValidationError(errors)
        self.cleaned_row = cleaned

    def check_row(self, cleaned: dict, errors: dict) -> None:
        """Further checks of one row (add messages to ``errors`` by column)."""

    def row_key(self, cleaned: dict):
        raise NotImplementedError

    def duplicate_message(self, first_row: int) -> str:
        raise NotImplementedError

    def find_instance(self, cleaned: dict):
        raise NotImplementedError

    def get_instance(self, instance_loader, row):
        return self.find_instance(self.cleaned_row)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        try:
            super().validate_instance(instance, import_validation_errors, validate_unique)
        except ValidationError as error:
            raise self.with_columns(error) from None

    def with_columns(self, error: ValidationError) -> ValidationError:
        """Move the message of a violated model constraint to the column it is about."""
        if not hasattr(error, "error_dict"):
            return error
        by_message = {
            str(c.get_violation_error_message()): self.constraint_columns[c.name]
            for c in self._meta.model._meta.constraints
            if c.name in self.constraint_columns
        }
        moved: dict[str, list] = {}
        for field, errs in error.error_dict.items():
            for err in errs:
                text = " ".join(err.messages)
                target = by_message.get(text, field) if field == NON_FIELD_ERRORS else field
                moved.setdefault(target, []).append(err)
        return ValidationError(moved)

    def do_instance_save(self, instance, is_create):
        # The same service as the admin and the API: validation, claim rules, aggregates.
        research_record_save(instance=instance, actor=self.actor, via="import")

    def check_access_level(self, cleaned: dict, errors: dict) -> None:
        """Honour the ``access_level`` column by the rule of the admin: only reviewers and admins
        decide who sees a record; for others a filled cell must match what the record has (or,
        for a new record, the team's entry default)."""
        from governance.entry import entry_defaults
        from governance.redaction import may_change_access

        level = cleaned.get("access_level")
        if level is None or may_change_access(self.actor):
            return
        existing = self.find_instance(cleaned)
        current = (
            existing.access_level
            if existing is not None
            else entry_defaults(self._meta.model)["access_level"]
        )
        if level != current:
            errors["access_level"] = [
                _(
                    "Only reviewers set access levels: leave the cell blank or write "
                    "%(current)s (a new record gets the team's entry default)."
                )
                % {"current": current}
            ]

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        if instance._state.adding:
            # A new record starts with the team's entry defaults, except a level the file gives.
            from governance.entry import apply_entry_defaults

            given = () if self.cleaned_row.get("access_level") is None else ("access_level",)
            apply_entry_defaults(instance, explicit=given)
            if not getattr(instance, "source_id", True):
                instance.state = "draft"  # a claim without a source can only be a draft
            if isinstance(instance, IndicatorValue):
                # A real value takes the row of a synthetic one of its period (kept in history).
                adopt_synthetic_twin(instance)


class IndicatorValueResource(AllOrNothingResource):
    """Indicator values: ``town, indicator, year, quarter, value`` and the claim's details.

    ``quarter`` is 0 or blank for the whole year. A blank ``confidence`` or ``is_synthetic``
    keeps the current value (for a new row: medium, not synthetic). ``source`` is a source's
    citation, the slug of its citation or its id. ``access_level`` (public, partner,
    restricted) is honoured by the admin's rule: reviewers set it, for others it must match
    (blank: a new row gets the team's entry default). ``state`` is exported for reading and
    ignored on import: publication goes through review. A real value for a period that has a
    synthetic one replaces it (kept in history).
    """

    town = fields.Field(attribute="town", column_name="town", widget=TownWidget())
    indicator = fields.Field(
        attribute="indicator", column_name="indicator", widget=IndicatorWidget()
    )
    year = fields.Field(
        attribute="year",
        column_name="year",
        widget=WholeNumberWidget(
            minimum=field_limits(IndicatorValue, "year")[0],
            maximum=field_limits(IndicatorValue, "year")[1],
            label=gettext_lazy("the year"),
        ),
    )
    quarter = fields.Field(attribute="quarter", column_name="quarter", widget=QuarterWidget())
    value = fields.Field(attribute="value", column_name="value", widget=NumberWidget())
    source = fields.Field(attribute="source", column_name="source", widget=SourceWidget())
    confidence = fields.Field(
        attribute="confidence",
        column_name="confidence",
        widget=ChoiceWidget(Confidence),
        saves_null_values=False,
    )
    is_synthetic = fields.Field(
        attribute="is_synthetic",
        column_name="is_synthetic",
        widget=StrictBooleanWidget(),
        saves_null_values=False,
    )
    note = fields.Field(attribute="note", column_name="note", widget=widgets.CharWidget())
    state = fields.Field(attribute="state", column_name="state", readonly=True)
    access_level = fields.Field(
        attribute="access_level",
        column_name="access_level",
        widget=AccessLevelWidget(),
        saves_null_values=False,
    )

    required_columns = ("town", "indicator", "year", "value")
    constraint_columns = {
        "indicator_value_quarter_0_4": "quarter",
        "indicator_value_year_range": "year",
    }

    class Meta(AllOrNothingResource.Meta):
        model = IndicatorValue
        name = gettext_lazy("Indicator values")
        fields = (
            "town",
            "indicator",
            "year",
            "quarter",
            "value",
            "source",
            "confidence",
            "is_synthetic",
            "note",
            "state",
            "access_level",
        )
        import_order = fields
        export_order = fields

    def get_queryset(self):
        return IndicatorValue.objects.select_related("town", "indicator", "source")

    def preload(self, dataset) -> None:
        super().preload(dataset)
        towns = {t.pk for t in self.fields["town"].widget.cache.values() if t}
        indicators = {i.pk for i in self.fields["indicator"].widget.cache.values() if i}
        self.existing = {
            (v.town_id, v.indicator_id, v.year, v.quarter): v
            for v in IndicatorValue.objects.filter(
                town__in=towns, indicator__in=indicators
            ).select_related("town", "indicator", "source")
        }

    def row_key(self, cleaned):
        return (
            cleaned["town"].pk,
            cleaned["indicator"].pk,
            cleaned["year"],
            cleaned.get("quarter", 0),
        )

    def duplicate_message(self, first_row):
        return _(
            "Row %(row)s already gives this town, indicator and period (columns town, "
            "indicator, year, quarter): one value per period."
        ) % {"row": first_row}

    def find_instance(self, cleaned):
        existing = self.existing.get(self.row_key(cleaned))
        if existing is not None and existing.is_synthetic and not cleaned.get("is_synthetic"):
            # A real value replaces the synthetic one of its period: a new record that takes
            # the synthetic one's row (towns.services.adopt_synthetic_twin), so defaults,
            # confidence and the synthetic flag start afresh; the old figure stays in history.
            return None
        return existing

    def check_row(self, cleaned, errors):
        self.check_access_level(cleaned, errors)


class TownFactsResource(AllOrNothingResource):
    """Facts researchers own about a town: names in Belarusian and Russian, kind, population.

    The town is named by ``slug`` or ``geonames_id`` (either may be blank, not both; when both
    are given they must name the same town). Neither is changed by an import, and no town is
    created: places come from GeoNames.
    """

    slug = fields.Field(attribute="slug", column_name="slug", readonly=True)
    geonames_id = fields.Field(
        attribute="geonames_id",
        column_name="geonames_id",
        readonly=True,
        widget=WholeNumberWidget(minimum=1, label=gettext_lazy("the GeoNames id")),
    )
    name_be = fields.Field(attribute="name_be", column_name="name_be", widget=widgets.CharWidget())
    name_ru = fields.Field(attribute="name_ru", column_name="name_ru", widget=widgets.CharWidget())
    # A town always has a kind: a blank cell leaves it as it is.
    kind = fields.Field(
        attribute="kind",
        column_name="kind",
        widget=ChoiceWidget(TownKind),
        saves_null_values=False,
    )
    population = fields.Field(
        attribute="population",
        column_name="population",
        widget=WholeNumberWidget(minimum=0, label=gettext_lazy("the population")),
    )
    population_year = fields.Field(
        attribute="population_year",
        column_name="population_year",
        widget=WholeNumberWidget(
            minimum=field_limits(Town, "population_year")[0],
            maximum=field_limits(Town, "population_year")[1],
            label=gettext_lazy("the population year"),
        ),
    )
    population_source = fields.Field(
        attribute="population_source", column_name="population_source", widget=widgets.CharWidget()
    )

    required_columns = ()
    constraint_columns = {"town_population_has_year": "population_year"}

    class Meta(AllOrNothingResource.Meta):
        model = Town
        name = gettext_lazy("Town facts")
        fields = (
            "slug",
            "geonames_id",
            "name_be",
            "name_ru",
            "kind",
            "population",
            "population_year",
            "population_source",
        )
        import_order = fields
        export_order = fields

    def header_problems(self, headers):
        problems = super().header_problems(headers)
        if "slug" not in (headers or []) and "geonames_id" not in (headers or []):
            problems.append(_("The file needs a slug or a geonames_id column to name the towns."))
        return problems

    def preload(self, dataset) -> None:
        slugs = set()
        ids = set()
        gid = self.fields["geonames_id"].widget
        for row in dataset.dict:
            if not is_blank(row.get("slug")):
                slugs.add(str(row["slug"]).strip())
            try:
                number = gid.clean(row.get("geonames_id"))
            except ValueError:
                number = None
            if number is not None:
                ids.add(number)
        towns = list(Town.objects.filter(models.Q(slug__in=slugs) | models.Q(geonames_id__in=ids)))
        self.by_slug = {t.slug: t for t in towns}
        self.by_geonames = {t.geonames_id: t for t in towns if t.geonames_id is not None}

    def check_row(self, cleaned, errors):
        # The identifying columns are read-only fields, so they are checked here.
        row = self.current_row
        slug = "" if is_blank(row.get("slug")) else str(row["slug"]).strip()
        try:
            geonames_id = self.fields["geonames_id"].widget.clean(row.get("geonames_id"))
        except ValueError as error:
            errors["geonames_id"] = [str(error)]
            return
        if not slug and geonames_id is None:
            errors["slug"] = [_("Give the town's slug or its GeoNames id.")]
            return
        by_slug = self.by_slug.get(slug) if slug else None
        by_id = self.by_geonames.get(geonames_id) if geonames_id is not None else None
        if slug and by_slug is None:
            errors["slug"] = [_("No town has the slug %(slug)r.") % {"slug": slug}]
        if geonames_id is not None and by_id is None:
            errors["geonames_id"] = [_("No town has the GeoNames id %(id)s.") % {"id": geonames_id}]
        if by_slug is not None and by_id is not None and by_slug != by_id:
            errors["geonames_id"] = [
                _("The GeoNames id %(id)s is the town %(other)r, not %(slug)r.")
                % {"id": geonames_id, "other": by_id.slug, "slug": slug}
            ]
        if not errors:
            cleaned["town"] = by_slug or by_id

    def before_import_row(self, row, row_number=None, **kwargs):
        self.current_row = row
        super().before_import_row(row, row_number=row_number, **kwargs)

    def row_key(self, cleaned):
        return cleaned["town"].pk

    def duplicate_message(self, first_row):
        return _("Row %(row)s already gives the facts of this town.") % {"row": first_row}

    def find_instance(self, cleaned):
        return cleaned["town"]
