"""Hostile input to the API and the admin import: each kind of abuse has its own test.

Already covered elsewhere (not repeated here): 415 for non-JSON bodies on every list route
(tests/api/test_tokens.py), numbers and dates out of range in filters (tests/api/test_filters.py,
tests/api/test_resources.py), a page size of 100,000 capped (tests/api/test_towns_api.py),
formula cells in the API's CSV (tests/api/test_exports.py), schemathesis over every endpoint
(tests/api/test_schemathesis.py).

Limits (Django defaults, governance/settings.py sets none): DATA_UPLOAD_MAX_MEMORY_SIZE =
2.5 MB for a request body that is read whole (forms, request.body) and
FILE_UPLOAD_MAX_MEMORY_SIZE = 2.5 MB, which is only where an uploaded file moves from memory
to a temporary file (it does not limit the file's size). API_MAX_PAGE_SIZE = 500 and the bulk
upload's MAX_ROWS = 5,000.
"""

from __future__ import annotations

import json
import os
import tempfile

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from towns.api.bulk import MAX_ROWS
from towns.models import IndicatorValue

pytestmark = pytest.mark.django_db

API = "/api/v1/"
BULK = f"{API}indicator-values/bulk/"


def research_client(personas) -> Client:
    return personas["researcher"].api_client()


def quiet(client: Client) -> Client:
    """A 500 comes back as a response instead of re-raising in the test."""
    client.raise_request_exception = False
    return client


def is_clean_client_error(response, *allowed: int) -> bool:
    body = response.content.decode("utf-8", errors="replace")
    return response.status_code in allowed and "Traceback" not in body


# --- oversized bodies and uploads --------------------------------------------------------------


