"""Demo data of the local-authority side, loaded by ``manage.py load_demo``."""

from __future__ import annotations

from governance.loading import LoadReport
from towns.demo.places import load_places


def load(report: LoadReport) -> None:
    load_places(report)
