"""SQL functions that write values as JSON text exactly as the API's JSON renderer does.

Used by :mod:`governance.api.rendered` to write list rows inside PostgreSQL (issue 19): the
text of a row is byte for byte what Django REST Framework writes for the same row
(``tests/api/test_rendered_rows.py`` holds them to it), so which of the two wrote a page does
not show.
"""

from django.db import migrations

#: Python's ``repr`` of a float (what ``json.dumps`` writes): PostgreSQL's shortest text of a
#: float8 but with ``.0`` on whole numbers and without an exponent from 1e15 to 1e16. NULL for
#: a value that is not finite (JSON has none: the renderer refuses it, and so does the caller).
FLOAT = r"""
CREATE OR REPLACE FUNCTION atlas_json_float(x double precision)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN x IS NULL THEN 'null'
        WHEN x IN ('Infinity', '-Infinity', 'NaN') THEN NULL
        WHEN abs(x) >= 1e15 AND abs(x) < 1e16 THEN
            (x::text)::numeric::text
            || CASE WHEN position('.' IN (x::text)::numeric::text) = 0 THEN '.0' ELSE '' END
        WHEN x::text ~ '^-?[0-9]+$' THEN x::text || '.0'
        ELSE x::text
    END
$$;
"""

#: ``datetime.isoformat()`` in the time zone ``zone`` as DRF writes it: microseconds only when
#: there are any, the offset as ``+HH:MM`` (with ``:SS`` when it has seconds) and ``Z`` for UTC.
#: Each is one expression without FROM, so PostgreSQL inlines it into the query (as a function
#: it cost 12 µs a row, four times as much).
DATETIME = r"""
CREATE OR REPLACE FUNCTION atlas_json_offset(o interval)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN o = interval '0' THEN 'Z' ELSE
        CASE WHEN o < interval '0' THEN '-' ELSE '+' END
        || CASE WHEN date_part('second', o) = 0 THEN to_char(greatest(o, -o), 'HH24:MI')
                ELSE to_char(greatest(o, -o), 'HH24:MI:SS') END
    END
$$;
CREATE OR REPLACE FUNCTION atlas_json_datetime(ts timestamptz, zone text)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ts IS NULL THEN 'null' ELSE
        '"' || to_char(
            ts AT TIME ZONE zone,
            CASE WHEN date_part('microseconds', ts)::bigint % 1000000 = 0
                 THEN 'YYYY-MM-DD"T"HH24:MI:SS' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US' END)
        || atlas_json_offset((ts AT TIME ZONE zone) - (ts AT TIME ZONE 'UTC')) || '"'
    END
$$;
"""

#: ``[line.strip() for line in text.splitlines() if line.strip()]`` as a JSON array: the line
#: boundaries of ``str.splitlines`` and the white space of ``str.strip`` (``str.isspace``).
#: A text of plain lines (no blank line, no white space at either end of a line, no line
#: break but ``\n``) is split without regular expressions, by an inlined expression.
LINES = r"""
CREATE OR REPLACE FUNCTION atlas_json_lines_split(x text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '[' || COALESCE(string_agg(to_json(line)::text, ',' ORDER BY n), '') || ']'
    FROM (
        SELECT regexp_replace(part, '^[\t\n\v\f\r\x1c-\x1f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r\x1c-\x1f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$', '', 'g') AS line, n
        FROM regexp_split_to_table(COALESCE(x, ''), '[\n\v\f\r\x1c\x1d\x1e\u0085\u2028\u2029]')
             WITH ORDINALITY AS parts(part, n)
    ) lines
    WHERE line <> ''
$$;
CREATE OR REPLACE FUNCTION atlas_json_lines(x text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN x IS NULL OR x = '' THEN '[]'
        WHEN x ~ '(^|\n)[\t\n\v\f\r\x1c-\x1f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]|[\t\v\f\r\x1c-\x1f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]($|\n)|[\v\f\r\x1c\x1d\x1e\u0085\u2028\u2029]|\n$'
            THEN atlas_json_lines_split(x)
        ELSE array_to_json(string_to_array(x, E'\n'))::text
    END
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS atlas_json_float(double precision);
DROP FUNCTION IF EXISTS atlas_json_datetime(timestamptz, text);
DROP FUNCTION IF EXISTS atlas_json_offset(interval);
DROP FUNCTION IF EXISTS atlas_json_lines(text);
DROP FUNCTION IF EXISTS atlas_json_lines_split(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0009_rate_counters"),
    ]

    operations = [
        migrations.RunSQL(FLOAT + DATETIME + LINES, DROP),
    ]
