"""Demo data of the local-authority side, loaded by ``manage.py load_demo``.

Real places first; then the sources, the indicator catalogue with generated (synthetic) values
for every town, and the research data of the nine case towns; last, the stored profile
aggregates (typology, share of "our own") of the towns whose influence claims were loaded.
"""

from __future__ import annotations

from governance.loading import LoadReport
from towns.demo.indicators import load_indicators
from towns.demo.places import load_places
from towns.demo.research import load_research, load_sources
from towns.demo.society import load_society
from towns.services import town_profile_refresh


def load(report: LoadReport) -> None:
    load_places(report)
    sources = load_sources(report)
    load_indicators(report, sources["synthetic"])
    towns = load_research(report, sources)
    load_society(report)
    for town in towns:
        town_profile_refresh(town=town)
