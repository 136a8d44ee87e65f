"""Failures answer cleanly: 503 with Retry-After when the database is away, a generic 500 else."""

import pytest
from django.db import OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def quiet_client():
    return Client(raise_request_exception=False)


def break_town_page(monkeypatch, exc):
    def fail(**kwargs):
        raise exc

    monkeypatch.setattr("towns.selectors.town_get", fail)


def test_database_unavailable_on_a_page_is_503_with_retry_after(quiet_client, monkeypatch):
    break_town_page(monkeypatch, OperationalError("could not connect to server: secret-host"))
    response = quiet_client.get("/towns/olshany/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.content.decode()
    assert "Traceback" not in body
    assert "secret-host" not in body


def test_database_unavailable_in_the_api_is_json_503(quiet_client, monkeypatch):
    def fail(self):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("towns.api.views.TownViewSet.get_queryset", fail)
    response = quiet_client.get("/api/v1/towns/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["detail"] == "The database is unavailable. Please retry shortly."
    assert response.json()["type"] == "/api/problems/unavailable"


def test_unexpected_error_is_a_generic_500_without_details(quiet_client, monkeypatch):
    break_town_page(monkeypatch, RuntimeError("Fictional Chairman A leaked password=hunter2"))
    response = quiet_client.get("/towns/olshany/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert "Fictional Chairman" not in body
    assert "hunter2" not in body
    assert "Traceback" not in body
