"""Models of the local-authority side, one module per part of the domain."""

from towns.models.places import District, Region, Town, TownKind

__all__ = ["District", "Region", "Town", "TownKind"]
