"""schemathesis over the whole live schema, anonymous and with a partner token (quality 22).

Each operation of ``/api/v1/schema/`` gets a bounded number of generated requests (positive and
negative data), sent in-process through the WSGI application inside the test's transaction:
no answer may be a 5xx, and every documented response must match its schema.
"""

import pytest
import schemathesis
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from governance.tokens import token_issue

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, response_schema_conformance]
FUZZ = hypothesis_settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture
def api_schema(db):
    # Generous rates: the fuzzing itself must not be throttled into 429s.
    rates = {"anon": "100000/min", "user": "100000/min"}
    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        cache.clear()
        # As Django's test client does: a finished request must not close the test's connection.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            yield schemathesis.openapi.from_wsgi(
                "/api/v1/schema/?format=json", get_wsgi_application()
            )
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
    cache.clear()


@pytest.fixture
def partner_headers(django_user_model):
    user = django_user_model.objects.create_user(username="fuzz-partner", password="a-long-9x")
    user.groups.add(Group.objects.get(name="partner"))
    _, key = token_issue(user=user, name="fuzz", scopes=["read:partner"])
    return {"Authorization": f"Token {key}"}


def fuzz(schema, headers: dict[str, str] | None = None) -> list[str]:
    """Run every operation with positive and negative data; return the failures found."""
    failures: list[str] = []
    # The WSGI transport does not undo the API's gzip (a real client does): ask for the plain
    # body, so the checks read the JSON itself.
    headers = {"Accept-Encoding": "identity", **(headers or {})}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @FUZZ
            def run(case):
                # One savepoint per request, as a server runs each request on its own: a
                # database error in one request must not abort the ones after it.
                with transaction.atomic():
                    case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                # No invalid variant exists (an operation without parameters or body).
                continue
            except (Exception, BaseExceptionGroup) as exc:  # collected, reported below
                failures.append(f"{operation.label} [{mode}]: {exc}")
    return failures


def test_api_anonymous(api_schema):
    failures = fuzz(api_schema)
    assert not failures, "\n\n".join(failures)


def test_api_partner_token(api_schema, partner_headers):
    failures = fuzz(api_schema, partner_headers)
    assert not failures, "\n\n".join(failures)
