"""Redaction in templates: a sensitive field shows only to viewers at or above its level."""

from django import template

from governance.access import may_see_level
from governance.redaction import (
    Redacted,
    note_restricted_read,
    person_label,
    person_names_visible,
    restricted_fields_shown,
)

register = template.Library()


@register.simple_tag(takes_context=True)
def person_name(context, person):
    """The person's name if the viewer may see the person and its names, else a neutral
    placeholder (no initials). A redacted person (:class:`governance.redaction.Redacted`) is
    already what the viewer may see: its text is the name or the placeholder."""
    if isinstance(person, Redacted):
        return str(person)
    request = context.get("request")
    user = getattr(request, "user", None)
    if person is not None and person_names_visible(person, user):
        note_restricted_read(request, person, restricted_fields_shown(person, user) & {"name_en"})
    return person_label(person, user)


@register.filter
def may_see(user, level):
    return may_see_level(user, level)
