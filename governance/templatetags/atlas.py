"""Template tags shared by every app's pages."""

from django import template
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from governance.panels import panel_context, panels_for

register = template.Library()


@register.simple_tag(takes_context=True)
def render_panels(context, slot, obj):
    """Render the panels other apps registered for ``slot`` with ``obj`` (e.g. a town)."""
    request = context.get("request")
    parts = []
    for panel in panels_for(slot):
        ctx = {"request": request, "user": getattr(request, "user", None)}
        ctx.update(panel_context(panel, request, obj))
        parts.append(render_to_string(panel.template, ctx, request=request))
    from django.utils.safestring import mark_safe

    return mark_safe("".join(parts))  # noqa: S308 (rendered, autoescaped templates)


@register.filter
def percent(value):
    """0.823 → "82%"; None → "—"."""
    if value is None:
        return "—"
    return f"{round(float(value) * 100)}%"


#: Words for the codes that scoring returns (towns.scoring, csos.advisor), so that a page
#: never shows a raw code such as "likely" or "promising" in any language.
CODE_LABELS = {
    "likely": _("likely to be backed"),
    "possible": _("possibly backed"),
    "unlikely": _("unlikely to be backed"),
    "unknown": _("not predictable yet"),
    "open": _("open"),
    "promising": _("promising"),
    "closed": _("closed"),
}


@register.filter
def code_label(value):
    """The translated word for a scoring code (the code itself when there is none)."""
    return CODE_LABELS.get(str(value), value)
