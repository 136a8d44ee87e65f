"""Import and export of indicator values and towns' facts: a dry run first, all rows or none.

Driven through the admin (upload → dry run → confirm) as a researcher does it, and through the
resources directly where that is simpler. "Nothing changed" is checked on the rows and on the
history (pghistory event) tables.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
import tablib
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from governance.models import Source
from towns.imports import IndicatorValueResource, TownFactsResource
from towns.models import Indicator, IndicatorValue, Town

pytestmark = pytest.mark.django_db

ValueEvent = IndicatorValue.pgh_event_model
TownEvent = Town.pgh_event_model
CSV, XLSX = 0, 1  # the admin's format choices, in AllOrNothingImportMixin.formats
HEADER = ["town", "indicator", "year", "quarter", "value"]


@pytest.fixture
def indicators():
    def make(code, system):
        return Indicator.objects.create(
            system=system,
            code=code,
            name_en=f"H2 {code}",
            unit="per 1,000 residents",
            direction="higher_worse",
            description="A test indicator.",
        )

    return make("h2-unemployment", 1), make("h2-offences", 2)


@pytest.fixture
def glubokoe():
    return Town.objects.get(slug="hlybokaye")


@pytest.fixture
def turau():
    return Town.objects.get(slug="turau")


@pytest.fixture
def existing(indicators, glubokoe):
    """A value the good file changes."""
    return IndicatorValue.objects.create(
        town=glubokoe, indicator=indicators[0], year=2020, value="3.1"
    )


def snapshot():
    """What an import may change: rows and history rows of both imported models, admin log."""
    return {
        "values": IndicatorValue.objects.count(),
        "value_events": ValueEvent.objects.count(),
        "towns": list(
            Town.objects.order_by("pk").values_list(
                "pk", "name_be", "name_ru", "kind", "population", "population_year"
            )
        ),
        "town_events": TownEvent.objects.count(),
        "log": LogEntry.objects.count(),
    }


def csv_file(rows, header=HEADER, name="values.csv") -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode(), content_type="text/csv")


def xlsx_file(rows, header=HEADER, name="values.xlsx") -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile(name, out.getvalue())


def upload(client, model: str, file, fmt=CSV):
    """The first step: upload, which runs the dry run."""
    return client.post(
        reverse(f"admin:towns_{model}_import"), {"import_file": file, "format": fmt, "resource": 0}
    )


def confirm(client, model: str, response):
    form = response.context["confirm_form"]
    return client.post(reverse(f"admin:towns_{model}_process_import"), form.initial)


def good_rows(glubokoe, turau):
    return [
        ["hlybokaye", "h2-unemployment", "2020", "0", "3.4"],  # changes the existing 3.1
        ["hlybokaye", "h2-unemployment", "2021", "", "3.9"],  # blank quarter: the whole year
        [str(turau.geonames_id), "h2-offences", "2022", "2", "12.25"],  # town by GeoNames id
    ]


@pytest.mark.parametrize("model", ["indicatorvalue", "town"])
def test_import_and_export_need_the_model_permissions(client, django_user_model, model):
    clerk = django_user_model.objects.create_user("clerk", password="a-long-test-password-2")
    clerk.is_staff = True
    clerk.save()
    clerk.user_permissions.add(Permission.objects.get(codename=f"view_{model}"))
    client.force_login(clerk)
    assert client.get(reverse(f"admin:towns_{model}_import")).status_code == 403
    assert client.get(reverse(f"admin:towns_{model}_export")).status_code == 200
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=[f"add_{model}", f"change_{model}"])
    )
    clerk = django_user_model.objects.get(pk=clerk.pk)  # fresh permission cache
    client.force_login(clerk)
    assert client.get(reverse(f"admin:towns_{model}_import")).status_code == 200


# --- Dry run and a good file -----------------------------------------------------------------


@pytest.mark.parametrize(("model", "column"), [("indicatorvalue", "quarter"), ("town", "slug")])
def test_import_page_explains_the_columns(admin_client_logged, model, column):
    response = admin_client_logged.get(reverse(f"admin:towns_{model}_import"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Columns:" in body
    assert "If any row is invalid the whole file is rejected" in body
    assert column in body
    formats = dict(response.context["form"].fields["format"].choices)
    assert (formats[str(CSV)], formats[str(XLSX)]) == ("csv", "xlsx")


def test_dry_run_reports_each_row_and_writes_nothing(
    admin_client_logged, existing, glubokoe, turau
):
    before = snapshot()
    response = upload(admin_client_logged, "indicatorvalue", csv_file(good_rows(glubokoe, turau)))
    assert response.status_code == 200
    result = response.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    assert [row.import_type for row in result.rows] == ["update", "new", "new"]
    assert "confirm_form" in response.context
    body = response.content.decode()
    assert "Confirm import" in body
    assert "Update" in body and "New" in body
    assert snapshot() == before
    existing.refresh_from_db()
    assert existing.value == Decimal("3.1")


def test_good_csv_file_is_applied_with_the_audit_context(
    admin_client_logged, existing, glubokoe, turau, researcher_user, indicators
):
    dry = upload(admin_client_logged, "indicatorvalue", csv_file(good_rows(glubokoe, turau)))
    response = confirm(admin_client_logged, "indicatorvalue", dry)
    assert response.status_code == 302
    existing.refresh_from_db()
    assert existing.value == Decimal("3.4")
    assert (
        IndicatorValue.objects.get(town=glubokoe, indicator=indicators[0], year=2021).quarter == 0
    )
    new = IndicatorValue.objects.get(town=turau, indicator=indicators[1], year=2022, quarter=2)
    assert new.value == Decimal("12.25")
    assert new.state == "draft"  # publication goes through review
    events = ValueEvent.objects.filter(pgh_obj_id__in=[existing.pk, new.pk]).exclude(
        pgh_label="insert", pgh_obj_id=existing.pk
    )
    assert events.count() == 2
    for event in events:
        assert event.pgh_context.metadata["via"] == "import"
        assert event.pgh_context.metadata["user"] == researcher_user.pk


def test_good_xlsx_file_is_applied(admin_client_logged, indicators, glubokoe, turau):
    rows = [
        ["hlybokaye", "h2-offences", 2019, 0, 7.5],
        ["hlybokaye", "h2-offences", 2019.0, 3, 8],
        [turau.geonames_id, "h2-unemployment", 2018, None, "2.75"],
    ]
    dry = upload(admin_client_logged, "indicatorvalue", xlsx_file(rows), fmt=XLSX)
    assert [r.import_type for r in dry.context["result"].rows] == ["new", "new", "new"]
    response = confirm(admin_client_logged, "indicatorvalue", dry)
    assert response.status_code == 302
    values = IndicatorValue.objects.filter(indicator__in=indicators).order_by("year", "quarter")
    assert [(v.town.slug, v.year, v.quarter, v.value) for v in values] == [
        ("turau", 2018, 0, Decimal("2.75")),
        ("hlybokaye", 2019, 0, Decimal("7.5")),
        ("hlybokaye", 2019, 3, Decimal("8")),
    ]


def test_unchanged_rows_are_reported_as_skipped_and_not_written(
    admin_client_logged, existing, glubokoe
):
    before = snapshot()
    file = csv_file([["hlybokaye", "h2-unemployment", "2020", "0", "3.1000"]])
    dry = upload(admin_client_logged, "indicatorvalue", file)
    assert [r.import_type for r in dry.context["result"].rows] == ["skip"]
    confirm(admin_client_logged, "indicatorvalue", dry)
    after = snapshot()
    assert after["values"] == before["values"]
    assert after["value_events"] == before["value_events"]


# --- Bad files are rejected whole ------------------------------------------------------------

BAD_ROWS = {
    "unknown town": (["nowhere-town", "h2-offences", "2020", "0", "1"], "town", "nowhere-town"),
    "unknown indicator": (["hlybokaye", "h2-nothing", "2020", "0", "1"], "indicator", "h2-nothing"),
    "bad year": (["hlybokaye", "h2-offences", "20x9", "0", "1"], "year", "not a whole number"),
    "year out of range": (["hlybokaye", "h2-offences", "1850", "0", "1"], "year", "1990"),
    "quarter 7": (["hlybokaye", "h2-offences", "2020", "7", "1"], "quarter", "not 7"),
    "non-numeric value": (["hlybokaye", "h2-offences", "2020", "0", "a lot"], "value", "number"),
    "decimal comma": (["hlybokaye", "h2-offences", "2020", "0", "1,5"], "value", "point"),
    "missing value": (["hlybokaye", "h2-offences", "2020", "0", ""], "value", "filled in"),
    "too many digits": (
        ["hlybokaye", "h2-offences", "2020", "0", "12345678901234.5"],
        "value",
        "digits",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_bad_row_rejects_the_whole_file(admin_client_logged, existing, glubokoe, turau, case):
    bad, column, message = BAD_ROWS[case]
    rows = [*good_rows(glubokoe, turau), bad]  # the bad row is row 4
    before = snapshot()
    response = upload(admin_client_logged, "indicatorvalue", csv_file(rows))
    result = response.context["result"]
    assert "confirm_form" not in response.context
    [invalid] = result.invalid_rows
    assert invalid.number == 4
    assert column in invalid.field_specific_errors
    assert message in " ".join(invalid.field_specific_errors[column])
    body = response.content.decode()
    assert "The file was rejected: nothing was changed" in body
    assert f'<strong class="validation-error-field-label">{column}</strong>' in body
    assert snapshot() == before


def test_a_duplicate_row_rejects_the_whole_file_naming_both_rows(
    admin_client_logged, existing, glubokoe, turau
):
    rows = [*good_rows(glubokoe, turau), ["hlybokaye", "h2-unemployment", "2021.0", "0", "4"]]
    before = snapshot()
    response = upload(admin_client_logged, "indicatorvalue", csv_file(rows))
    [invalid] = response.context["result"].invalid_rows
    assert invalid.number == 4
    [message] = invalid.non_field_specific_errors
    assert "Row 2 already gives this town, indicator and period" in message
    assert "town, indicator, year, quarter" in message
    assert snapshot() == before


def test_every_bad_row_and_column_is_reported_at_once(admin_client_logged, indicators):
    rows = [
        ["nowhere", "h2-nothing", "1850", "9", "x"],
        ["hlybokaye", "h2-offences", "2020", "0", "1"],
        ["", "", "", "", ""],
    ]
    response = upload(admin_client_logged, "indicatorvalue", csv_file([*rows, ["turau"]]))
    invalid = {row.number: row for row in response.context["result"].invalid_rows}
    assert set(invalid) == {1, 3, 4}
    assert set(invalid[1].field_specific_errors) == {
        "town",
        "indicator",
        "year",
        "quarter",
        "value",
    }
    assert "empty" in invalid[3].non_field_specific_errors[0]
    assert set(invalid[4].field_specific_errors) == {"indicator", "year", "value"}


def test_a_bad_xlsx_file_is_rejected_whole(admin_client_logged, indicators):
    rows = [["hlybokaye", "h2-offences", 2020, 0, 1.5], ["hlybokaye", "h2-offences", 2020.5, 0, 2]]
    before = snapshot()
    response = upload(admin_client_logged, "indicatorvalue", xlsx_file(rows), fmt=XLSX)
    [invalid] = response.context["result"].invalid_rows
    assert invalid.number == 2
    assert "year" in invalid.field_specific_errors
    assert snapshot() == before


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["town", "indicator", "year", "vaule"], "The file lacks the columns: value"),
        (["town", "indicator", "year", "value", "comment"], "Unknown columns: comment"),
        (["town", "indicator", "year", "value", "value"], "Repeated columns: value"),
    ],
)
def test_bad_columns_reject_the_file(admin_client_logged, indicators, header, message):
    before = snapshot()
    rows = [["hlybokaye", "h2-offences", "2020", "1", "1"][: len(header)]]
    response = upload(admin_client_logged, "indicatorvalue", csv_file(rows, header=header))
    result = response.context["result"]
    assert result.has_errors()
    assert "confirm_form" not in response.context
    assert message in str(result.base_errors[0].error)
    assert message in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert snapshot() == before


def test_a_file_broken_between_dry_run_and_confirm_changes_nothing(
    admin_client_logged, existing, glubokoe, turau, indicators
):
    dry = upload(admin_client_logged, "indicatorvalue", csv_file(good_rows(glubokoe, turau)))
    assert "confirm_form" in dry.context
    # Someone deletes the indicator of row 3 before the researcher confirms.
    indicators[1].delete()
    before = snapshot()
    response = confirm(admin_client_logged, "indicatorvalue", dry)
    assert response.status_code == 200
    [invalid] = response.context["result"].invalid_rows
    assert invalid.number == 3
    assert "indicator" in invalid.field_specific_errors
    assert "nothing was imported" in response.content.decode()
    assert snapshot() == before
    existing.refresh_from_db()
    assert existing.value == Decimal("3.1")


def test_a_claim_rule_broken_by_a_row_rejects_the_file(existing, glubokoe, researcher_user):
    """A published value loses its source: the service refuses, the whole import rolls back."""
    source = Source.objects.create(kind=Source.Kind.STATISTICS, citation="Belstat yearbook")
    IndicatorValue.objects.filter(pk=existing.pk).update(state="published", source=source)
    dataset = tablib.Dataset(
        ["hlybokaye", "h2-unemployment", "2020", "0", "3.2", ""],
        ["hlybokaye", "h2-unemployment", "2023", "0", "3.3", str(source.pk)],
        headers=[*HEADER, "source"],
    )
    before = snapshot()
    result = IndicatorValueResource().import_data(dataset, dry_run=False, user=researcher_user)
    [invalid] = result.invalid_rows
    assert invalid.number == 1
    assert "without a source can only be a draft" in " ".join(invalid.error_dict["state"])
    assert snapshot() == before


# --- Export ----------------------------------------------------------------------------------


def test_export_csv_has_the_import_columns_and_rows(admin_client_logged, existing, indicators):
    IndicatorValue.objects.create(
        town=Town.objects.get(slug="turau"),
        indicator=indicators[1],
        year=2021,
        quarter=4,
        value="1234.5",
        is_synthetic=True,
    )
    response = admin_client_logged.post(
        reverse("admin:towns_indicatorvalue_export") + "?indicator__system__exact=2",
        {"format": CSV, "resource": 0},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
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
    ]
    mine = [r for r in rows[1:] if r[1] == "h2-offences"]
    assert mine == [
        [
            "turau",
            "h2-offences",
            "2021",
            "4",
            "1234.5",
            "",
            "medium",
            "1",
            "",
            "draft",
            "restricted",
        ]
    ]
    # The list's filter applies: system 1 values are not exported.
    assert not any(r[1] == "h2-unemployment" for r in rows[1:])


def test_export_xlsx_contains_the_rows(admin_client_logged, existing):
    response = admin_client_logged.post(
        reverse("admin:towns_indicatorvalue_export")
        + f"?indicator__id__exact={existing.indicator_id}",
        {"format": XLSX, "resource": 0},
    )
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[0][:5] == ("town", "indicator", "year", "quarter", "value")
    assert [r[:5] for r in rows[1:]] == [("hlybokaye", "h2-unemployment", 2020, 0, 3.1)]


def test_an_exported_file_imports_again_unchanged(existing, indicators, researcher_user):
    exported = IndicatorValueResource().export(
        IndicatorValue.objects.filter(indicator__in=indicators)
    )
    before = snapshot()
    result = IndicatorValueResource().import_data(
        tablib.Dataset().load(exported.csv, format="csv"), dry_run=False, user=researcher_user
    )
    assert not result.has_errors() and not result.has_validation_errors()
    assert [r.import_type for r in result.rows] == ["skip"]
    assert snapshot() == before


# --- Towns' facts ----------------------------------------------------------------------------

TOWN_HEADER = [
    "slug",
    "geonames_id",
    "name_be",
    "name_ru",
    "kind",
    "population",
    "population_year",
    "population_source",
]


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_town_facts_dry_run_then_applied(admin_client_logged, glubokoe, turau, researcher_user):
    rows = [
        ["hlybokaye", "", "Глыбокае", "Глубокое", "district_centre", "18000", "2024", "Belstat"],
        ["", str(turau.geonames_id), "Тураў", "Туров", "urban_settlement", "2500", "2024", ""],
    ]
    before = snapshot()
    dry = upload(admin_client_logged, "town", csv_file(rows, header=TOWN_HEADER, name="t.csv"))
    assert [r.import_type for r in dry.context["result"].rows] == ["update", "update"]
    assert snapshot() == before
    response = confirm(admin_client_logged, "town", dry)
    assert response.status_code == 302
    glubokoe.refresh_from_db()
    turau.refresh_from_db()
    assert (glubokoe.population, glubokoe.population_year, glubokoe.population_source) == (
        18000,
        2024,
        "Belstat",
    )
    assert (turau.kind, turau.population, turau.name_ru) == ("urban_settlement", 2500, "Туров")
    assert Town.objects.search("Глубокое").get() == glubokoe
    event = TownEvent.objects.filter(pgh_obj_id=glubokoe.pk).latest("pgh_id")
    assert event.pgh_context.metadata["via"] == "import"


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (["nowhere", "", "", "", "agrotown", "", "", ""], "slug", "No town has the slug"),
        (["", "1", "", "", "agrotown", "", "", ""], "geonames_id", "No town has the GeoNames"),
        (["", "", "", "", "agrotown", "", "", ""], "slug", "slug or its GeoNames id"),
        (["hlybokaye", "TURAU", "", "", "", "", "", ""], "geonames_id", "whole number"),
        (["hlybokaye", "", "", "", "village", "", "", ""], "kind", "not one of"),
        (["hlybokaye", "", "", "", "", "-5", "2020", ""], "population", "out of range"),
        (["hlybokaye", "", "", "", "", "9000", "", ""], "population_year", "needs the year"),
        (["hlybokaye", "", "", "", "", "9000", "1700", ""], "population_year", "out of range"),
    ],
)
def test_bad_town_facts_reject_the_file(admin_client_logged, turau, row, column, message):
    good = ["", str(turau.geonames_id), "", "Туров", "urban_settlement", "2500", "2024", ""]
    before = snapshot()
    response = upload(
        admin_client_logged, "town", csv_file([good, row], header=TOWN_HEADER, name="t.csv")
    )
    assert "confirm_form" not in response.context
    [invalid] = response.context["result"].invalid_rows
    assert invalid.number == 2
    assert message in " ".join(invalid.error_dict[column])
    assert snapshot() == before


def test_town_named_twice_or_by_two_disagreeing_ids_is_rejected(turau, researcher_user):
    dataset = tablib.Dataset(
        ["turau", str(turau.geonames_id), "agrotown"],
        ["", str(turau.geonames_id), "agrotown"],
        ["hlybokaye", str(turau.geonames_id), "agrotown"],
        headers=["slug", "geonames_id", "kind"],
    )
    before = snapshot()
    result = TownFactsResource().import_data(dataset, dry_run=False, user=researcher_user)
    invalid = {row.number: row for row in result.invalid_rows}
    assert "Row 1 already gives the facts of this town" in invalid[2].non_field_specific_errors[0]
    assert "is the town 'turau', not 'hlybokaye'" in invalid[3].error_dict["geonames_id"][0]
    assert snapshot() == before


def test_town_facts_export_round_trips(admin_client_logged, glubokoe):
    response = admin_client_logged.post(
        reverse("admin:towns_town_export") + "?q=Глубокое", {"format": CSV, "resource": 0}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == TOWN_HEADER
    assert len(rows) == 2
    assert rows[1][0] == "hlybokaye"
    assert rows[1][1] == str(glubokoe.geonames_id)
    before = snapshot()
    dry = upload(admin_client_logged, "town", csv_file(rows[1:], header=rows[0], name="export.csv"))
    assert [r.import_type for r in dry.context["result"].rows] == ["skip"]
    assert snapshot() == before
