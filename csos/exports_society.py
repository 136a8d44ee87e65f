"""The data-package tables of how power is implemented and of the society of the towns.

Built by :func:`society_tables` with the table and column types of :mod:`csos.exports` (passed
in, so that this module does not import the one that imports it). Everything is read at the
public level; a communication site's coordinates only when its coordinates are public too.
"""

from __future__ import annotations

from django.db.models import Prefetch

from towns.models import (
    Activity,
    CommunicationSite,
    InfluenceGroup,
    ManagementMechanism,
    MechanismKind,
    SelfOrganisationEvent,
    SocietyObservation,
    WayOfLife,
)


def _codes(attr: str, key: str = "pk"):
    def get(obj):
        return " ".join(sorted(str(getattr(x, key)) for x in getattr(obj, attr).all()))

    return get


def _public_coordinate(attr: str):
    def get(site):
        return getattr(site, attr) if site.coordinates_access_level == "public" else None

    return get


def society_tables(Table, Column, public, slug, confidence, synthetic, dates) -> tuple:
    town = Column("town", "string", "Town (towns.slug).", slug("town"), True)
    ident = Column("id", "integer", "Identifier of the record.", required=True)
    by_town = (("town", "towns", "slug"),)

    def town_table(name: str, title: str, model, columns: tuple) -> Table:
        """A table of public records of one town each: id, town, ``columns``, confidence."""
        return Table(
            name,
            title,
            lambda: public(model).select_related("town").order_by("pk"),
            (ident, town, *columns, confidence, synthetic),
            "id",
            by_town,
        )

    return (
        Table(
            "mechanism_kinds",
            "Kinds of management mechanism (an extendable vocabulary)",
            lambda: MechanismKind.objects.order_by("code"),
            (
                Column("code", "string", "Identifier of the kind.", required=True),
                Column("name_en", "string", "Name in English.", required=True),
                Column("name_be", "string", "Name in Belarusian."),
                Column("name_ru", "string", "Name in Russian."),
                Column("description", "string", "What the mechanism is."),
            ),
            "code",
        ),
        Table(
            "mechanisms",
            "Mechanisms of management observed in towns (public)",
            lambda: (
                public(ManagementMechanism)
                .select_related("town", "kind")
                .prefetch_related(
                    "indicators",
                    Prefetch("groups", queryset=public(InfluenceGroup).only("pk")),
                    Prefetch("suppresses", queryset=public(Activity).only("pk")),
                    Prefetch("tolerates", queryset=public(Activity).only("pk")),
                )
                .order_by("pk")
            ),
            (
                ident,
                town,
                Column("kind", "string", "Kind (mechanism_kinds.code).", lambda m: m.kind.code),
                Column("description", "string", "How the mechanism works here."),
                *dates,
                Column(
                    "indicators",
                    "string",
                    "Indicators it serves (indicators.code), separated by spaces.",
                    _codes("indicators", "code"),
                ),
                Column(
                    "groups",
                    "string",
                    "Influence groups that use it (ids), separated by spaces.",
                    _codes("groups"),
                ),
                Column(
                    "suppresses",
                    "string",
                    "Activities it suppresses (activities.id), separated by spaces.",
                    _codes("suppresses"),
                ),
                Column(
                    "tolerates",
                    "string",
                    "Activities it tolerates (activities.id), separated by spaces.",
                    _codes("tolerates"),
                ),
                confidence,
                synthetic,
            ),
            "id",
            (*by_town, ("kind", "mechanism_kinds", "code")),
        ),
        town_table(
            "society_observations",
            "Observations of engagement and alienation per town and year (public)",
            SocietyObservation,
            (
                Column("year", "integer", "Year."),
                Column("measure", "string", "What was observed (initiatives, petitions, ...)."),
                Column("value", "number", "The figure, in its unit."),
                Column("unit", "string", "Unit of the figure."),
                Column("level", "integer", "Reading: 1 alienated ... 5 engaged."),
                Column("instrument", "string", "survey, interview, observation or document."),
                Column("sample_size", "integer", "Respondents, where there is a sample."),
            ),
        ),
        town_table(
            "self_organisation_events",
            "Initiatives, petitions, protests and community projects (public)",
            SelfOrganisationEvent,
            (
                Column("date", "date", "Date."),
                Column("kind", "string", "initiative, petition, protest or community_project."),
                Column("title", "string", "What happened."),
                Column("outcome", "string", "Outcome."),
            ),
        ),
        town_table(
            "ways_of_life",
            "Ways of life the towns offer, their availability and barriers (public)",
            WayOfLife,
            (
                Column("category", "string", "work, education, culture, faith or enterprise."),
                Column("name", "string", "The way of life."),
                Column("availability", "string", "open, limited or marginal."),
                Column("barriers", "string", "What stands in the way."),
            ),
        ),
        town_table(
            "communication_sites",
            "Public places where people meet (public; coordinates only where public)",
            CommunicationSite,
            (
                Column("name", "string", "Name of the place."),
                Column("kind", "string", "library, club, cafe, park, church, online or other."),
                Column("operator", "string", "state, gongo, church, independent or private."),
                Column("open_to_independent", "string", "yes, partly or no."),
                Column("dialogue_place", "boolean", "A place of dialogue between lifestyles."),
                Column("latitude", "number", "Latitude (WGS 84).", _public_coordinate("latitude")),
                Column(
                    "longitude", "number", "Longitude (WGS 84).", _public_coordinate("longitude")
                ),
            ),
        ),
    )
