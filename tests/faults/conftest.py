"""Fixtures of the fault-injection tests: one private PostgreSQL server per test worker."""

from __future__ import annotations

import pytest

from tests.faults.harness import PrivatePostgres, issue_research_token

TEMPLATE = "faults_template"


class PrivateAtlas:
    """The private server, its template database (demo data + a research token) and clones."""

    def __init__(self, pg: PrivatePostgres, token: str):
        self.pg = pg
        self.token = token

    def fresh_database(self, prefix: str) -> str:
        return self.pg.clone(TEMPLATE, prefix)


@pytest.fixture(scope="session")
def private_atlas(django_db_setup, django_db_blocker):
    """A PostgreSQL server that the tests may stop and break, never the shared one."""
    from django.db import connections

    pg = PrivatePostgres()
    try:
        pg.start()
        with django_db_blocker.unblock():
            # The worker's test database: demo data committed by tests/conftest.py. Named
            # explicitly: when no test of the session uses the database, the connection's
            # settings still name the development database.
            connection = connections["default"]
            source = {**connection.settings_dict, "NAME": connection.creation._get_test_db_name()}
        pg.load_copy_of(source, TEMPLATE)
        token = issue_research_token(pg, TEMPLATE)
        yield PrivateAtlas(pg, token)
    finally:
        pg.destroy()
