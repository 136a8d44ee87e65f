"""Importers fed any byte string (Hypothesis): a clean error report or a valid result.

Through the service (csos/imports.py ``run_import``, CSV and XLSX) and through every admin
import view (towns: town facts, indicator values; csos: CSOs, links), with arbitrary bytes,
with CSV text that has the right header and random cells, and with real XLSX workbooks of
random cells. Never an exception escaping, never a 500, and when the import is refused the
row counts (history tables included) are what they were.
"""

from __future__ import annotations

import csv
import io

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csos.imports import CSOLinkResource, CSOResource, ImportFileError, run_import
from csos.models import CSO, CSOLink
from towns.models import IndicatorValue, Town

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HEADERS = {
    "indicatorvalue": ["town", "indicator", "year", "quarter", "value", "confidence"],
    "town": ["slug", "geonames_id", "name_be", "name_ru", "kind", "population"],
    "cso": ["slug", "name_en", "status", "founding_year", "towns", "fields_of_activity"],
    "csolink": ["source", "target", "kind", "start_date", "end_date", "note"],
}
ADMIN = {
    "indicatorvalue": "/admin/towns/indicatorvalue/import/",
    "town": "/admin/towns/town/import/",
    "cso": "/admin/csos/cso/import/",
    "csolink": "/admin/csos/csolink/import/",
}
# Cell values: plausible ones, hostile ones, and anything at all.
cells = st.one_of(
    st.sampled_from(
        [
            "",
            "olshany",
            "population",
            "2020",
            "0",
            "4",
            "-1",
            "1e400",
            "NaN",
            "=1+1",
            "2020.0",
            "medium",
            "active",
            "9" * 40,
            "\x00",
            "olshany;nowhere",
        ]
    ),
    st.text(max_size=20),
    st.integers(-(10**20), 10**20).map(str),
)


def counts() -> dict[str, int]:
    return {
        "values": IndicatorValue.objects.count(),
        "value_events": IndicatorValue.pgh_event_model.objects.count(),
        "towns": Town.objects.count(),
        "town_events": Town.pgh_event_model.objects.count(),
        "csos": CSO.objects.count(),
        "cso_events": CSO.pgh_event_model.objects.count(),
        "links": CSOLink.objects.count(),
    }


@st.composite
def csv_files(draw, headers):
    header = draw(st.lists(st.sampled_from([*headers, "unknown", ""]), min_size=1, max_size=7))
    if draw(st.booleans()):
        header = list(headers)
    rows = draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)), max_size=5))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", errors="surrogatepass")


@st.composite
def xlsx_files(draw, headers):
    rows = draw(st.lists(st.lists(cells, min_size=len(headers), max_size=len(headers)), max_size=5))
    dataset = tablib.Dataset(headers=list(headers))
    for row in rows:
        # openpyxl refuses control characters in cells: such a workbook cannot exist.
        dataset.append(["".join(ch for ch in c if ch >= " " or ch == "\t") for c in row])
    return dataset.export("xlsx")


def files(kind: str):
    return st.one_of(st.binary(max_size=2000), csv_files(HEADERS[kind]), xlsx_files(HEADERS[kind]))


@FUZZ
@given(data=files("cso"), file_format=st.sampled_from(["csv", "xlsx"]))
def test_cso_import_service_any_bytes(data, file_format):
    _service(CSOResource, data, file_format)


@FUZZ
@given(data=files("csolink"), file_format=st.sampled_from(["csv", "xlsx"]))
def test_cso_link_import_service_any_bytes(data, file_format):
    _service(CSOLinkResource, data, file_format)


def _service(resource, data, file_format):
    before = counts()
    try:
        outcome = run_import(resource, data, file_format=file_format)
    except ImportFileError as error:
        # The documented "the file as a whole cannot be imported" error, with a message.
        assert str(error)
        assert counts() == before
        return
    if not outcome.ok:
        assert all(isinstance(e, str) and e for e in outcome.errors)
        assert counts() == before


@pytest.mark.parametrize("kind", sorted(ADMIN))
def test_admin_import_view_any_bytes(admin_client_logged, kind):
    @FUZZ
    @given(data=files(kind), xlsx=st.booleans())
    def upload(data, xlsx):
        before = counts()
        name = "upload.xlsx" if xlsx else "upload.csv"
        response = admin_client_logged.post(
            ADMIN[kind],
            {
                "format": "1" if xlsx else "0",
                "resource": "0",
                "import_file": SimpleUploadedFile(name, data),
            },
        )
        # The dry-run page (with a report or a confirm button); never a server error.
        assert response.status_code == 200, response.status_code
        assert counts() == before

    upload()
