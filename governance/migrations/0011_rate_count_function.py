"""The count of a request in the API's rate limits as one SQL function (issue 19).

``governance.api.throttling.DatabaseCounters`` counts every API request, a cache hit too. As
one statement sent with its text, PostgreSQL planned it on every request: 0.20 ms per count
measured at the scale data, of which 0.09 ms execution, and the count was about a sixth of a
cached read. A PL/pgSQL function keeps its plans for the session: 0.13 ms per count.

The older release's inline statement and this function count the same rows alike, so either
release runs against the other's schema (a rollback keeps the function, unused).
"""

from django.db import migrations

COUNT = r"""
CREATE OR REPLACE FUNCTION atlas_rate_count(
    current_key text, previous_key text, seconds integer, OUT counted integer, OUT before integer
) LANGUAGE plpgsql AS $$
BEGIN
    -- This window's count, this request included; a row left from an expired window
    -- starts again at 1.
    INSERT INTO governance_ratecounter AS c (key, count, expires)
    VALUES (current_key, 1, now() + make_interval(secs => seconds))
    ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN c.expires > now() THEN c.count + 1 ELSE 1 END,
        expires = EXCLUDED.expires
    RETURNING c.count INTO counted;
    -- The previous window's, 0 once it has expired.
    SELECT coalesce(max(p.count), 0) INTO before
    FROM governance_ratecounter p
    WHERE p.key = previous_key AND p.expires > now();
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0010_json_text_functions"),
    ]

    operations = [
        migrations.RunSQL(COUNT, "DROP FUNCTION IF EXISTS atlas_rate_count(text, text, integer)"),
    ]
