"""The dashboard's one-pass chart tables write numbers exactly as Django's
``floatformat:"-2g"`` does, in every language of the atlas (issue 19: the filter's per-number
format lookups were a third of a cold dashboard)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from django.template import Context, Template, defaultfilters
from django.utils import translation

from governance.templatetags.atlas import NumberFormat
from towns.pages import Chart


def numbers() -> list:
    rng = random.Random(19)
    edge = [
        0,
        -0.0,
        0.0,
        1,
        -1,
        0.001,
        -0.001,
        -0.004,
        0.005,
        0.015,
        2.675,
        999.995,
        -999.995,
        1234,
        1234.5,
        1000000,
        -1234567.891,
        12345678901234.5678,
        Decimal("0.0000"),
        Decimal("-0.0050"),
        Decimal("100.10"),
        Decimal("1E+3"),
        Decimal("123456789012.3456"),
        float("inf"),
        float("nan"),
        Decimal("NaN"),
        1e300,
        1e-300,
        True,
        "12.5",
        "abc",
        "",
    ]
    values = list(edge)
    for _ in range(3000):
        kind = rng.random()
        if kind < 0.3:
            values.append(rng.randint(-(10**9), 10**9))
        elif kind < 0.6:
            values.append(round(rng.uniform(-1e6, 1e6), rng.randint(0, 6)))
        else:
            values.append(
                Decimal(rng.randint(-(10**12), 10**12)) / Decimal(10 ** rng.randint(0, 4))
            )
    return values


@pytest.mark.parametrize("language", ["en", "be", "ru"])
def test_exactly_what_floatformat_gives(language):
    with translation.override(language):
        number = NumberFormat()
        for value in numbers():
            assert number(value) == defaultfilters.floatformat(value, "-2g"), repr(value)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_table_body_is_what_the_template_loop_wrote(language):
    """The loop the filter replaced, kept here as the reference."""
    loop = Template(
        "{% load atlas %}<tbody>{% for row in chart.rows %}<tr>{% for cell in row %}"
        '{% if forloop.first %}<th scope="row">{{ cell|in_its_language }}</th>{% else %}'
        '<td class="num">{% if cell == "" or cell is None %}—{% else %}'
        '{% with number=cell|floatformat:"-2g" %}{% if number %}{{ number }}{% else %}'
        "{{ cell|in_its_language }}{% endif %}{% endwith %}{% endif %}</td>{% endif %}"
        '{% endfor %}</tr>{% empty %}<tr><td colspan="{{ chart.columns|length }}">'
        '{% translate "No data." %}</td></tr>{% endfor %}</tbody>'.replace(
            "{% load atlas %}", "{% load i18n atlas %}"
        )
    )
    one_pass = Template("{% load atlas %}{{ chart|chart_table_body }}")
    rows = [[2019, 1234.5, None, "", "n/a <b>", Decimal("-0.004")], ["Гомель", 3, 4.0, 5, 6, 7]]
    for chart_rows in (rows, []):
        chart = Chart(
            key="k", title="t", kind="line", columns=list("abcdef"), rows=chart_rows, spec={}
        )
        with translation.override(language):
            context = Context({"chart": chart})
            assert one_pass.render(context) == loop.render(context)
