"""generate_scale_data: seeded, synthetic, replaceable, with history kept."""

from io import StringIO

import pytest
from django.core.management import call_command

from csos.models import CSO, CSOLink
from towns.models import IndicatorValue, Person, Town

pytestmark = pytest.mark.django_db

ARGS = ["--towns", "20", "--indicators", "30", "--years", "3", "--csos", "40", "--seed", "7"]


def snapshot():
    towns = list(
        Town.objects.filter(slug__startswith="scale-")
        .order_by("slug")
        .values_list("slug", "population", "latitude", "region__code")
    )
    values = list(
        IndicatorValue.objects.filter(town__slug__startswith="scale-")
        .order_by("town__slug", "indicator__code", "year")
        .values_list("town__slug", "indicator__code", "year", "value")
    )
    links = sorted(
        CSOLink.objects.filter(source_cso__slug__startswith="scale-").values_list(
            "source_cso__slug", "target_cso__slug", "kind"
        )
    )
    return towns, values, links


def test_generates_the_requested_sizes_all_synthetic():
    out = StringIO()
    call_command("generate_scale_data", *ARGS, stdout=out)
    towns = Town.objects.filter(slug__startswith="scale-")
    assert towns.count() == 20
    assert not towns.filter(is_synthetic=False).exists()
    values = IndicatorValue.objects.filter(town__slug__startswith="scale-")
    assert values.count() == 20 * 30 * 3
    assert not values.filter(is_synthetic=False).exists()
    assert CSO.objects.filter(slug__startswith="scale-", is_synthetic=True).count() == 40
    assert CSOLink.objects.filter(source_cso__slug__startswith="scale-").count() == 120
    assert Person.objects.filter(name_en__startswith="Synthetic scale person").count() == 200
    assert "indicator values: 1,800 rows" in out.getvalue()


def test_same_seed_gives_the_same_data_and_a_rerun_replaces_it():
    call_command("generate_scale_data", *ARGS, stdout=StringIO())
    first = snapshot()
    call_command("generate_scale_data", *ARGS, stdout=StringIO())
    assert snapshot() == first
    assert Town.objects.filter(slug__startswith="scale-").count() == 20


def test_generated_rows_leave_history():
    call_command("generate_scale_data", *ARGS, stdout=StringIO())
    events = IndicatorValue.pgh_event_model.objects.filter(
        pgh_label="insert", town__slug__startswith="scale-"
    )
    assert events.count() == 20 * 30 * 3


def test_demo_data_is_left_alone():
    before = Town.objects.exclude(slug__startswith="scale-").count()
    call_command("generate_scale_data", *ARGS, stdout=StringIO())
    assert Town.objects.exclude(slug__startswith="scale-").count() == before == 261
