"""Template tags of the society and environment parts of the town, compare and typology pages.

``{% town_society town as society %}`` reads a town's society and environment at the viewer's
level once (:func:`towns.society_profile.town_society`) for the two parts of the town page that
show it: the mechanisms in "Who governs" and the section on society, ways of life and
communication sites. ``{% towns_society towns as evidence %}`` gives the compare page each
town's measures (one query), ``{% group_society towns as summary %}`` a type's medians. What
they return is presented (:func:`governance.redaction.present`): redacted views, never the
model instances.
"""

from django import template

from governance.redaction import present
from towns import society_profile

register = template.Library()


def _user(context):
    return getattr(context.get("request"), "user", None)


def _presented(context, value):
    request = context.get("request")
    return present(value, _user(context), request=request)


@register.simple_tag(takes_context=True)
def town_society(context, town):
    return _presented(context, society_profile.town_society(town, user=_user(context)))


@register.simple_tag(takes_context=True)
def towns_society(context, towns):
    """[(town, evidence)] in the order of ``towns``."""
    evidence = society_profile.towns_enrichment(list(towns), user=_user(context))
    return _presented(context, [(t, evidence.get(t.pk)) for t in towns])


@register.simple_tag(takes_context=True)
def group_society(context, towns):
    # The typology page reads every town's evidence once (``society_evidence``).
    known = context.get("society_evidence")
    summary = society_profile.group_society(list(towns), user=_user(context), known=known)
    return _presented(context, summary)
