"""Bulk upload of indicator values: all rows or none, with a report naming each bad row.

Each row is validated as the single-value write would be (field types, choices, year and
quarter ranges, the model's ``clean()``, "a published claim needs a source", publication by
reviewers only), every town, indicator and source is resolved with one query each, and
duplicates are found with one query against the database and a set within the upload. Only
when no row has an error are all rows inserted, in one transaction, inside the audit context
(the history triggers record every row with who and how). A few queries in all, whatever the
number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import serializers

from governance.api.exceptions import DATA_CODES
from governance.api.serializers import ResearchWriteSerializer
from governance.models import Source
from governance.services import audit_context, claim_check
from towns.models import Indicator, IndicatorValue, Town

MAX_ROWS = 5000
LOOKUPS = ("town", "indicator", "source")


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str
    #: About the stored data or a rule of the research (an unknown town, a duplicate), not
    #: about the form of the row: an upload refused only for such errors is a 422.
    against_data: bool = False


class BulkRejected(Exception):
    """The upload had errors; nothing was written."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


class BulkValueRowSerializer(ResearchWriteSerializer):
    """One row: ``town`` by slug, ``indicator`` by code, ``source`` by id (optional)."""

    town = serializers.SlugField(max_length=80)
    indicator = serializers.SlugField(max_length=64)
    source = serializers.IntegerField(required=False, allow_null=True)

    class Meta:
        model = IndicatorValue
        fields = [
            "town",
            "indicator",
            "year",
            "quarter",
            "value",
            "source",
            "note",
            "confidence",
            "access_level",
            "is_synthetic",
        ]
        # Uniqueness is checked for the whole upload at once (see indicator_values_bulk_create).
        validators: list = []

    def _resolve(self, key: str, value, label: str):
        found = self.context[key].get(value)
        if found is None:
            raise serializers.ValidationError(
                _("Unknown %(what)s %(value)r.") % {"what": label, "value": value},
                code="does_not_exist",
            )
        return found

    def validate_town(self, value):
        return self._resolve("towns", value, _("town"))

    def validate_indicator(self, value):
        return self._resolve("indicators", value, _("indicator"))

    def validate_source(self, value):
        return None if value is None else self._resolve("sources", value, _("source"))


def _messages(detail) -> list:
    """The messages of a serializer error (``ErrorDetail`` strings, with their ``code``)."""
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _messages(value)]
    if isinstance(detail, list):
        return [m for value in detail for m in _messages(value)]
    return [detail]


def _lookups(rows: list, user) -> dict:
    """Towns, indicators and visible sources named in ``rows``: one query each."""

    def wanted(key):
        # Only names (text) and ids (whole numbers) can name a record; anything else (an
        # object, a list: not even hashable) is refused row by row by the serializer. A NUL
        # cannot reach PostgreSQL (it would be an error, not "unknown"): no such name.
        return {
            value
            for row in rows
            if isinstance(row, dict)
            and isinstance(value := row.get(key), str | int)
            and value
            and not (isinstance(value, str) and "\x00" in value)
        }

    towns = dict(
        Town.objects.filter(slug__in=[s for s in wanted("town") if isinstance(s, str)])
        .values_list("slug", "pk")
        .order_by()
    )
    indicators = dict(
        Indicator.objects.filter(code__in=[c for c in wanted("indicator") if isinstance(c, str)])
        .values_list("code", "pk")
        .order_by()
    )
    source_ids = [s for s in wanted("source") if isinstance(s, int) and s > 0]
    sources = {
        pk: pk
        for pk in Source.objects.visible_to(user)
        .filter(pk__in=source_ids)
        .values_list("pk", flat=True)
        .order_by()
    }
    return {"towns": towns, "indicators": indicators, "sources": sources}


def indicator_values_bulk_create(*, rows, actor, request=None) -> int:
    """Create every indicator value of ``rows`` (a list of dicts), or none.

    Raises :class:`BulkRejected` with one :class:`RowError` per problem (row index from 0,
    field name or ``non_field_errors``, message) and writes nothing when any row is invalid.
    Returns the number of values created.
    """
    if not isinstance(rows, list):
        raise BulkRejected([RowError(-1, "non_field_errors", _("Send a JSON list of rows."))])
    if not rows:
        raise BulkRejected([RowError(-1, "non_field_errors", _("The list of rows is empty."))])
    if len(rows) > MAX_ROWS:
        raise BulkRejected(
            [
                RowError(
                    -1,
                    "non_field_errors",
                    _("At most %(max)d rows per upload; this one has %(n)d.")
                    % {"max": MAX_ROWS, "n": len(rows)},
                )
            ]
        )
    context = {"request": request, **_lookups(rows, actor)}
    errors: list[RowError] = []
    instances: list[IndicatorValue] = []
    seen: dict[tuple, int] = {}
    for index, row in enumerate(rows):
        serializer = BulkValueRowSerializer(data=row, context=context)
        if not serializer.is_valid():
            errors.extend(
                RowError(index, field, str(message), getattr(message, "code", "") in DATA_CODES)
                for field, detail in serializer.errors.items()
                for message in _messages(detail)
            )
            continue
        data = dict(serializer.validated_data)
        instance = IndicatorValue(
            town_id=data.pop("town"),
            indicator_id=data.pop("indicator"),
            source_id=data.pop("source", None),
            **data,
        )
        try:
            instance.clean_fields(exclude=list(LOOKUPS))
            instance.clean()
            claim_check(instance)
        except ValidationError as error:
            by_field = (
                error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
            )
            for field, messages in by_field.items():
                name = "non_field_errors" if field == "__all__" else field
                errors.extend(RowError(index, name, m, True) for m in messages)
            continue
        key = (instance.town_id, instance.indicator_id, instance.year, instance.quarter)
        if key in seen:
            errors.append(
                RowError(
                    index,
                    "non_field_errors",
                    _("Same town, indicator and period as row %(row)d.") % {"row": seen[key]},
                    True,
                )
            )
            continue
        seen[key] = index
        instances.append(instance)

    if instances:
        existing = set(
            IndicatorValue.objects.filter(
                town_id__in={i.town_id for i in instances},
                indicator_id__in={i.indicator_id for i in instances},
                year__in={i.year for i in instances},
            )
            .values_list("town_id", "indicator_id", "year", "quarter")
            .order_by()
        )
        for key, index in seen.items():
            if key in existing:
                errors.append(
                    RowError(
                        index,
                        "non_field_errors",
                        _("This town already has a value of this indicator for this period."),
                        True,
                    )
                )
    if errors:
        raise BulkRejected(sorted(errors, key=lambda e: (e.row, e.field)))
    with transaction.atomic(), audit_context(actor=actor, via="api"):
        IndicatorValue.objects.bulk_create(instances, batch_size=1000)
    return len(instances)