def test_api_body_above_the_upload_limit_is_refused_cleanly(personas):
    """A JSON body larger than DATA_UPLOAD_MAX_MEMORY_SIZE: 400 or 413, nothing written."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    note = "x" * 300
    row = {"town": "olshany", "indicator": "population", "year": 2031, "value": "1", "note": note}
    rows = [dict(row, year=2031 + (i % 60), quarter=i % 5) for i in range(limit // 300)]
    body = json.dumps(rows)
    assert len(body) > limit
    before = IndicatorValue.objects.count()
    response = quiet(research_client(personas)).post(BULK, body, content_type="application/json")
    assert is_clean_client_error(response, 400, 413), response.status_code
    assert IndicatorValue.objects.count() == before


def test_bulk_upload_above_max_rows_is_a_400(personas):
    rows = [{"town": "olshany"}] * (MAX_ROWS + 1)
    response = research_client(personas).post(
        BULK, json.dumps(rows), content_type="application/json"
    )
    assert response.status_code == 400
    assert str(MAX_ROWS) in response.json()["errors"][0]["message"]


def test_admin_import_file_above_the_limit_is_refused_cleanly(admin_client_logged):
    """An import file far larger than any research file (6 MB; the demo's largest is well under
    1 MB) is refused by its size with a message, before it is read into memory and parsed.

    (One huge cell, so that the test stays fast whatever the outcome: a file of 6 MB of
    ordinary rows keeps a worker parsing for minutes while there is no size limit.)
    """
    header = b"town,indicator,year,quarter,value,note\n"
    data = header + b"olshany,population,2031,0,1," + b"x" * (6 * 1024 * 1024) + b"\n"
    before = IndicatorValue.objects.count()
    response = quiet(admin_client_logged).post(
        "/admin/towns/indicatorvalue/import/",
        {"format": "0", "resource": "0", "import_file": SimpleUploadedFile("big.csv", data)},
        follow=True,
    )
    assert response.status_code in (200, 400, 413), response.status_code
    assert IndicatorValue.objects.count() == before
    assert b"too large" in response.content.lower() or response.status_code in (400, 413)


# --- deeply nested JSON ----------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_a_400_not_a_recursion_error(personas, depth):
    body = "[" * depth + "]" * depth
    response = quiet(research_client(personas)).post(BULK, body, content_type="application/json")
    assert is_clean_client_error(response, 400), response.status_code


def test_deeply_nested_json_object_to_a_single_write(personas):
    body = '{"a":' * 50_000 + "1" + "}" * 50_000
    response = quiet(research_client(personas)).post(
        f"{API}indicator-values/", body, content_type="application/json"
    )
    assert is_clean_client_error(response, 400), response.status_code


# --- page sizes and query parameters ---------------------------------------------------------


@pytest.mark.parametrize("size", [str(10**9), str(10**30), ""])
def test_huge_page_size_is_capped_and_an_empty_one_ignored(client, size):
    response = client.get(f"{API}towns/", {"page_size": size})
    assert response.status_code == 200
    results = response.json()["results"]
    assert 0 < len(results) <= settings.API_MAX_PAGE_SIZE


@pytest.mark.parametrize("size", ["-1", "0", "abc", "1e9"])
def test_page_size_not_a_whole_number_from_1_is_a_400_problem(client, size):
    """Issue 18: a page size that is not a whole number >= 1 is refused, not silently replaced."""
    response = quiet(client).get(f"{API}towns/", {"page_size": size})
    assert is_clean_client_error(response, 400), response.status_code
    assert response["Content-Type"].startswith("application/problem+json")
    assert "page_size" in response.json()["errors"]


@pytest.mark.parametrize("page", [str(10**30), "-1", "abc"])
def test_page_number_out_of_range_is_a_404_not_a_500(client, page):
    response = quiet(client).get(f"{API}towns/", {"page": page, "ordering": "name_en"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path", ["towns/", "csos/", "indicator-values/", "regions/", "activities/"]
)
def test_unknown_query_parameters_are_ignored(client, path):
    """Documented behaviour: a parameter the endpoint does not know is ignored (as in the
    filters of django-filter), so the answer equals the answer without it."""
    plain = client.get(f"{API}{path}")
    noisy = client.get(
        f"{API}{path}",
        {"colour": "red", "__proto__": "x", "page_size[]": "5", "x" * 500: "y" * 5000},
    )
    assert plain.status_code == noisy.status_code == 200
    assert noisy.json()["results"] == plain.json()["results"]


# --- invalid UTF-8 ---------------------------------------------------------------------------


def test_invalid_utf8_in_the_query_string_is_never_a_500(client):
    for query in ("search=%FF%FE", "region=%C0%AF", "page_size=%FF", "%FF=1"):
        response = quiet(client).get(f"{API}towns/?{query}")
        assert is_clean_client_error(response, 200, 400), (query, response.status_code)
        response = quiet(client).get(f"/?{query}")
        assert is_clean_client_error(response, 200, 400), (query, response.status_code)


def test_invalid_utf8_in_the_path_is_a_404_or_400(client):
    for path in ("/towns/%FF%FE/", f"{API}towns/%C0%AF/", "/%FF/", f"{API}csos/%ED%A0%80/"):
        response = quiet(client).get(path)
        assert is_clean_client_error(response, 400, 404), (path, response.status_code)


def test_invalid_utf8_in_a_json_body_is_a_400(personas):
    body = b'[{"town": "olshany\xff\xfe", "indicator": "population", "year": 2031}]'
    response = quiet(research_client(personas)).post(BULK, body, content_type="application/json")
    assert is_clean_client_error(response, 400), response.status_code


# --- wrong content types (routes the existing sweep over "-list" routes does not reach) -------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/json-x"],
)
def test_bulk_upload_with_a_wrong_content_type_is_a_415(personas, content_type):
    response = research_client(personas).post(BULK, b"[]", content_type=content_type)
    assert response.status_code == 415


# --- path traversal in file names ------------------------------------------------------------


def test_upload_named_with_a_path_traversal_writes_nothing_outside(admin_client_logged):
    """The file name of an import is never used as a path: the upload goes to a temporary file
    with a generated name, and the name is only shown."""
    watched = "/etc/passwd"
    stamp = os.stat(watched).st_mtime_ns
    tmp_before = set(os.listdir(tempfile.gettempdir()))
    data = b"town,indicator,year,quarter,value\nolshany,population,2031,0,1\n"
    for name in ("../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd", "a/../../b.csv"):
        response = quiet(admin_client_logged).post(
            "/admin/towns/indicatorvalue/import/",
            {"format": "0", "resource": "0", "import_file": SimpleUploadedFile(name, data)},
        )
        assert response.status_code == 200, (name, response.status_code)
    assert os.stat(watched).st_mtime_ns == stamp
    new = set(os.listdir(tempfile.gettempdir())) - tmp_before
    assert not any(n in {"passwd", "win.ini", "b.csv"} for n in new), new


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/etc/passwd", "../../../../../../etc/hostname", "nope"]
)
def test_confirm_step_with_a_forged_file_name_reads_nothing_outside(admin_client_logged, name):
    """The confirm step names the uploaded temporary file in a hidden field: a forged name is
    cut to its base name (never read outside the temporary folder) and a name that does not
    exist is a clean error, not a 500."""
    before = IndicatorValue.objects.count()
    response = quiet(admin_client_logged).post(
        "/admin/towns/indicatorvalue/process_import/",
        {
            "import_file_name": name,
            "original_file_name": "values.csv",
            "format": "0",
            "resource": "0",
        },
    )
    assert response.status_code in (200, 302, 400, 404), response.status_code
    assert b"root:" not in response.content
    assert IndicatorValue.objects.count() == before
