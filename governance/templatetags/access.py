"""Redaction in templates: a sensitive field shows only to viewers at or above its level."""

from django import template
from django.utils.translation import gettext as _

from governance.access import may_see_level

register = template.Library()


@register.simple_tag(takes_context=True)
def person_name(context, person):
    """The person's name if the viewer may see it, else a neutral placeholder (no initials)."""
    user = getattr(context.get("request"), "user", None)
    if person is not None and may_see_level(user, person.names_access_level):
        return person.name_en if not hasattr(person, "display_name") else person.display_name
    return _("(name not public)")


@register.filter
def may_see(user, level):
    return may_see_level(user, level)
