"""Page panels contributed by apps to the right of the one that renders the page.

A town page (in ``towns``) shows CSO data without importing ``csos``: ``csos`` registers a
panel for the slot ``"town"`` in its ``AppConfig.ready()``, and the town template renders the
slot with ``{% render_panels "town" town %}``. The arrows between apps keep pointing left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Panel:
    slot: str
    template: str
    context: Callable[[HttpRequest, Any], dict]
    order: int = 100


_registry: dict[str, list[Panel]] = {}


def register(slot: str, template: str, context: Callable[[HttpRequest, Any], dict], order=100):
    panels = _registry.setdefault(slot, [])
    if not any(p.template == template for p in panels):
        panels.append(Panel(slot, template, context, order))
        panels.sort(key=lambda p: p.order)


def panels_for(slot: str) -> list[Panel]:
    return list(_registry.get(slot, []))


def panel_context(panel: Panel, request: HttpRequest | None, obj: Any) -> dict:
    """``panel.context(request, obj)``, computed once per request: a page may show a panel's
    data twice (a town's summary at the top and the panel below) for the cost of once."""
    if request is None:
        return panel.context(request, obj)
    contexts = request.__dict__.setdefault("_panel_contexts", {})
    key = (panel.slot, panel.template, getattr(obj, "pk", id(obj)))
    if key not in contexts:
        contexts[key] = panel.context(request, obj)
    return contexts[key]
