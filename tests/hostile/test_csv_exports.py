"""Formula injection: no CSV the atlas produces starts a cell with =, +, -, @, tab or CR.

tests/api/test_exports.py already checks the API's ``?format=csv`` (one list) and the
``neutralise`` function. Here the text that a spreadsheet would run as a formula is put into
the names that every other CSV shows (towns in every language, influence groups, posts,
CSOs), and every CSV is read back: the API's lists, each chart download of a town page, the
compare downloads, the data package, and the admin's export.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from django.test import Client

from csos.models import CSO
from governance.access import AccessLevel, PublicationState
from governance.api.renderers import FORMULA_PREFIXES
from towns.models import InfluenceGroup, Post, Town

pytestmark = pytest.mark.django_db

PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
PAYLOADS = ['=HYPERLINK("http://x.example","y")', "+cmd|' /C calc'!A0", "-2+3+cmd", "@SUM(1)"]


def dangerous_cells(text: str) -> list[str]:
    """Cells a spreadsheet would run as a formula (a file that is not valid CSV is one too:
    a CR in an unquoted cell ends the row there, and the rest starts a new cell)."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        return [f"<not valid CSV: {error}>"]
    return [
        cell
        for row in rows
        for cell in row
        if cell.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.match(cell)
    ]


@pytest.fixture
def poisoned():
    """Formula text in the names of two public towns, their groups and posts, and a CSO."""
    towns = list(Town.objects.filter(slug__in=["pastavy", "hlybokaye"]).order_by("slug"))
    assert len(towns) == 2
    for town, payload in zip(towns, PAYLOADS, strict=False):
        Town.objects.filter(pk=town.pk).update(
            name_en=payload, name_be="\t" + payload, name_ru="\r" + payload
        )
    # Names are unique: one payload per record, numbered.
    for model, related, payload in (
        (InfluenceGroup, "influences__town__in", PAYLOADS[2]),
        (Post, "appointments__town__in", PAYLOADS[3]),
    ):
        pks = model.objects.filter(**{related: towns}).values_list("pk", flat=True).distinct()
        for n, pk in enumerate(pks):
            model.objects.filter(pk=pk).update(name_en=f"{payload} {n}")
    cso = (
        CSO.objects.filter(
            access_level=AccessLevel.PUBLIC, state=PublicationState.PUBLISHED, deleted_at=None
        )
        .order_by("pk")
        .first()
    )
    CSO.objects.filter(pk=cso.pk).update(name_en=PAYLOADS[0])
    return [t.slug for t in towns]


def holds_payload(text: str) -> bool:
    """A payload is in one of the parsed cells (quotes inside a cell are doubled in the file)."""
    cells = [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
    return any(p in cell for cell in cells for p in PAYLOADS)


def csv_links(html: str) -> list[str]:
    return sorted(set(re.findall(r'href="([^"]+\.csv[^"]*)"', html)))


def test_api_csv_lists_neutralise_names(poisoned):
    client = Client()
    for path in ("towns/?region=vitebsk", "csos/", "influence-groups/", "posts/"):
        sep = "&" if "?" in path else "?"
        response = client.get(f"/api/v1/{path}{sep}format=csv&page_size=500")
        assert response.status_code == 200, path
        assert dangerous_cells(response.content.decode()) == [], path


def test_town_chart_downloads_neutralise_names(poisoned):
    client = Client()
    checked = 0
    for slug in poisoned:
        page = client.get(f"/towns/{slug}/")
        assert page.status_code == 200
        links = [link.replace("&amp;", "&") for link in csv_links(page.content.decode())]
        assert links, "the town page offers no CSV download"
        for link in links:
            response = client.get(link)
            assert response.status_code == 200, link
            text = response.content.decode("utf-8")
            assert dangerous_cells(text) == [], (link, dangerous_cells(text))
            checked += 1
    assert checked >= 4


def test_compare_downloads_neutralise_town_names(poisoned):
    client = Client()
    page = client.get("/compare/", {"towns": ",".join(poisoned)})
    assert page.status_code == 200
    links = [link.replace("&amp;", "&") for link in csv_links(page.content.decode())]
    assert links, "the compare page offers no CSV download"
    named = []
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link
        text = response.content.decode("utf-8")
        if holds_payload(text):
            named.append(link)
        assert dangerous_cells(text) == [], (link, dangerous_cells(text))
    # Some charts (the balance) hold no names; the per-town ones must carry them, neutralised.
    assert named, "no compare download holds the (poisoned) town names"


def test_data_package_csvs_neutralise_names(poisoned):
    response = Client().get("/api/v1/export/datapackage.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    found = {}
    for name in archive.namelist():
        if name.endswith(".csv"):
            text = archive.read(name).decode("utf-8")
            found[name] = dangerous_cells(text)
    assert found, "the data package has no CSV"
    assert {name: cells for name, cells in found.items() if cells} == {}


def test_admin_csv_export_neutralises_names(poisoned, admin_client_logged):
    for url in ("/admin/towns/town/export/", "/admin/csos/cso/export/"):
        response = admin_client_logged.post(url, {"format": "0", "resource": "0"})
        if response.status_code == 200 and "csv" not in response.get("Content-Type", ""):
            # django-import-export 4 asks for the fields first: take every field offered.
            form = {"format": "0", "resource": "0"}
            for match in re.finditer(
                r'<input[^>]+type="checkbox"[^>]+name="([^"]+)"', response.content.decode()
            ):
                form[match.group(1)] = "on"
            response = admin_client_logged.post(url, form)
        assert response.status_code == 200, url
        assert "csv" in response["Content-Type"], (url, response["Content-Type"])
        text = response.content.decode("utf-8-sig")
        assert holds_payload(text), url
        assert dangerous_cells(text) == [], (url, dangerous_cells(text))


def test_admin_xlsx_export_has_no_formula_and_keeps_the_text(poisoned, admin_client_logged):
    from openpyxl import load_workbook

    # The export's name column (Belarusian) starts with "=": openpyxl would store a formula.
    Town.objects.filter(slug=poisoned[0]).update(name_be=PAYLOADS[0])
    url = "/admin/towns/town/export/"
    form = {"format": "1", "resource": "0"}  # formats: CSV, XLSX
    response = admin_client_logged.post(url, form)
    if "spreadsheet" not in response.get("Content-Type", ""):
        # django-import-export 4 asks for the fields first: take every field offered.
        for match in re.finditer(
            r'<input[^>]+type="checkbox"[^>]+name="([^"]+)"', response.content.decode()
        ):
            form[match.group(1)] = "on"
        response = admin_client_logged.post(url, form)
    assert response.status_code == 200
    assert "spreadsheet" in response["Content-Type"], response["Content-Type"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    # The payload is kept exactly, as text.
    assert PAYLOADS[0] in {c.value for c in cells}
