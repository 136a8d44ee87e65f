"""The sections ``csos`` adds to a town's API profile: the CSO network and strategy advice.

Registered in :meth:`csos.apps.CsosConfig.ready` with :mod:`governance.api.profile_sections`,
so that ``towns`` serves them without importing ``csos``. Both are computed only from the
records the viewer may see (:mod:`csos.profile`).
"""

from __future__ import annotations

from dataclasses import asdict

from csos.profile import town_advice, town_network


def network_section(town, *, user=None, as_of=None) -> dict:
    """Network metrics of the CSOs serving ``town``, with their explanation."""
    return asdict(town_network(town, user=user, as_of=as_of))


def advice_section(town, *, user=None, as_of=None) -> list[dict]:
    """Strategy options 1-3 for ``town``: status, reasons and the data that is missing."""
    return [
        {
            "option": advice.option,
            "label": advice.label,
            "status": advice.status,
            "reasons": list(advice.reasons),
            "missing": list(advice.missing),
            "synthetic_inputs": list(advice.synthetic_inputs),
            "derived_from_synthetic": advice.derived_from_synthetic,
            "evidence_records": advice.evidence_records,
            "evidence_sources": advice.evidence_sources,
        }
        for advice in town_advice(town, user=user, as_of=as_of)
    ]
