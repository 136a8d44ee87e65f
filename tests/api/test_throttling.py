"""Rate limits: per anonymous client and per token, 429 with Retry-After (quality 13)."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client, override_settings

from governance.tokens import token_issue

pytestmark = pytest.mark.django_db

URL = "/api/v1/regions/"


@pytest.fixture
def low_rates():
    rates = {"anon": "2/min", "user": "3/min"}
    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        cache.clear()
        yield rates
    cache.clear()


@pytest.fixture
def partner(django_user_model):
    user = django_user_model.objects.create_user(username="thr-partner", password="a-long-pass-9x")
    user.groups.add(Group.objects.get(name="partner"))
    return user


def assert_throttled(response):
    assert response.status_code == 429
    assert "throttled" in response.json()["detail"].lower()
    assert 0 < int(response["Retry-After"]) <= 60


def test_anonymous_client_gets_429_with_retry_after_past_its_rate(low_rates):
    client = Client(REMOTE_ADDR="192.0.2.10")
    assert [client.get(URL).status_code for _ in range(2)] == [200, 200]
    assert_throttled(client.get(URL))
    # Another address has its own budget.
    assert Client(REMOTE_ADDR="192.0.2.11").get(URL).status_code == 200


def test_each_token_has_its_own_budget(low_rates, partner):
    _, first = token_issue(user=partner, name="one", scopes=["read:partner"])
    _, second = token_issue(user=partner, name="two", scopes=["read:partner"])
    one = Client(HTTP_AUTHORIZATION=f"Token {first}", REMOTE_ADDR="192.0.2.20")
    two = Client(HTTP_AUTHORIZATION=f"Token {second}", REMOTE_ADDR="192.0.2.20")
    assert [one.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    assert_throttled(one.get(URL))
    assert two.get(URL).status_code == 200
    # The token's requests did not use the anonymous budget of the same address.
    assert Client(REMOTE_ADDR="192.0.2.20").get(URL).status_code == 200


def test_default_rates_come_from_the_environment_settings():
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert set(rates) == {"anon", "user"}
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "governance.api.throttling.AnonClientThrottle",
        "governance.api.throttling.TokenThrottle",
    ]
