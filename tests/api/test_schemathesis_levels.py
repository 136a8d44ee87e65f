"""schemathesis with partner tokens against the schema each token is served (quality 22, 23).

tests/api/test_schemathesis.py fuzzes the anonymous schema, anonymously and with a read-only
partner token. Since the schema is tailored to its viewer (governance/api/schema.py), this
fuzzes each partner token against its *own* schema: the read-only token's, and that of a token
with ``write:indicators``, whose schema documents the indicator-value writes (which are then
fuzzed too). No 5xx, and every documented response matches its schema.
"""

import pytest
import schemathesis
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings

from governance.tokens import token_issue
from tests.api.test_schemathesis import fuzz

pytestmark = pytest.mark.django_db

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def load_schema(db):
    """Loads ``/api/v1/schema/`` as the client with the given headers sees it."""
    rates = {"anon": "100000/min", "user": "100000/min"}
    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        cache.clear()
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            yield lambda headers: schemathesis.openapi.from_wsgi(
                "/api/v1/schema/?format=json", get_wsgi_application(), headers=headers
            )
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
    cache.clear()


def partner_headers(django_user_model, username, scopes):
    user = django_user_model.objects.create_user(username=username, password="a-long-9x")
    user.groups.add(Group.objects.get(name="partner"))
    _, key = token_issue(user=user, name=username, scopes=scopes)
    return {"Authorization": f"Token {key}"}


def methods(schema) -> set[tuple[str, str]]:
    return {(op.path, op.method.upper()) for op in (r.ok() for r in schema.get_all_operations())}


def test_read_only_partner_token_against_its_own_schema(load_schema, django_user_model):
    headers = partner_headers(django_user_model, "fuzz-reader", ["read:partner"])
    schema = load_schema(headers)
    assert not {m for _, m in methods(schema)} & WRITES
    failures = fuzz(schema, headers)
    assert not failures, "\n\n".join(failures)


def test_indicator_writer_token_against_its_own_schema(load_schema, django_user_model):
    headers = partner_headers(
        django_user_model, "fuzz-writer", ["read:partner", "write:indicators"]
    )
    schema = load_schema(headers)
    writes = {(p, m) for p, m in methods(schema) if m in WRITES}
    assert writes and all("/indicator-values/" in p for p, _ in writes)
    failures = fuzz(schema, headers)
    assert not failures, "\n\n".join(failures)
