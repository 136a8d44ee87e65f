"""The test database the suite runs on (tests/dbtemplate.py): a copy of a template database."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_the_copy_has_planner_statistics_for_its_large_tables():
    # A copy keeps the template's statistics, and autovacuum does not gather any for a new
    # copy until enough rows change in it. Without them the admin's history page took minutes
    # (a union over every event table, planned for empty tables): the CI run of 7229b9c.
    # A table never analyzed has reltuples -1 (PostgreSQL 14+). A table analyzed empty in the
    # template and filled since by this session's committed writes (the access log, written
    # by the tests that run real servers) has no statistics either, but that is not the
    # template's doing: only never-analyzed tables count.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'
              AND c.reltuples < 0
              AND (SELECT count(*) FROM pg_stats s WHERE s.tablename = c.relname) = 0
              AND pg_relation_size(c.oid) > 10 * 8192
            """
        )
        without = [name for (name,) in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM towns_indicatorvalue")
        (values,) = cursor.fetchone()
    assert values > 10_000  # the demo data is there, so there is something to plan for
    assert without == [], f"tables without planner statistics: {without}"
