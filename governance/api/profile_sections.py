"""Sections of a town's API profile contributed by apps to the right of ``towns``.

``towns`` serves ``/api/v1/towns/{slug}/profile/`` but must not import ``csos``; ``csos``
registers its sections (network metrics, strategy advice) here in ``AppConfig.ready()``, as
it registers its page panels in :mod:`governance.panels`. A provider takes the town and the
viewer and returns plain JSON data computed only from what that viewer may see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Provider = Callable[..., Any]

_registry: dict[str, Provider] = {}


def register(name: str, provider: Provider) -> None:
    """Add (or replace) the section ``name``: ``provider(town, *, user, as_of)`` → JSON data."""
    _registry[name] = provider


def sections() -> dict[str, Provider]:
    return dict(_registry)


def render(town, *, user=None, as_of=None) -> dict[str, Any]:
    """Every registered section of ``town`` as ``user`` may see it, by name."""
    return {name: provider(town, user=user, as_of=as_of) for name, provider in _registry.items()}
