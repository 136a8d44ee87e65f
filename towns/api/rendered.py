"""The town list's rows written as JSON by PostgreSQL (:mod:`governance.api.rendered`)."""

from __future__ import annotations

import functools

from django.db.models import F

from governance.api.rendered import RowTexts, json_lines, row_json
from towns.api.serializers import TownSerializer
from towns.models import Town


def town_row_json(zone: str):
    """The expression writing a town as :class:`TownSerializer` does, with its times in
    ``zone``; ``alternate_names`` is the model's ``alternate_name_list`` of its text."""
    return row_json(
        TownSerializer, zone=zone, special={"alternate_names": json_lines(F("alternate_names"))}
    )


@functools.lru_cache(maxsize=8)
def town_texts(zone: str) -> RowTexts:
    """The annotation of each town's text, times in ``zone`` (compiled once per zone)."""
    return RowTexts(Town, town_row_json(zone))
