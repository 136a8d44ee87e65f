"""Models of the local-authority side, one module per part of the domain."""

from towns.models.activities import Activity, ActivityField, ActivityStatus, Stance
from towns.models.indicators import (
    Direction,
    Indicator,
    IndicatorSystem,
    IndicatorValue,
    RegionalIndicatorStat,
    StandardKind,
)
from towns.models.kept import KeptDocument, KeptProfile
from towns.models.places import District, Region, Town, TownKind, TownMapFeature, Typology
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
from towns.models.research_settings import ResearchSettings
from towns.models.society import (
    Availability,
    CommunicationSite,
    EngagementLevel,
    EventKind,
    EventOutcome,
    Instrument,
    ManagementMechanism,
    MechanismKind,
    Openness,
    SelfOrganisationEvent,
    SiteKind,
    SiteOperator,
    SocietyMeasure,
    SocietyObservation,
    WayOfLife,
    WayOfLifeCategory,
)

__all__ = [
    "Activity",
    "ActivityField",
    "ActivityStatus",
    "Appointment",
    "Availability",
    "CommunicationSite",
    "CorporateSector",
    "Direction",
    "District",
    "EngagementLevel",
    "EventKind",
    "EventOutcome",
    "GroupKind",
    "GroupMembership",
    "GroupOrigin",
    "Indicator",
    "IndicatorSystem",
    "IndicatorValue",
    "Influence",
    "InfluenceGroup",
    "Instrument",
    "KeptDocument",
    "KeptProfile",
    "ManagementMechanism",
    "MechanismKind",
    "Openness",
    "Origin",
    "Person",
    "Post",
    "PostKind",
    "RecruitedFrom",
    "Region",
    "RegionalIndicatorStat",
    "ResearchSettings",
    "SelfOrganisationEvent",
    "SiteKind",
    "SiteOperator",
    "SocietyMeasure",
    "SocietyObservation",
    "Stance",
    "StandardKind",
    "Tie",
    "TieKind",
    "Town",
    "TownKind",
    "TownMapFeature",
    "Typology",
    "WayOfLife",
    "WayOfLifeCategory",
]

# The many-to-many links (sources, influencing groups and persons) are audited too.
from governance.models import audited_links

for _model in (Person, InfluenceGroup, GroupMembership, Influence, Appointment, Tie, Activity):
    audited_links(_model)
for _model in (
    ManagementMechanism,
    SocietyObservation,
    SelfOrganisationEvent,
    WayOfLife,
    CommunicationSite,
):
    audited_links(_model)
