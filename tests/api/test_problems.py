"""Every error under /api/ is one shape: RFC 9457 problem details (issue 18)."""

import json

import pytest
from django.test import Client, override_settings

from governance.api.exceptions import PROBLEM_TYPES
from tests.ratewindow import inside_one_window

pytestmark = pytest.mark.django_db

MEDIA_TYPE = "application/problem+json"


def assert_problem(response, status, code=None):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith(MEDIA_TYPE), response["Content-Type"]
    body = json.loads(response.content)
    assert {"type", "title", "status", "detail", "code"} <= body.keys(), body
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    slug = body["type"].removeprefix("/api/problems/")
    assert slug in PROBLEM_TYPES and PROBLEM_TYPES[slug][0] == status, body["type"]
    if code:
        assert body["code"] == code, body
    return body


@pytest.mark.parametrize("path", ["/api/v2/", "/api/v1/nope/", "/api/", "/api/v1/towns.csv"])
@pytest.mark.parametrize("accept", ["", "text/csv", "application/yaml", "text/html"])
def test_unknown_routes_are_404_problems(path, accept):
    assert_problem(Client().get(path, HTTP_ACCEPT=accept), 404, "not_found")


@pytest.mark.parametrize("accept", ["*/*", "text/csv", "text/html", "application/json"])
def test_unknown_records_are_404_problems(accept):
    assert_problem(Client().get("/api/v1/towns/999999999/", HTTP_ACCEPT=accept), 404)


@pytest.mark.parametrize("fmt", ["json", "csv", "geojson", "api"])
def test_validation_errors_are_problems_with_field_errors_whatever_the_format(fmt):
    body = assert_problem(
        Client().get("/api/v1/towns/", {"population_min": "x", "format": fmt}), 400
    )
    assert body["type"] == "/api/problems/validation"
    assert body["code"] == "invalid"
    assert "population_min" in body["errors"]


@pytest.mark.parametrize("param", ["search", "q", "town", "field", "region", "ordering", "zzz"])
@pytest.mark.parametrize("path", ["/api/v1/towns/", "/api/v1/csos/", "/api/v1/towns.geojson"])
def test_a_nul_byte_in_any_parameter_is_a_400_problem(path, param):
    body = assert_problem(Client().get(path, {param: "ab\x00c"}), 400, "invalid_character")
    assert body["type"] == "/api/problems/malformed-request"


@pytest.mark.parametrize("path", ["/", "/csos/", "/be/csos/", "/towns/"])
@pytest.mark.parametrize("param", ["search", "q", "town", "field", "region"])
def test_a_nul_byte_on_a_page_is_a_400(path, param):
    assert Client().get(path, {param: "a\x00"}).status_code == 400


def test_a_nul_byte_in_a_parameter_name_or_the_path_is_a_400():
    assert_problem(Client().get("/api/v1/towns/?a%00b=1"), 400)
    assert_problem(Client().get("/api/v1/towns/%00/"), 400)
    assert Client().get("/towns/%00/").status_code == 400


def test_authentication_errors_are_problems_with_a_challenge():
    body = assert_problem(
        Client(HTTP_AUTHORIZATION="Basic eDp5").get("/api/v1/towns/"), 401, "authentication_failed"
    )
    assert body["type"] == "/api/problems/unauthenticated"
    response = Client().get("/api/v1/schema/?format=yaml", HTTP_AUTHORIZATION="Token nope")
    assert_problem(response, 401)
    assert "Bearer" in response["WWW-Authenticate"]


def test_method_not_allowed_keeps_allow():
    response = Client().delete("/api/v1/regions/")
    assert_problem(response, 405)


def test_not_acceptable_is_a_problem():
    assert_problem(Client().get("/api/v1/towns/", HTTP_ACCEPT="image/png"), 406, "not_acceptable")


def test_malformed_and_oversized_bodies_are_problems(django_user_model):
    from governance.tokens import token_issue

    user = django_user_model.objects.create_user("problem-writer", password="x-long-pass-9")
    user.groups.add(
        *__import__("django.contrib.auth.models", fromlist=["Group"]).Group.objects.filter(
            name="researcher"
        )
    )
    _, key = token_issue(user=user, name="w", scopes=["write:research", "read:restricted"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = assert_problem(
        client.post("/api/v1/sources/", "{not json", content_type="application/json"), 400
    )
    assert body["code"] == "parse_error"
    assert_problem(client.post("/api/v1/sources/", "a=b", content_type="text/plain"), 415)
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        big = json.dumps({"citation": "x" * 5000})
        assert_problem(client.post("/api/v1/sources/", big, content_type="application/json"), 413)


def test_throttled_is_a_problem_with_retry_after(settings):
    from django.core.cache import caches

    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], anon="2/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    caches["default"].clear()
    client = Client(REMOTE_ADDR="203.0.113.77")
    inside_one_window(needed=10)
    for _ in range(2):
        client.get("/api/v1/regions/")
    response = client.get("/api/v1/regions/?format=csv")
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


def test_a_server_error_is_a_problem(monkeypatch):
    from towns.api import views

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views.RegionViewSet, "list", boom)
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/regions/?format=csv")
    body = assert_problem(response, 500, "server_error")
    assert "secret" not in response.content.decode()
    assert body["type"] == "/api/problems/server-error"


@pytest.mark.parametrize("slug", sorted(PROBLEM_TYPES))
def test_every_problem_type_is_served_and_documented(slug):
    response = Client().get(f"/api/problems/{slug}")
    assert response.status_code == 200
    assert response.json()["status"] == PROBLEM_TYPES[slug][0]
    with open("docs/api.md", encoding="utf-8") as docs:
        assert f"`/api/problems/{slug}`" in docs.read()


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_problem_type_page_answers_only_get_and_head(method):
    assert Client().head("/api/problems/validation").status_code == 200
    response = getattr(Client(), method)("/api/problems/validation")
    assert_problem(response, 405)
    assert response["Allow"] == "GET, HEAD"
