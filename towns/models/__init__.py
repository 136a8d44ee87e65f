"""Models of the local-authority side, one module per part of the domain."""

from towns.models.activities import Activity, ActivityField, ActivityStatus, Stance
from towns.models.indicators import (
    Direction,
    Indicator,
    IndicatorSystem,
    IndicatorValue,
    StandardKind,
)
from towns.models.places import District, Region, Town, TownKind, Typology
from towns.models.power import (
    Appointment,
    CorporateSector,
    GroupKind,
    GroupMembership,
    GroupOrigin,
    Influence,
    InfluenceGroup,
    Origin,
    Person,
    Post,
    PostKind,
    RecruitedFrom,
    Tie,
    TieKind,
)

__all__ = [
    "Activity",
    "ActivityField",
    "ActivityStatus",
    "Appointment",
    "CorporateSector",
    "Direction",
    "District",
    "GroupKind",
    "GroupMembership",
    "GroupOrigin",
    "Indicator",
    "IndicatorSystem",
    "IndicatorValue",
    "Influence",
    "InfluenceGroup",
    "Origin",
    "Person",
    "Post",
    "PostKind",
    "RecruitedFrom",
    "Region",
    "Stance",
    "StandardKind",
    "Tie",
    "TieKind",
    "Town",
    "TownKind",
    "Typology",
]

# The many-to-many links (sources, influencing groups and persons) are audited too.
from governance.models import audited_links

for _model in (Person, InfluenceGroup, GroupMembership, Influence, Appointment, Tie, Activity):
    audited_links(_model)
