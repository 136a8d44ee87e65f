"""Template tags shared by every app's pages."""

from django import template
from django.template.loader import render_to_string

from governance.panels import panels_for

register = template.Library()


@register.simple_tag(takes_context=True)
def render_panels(context, slot, obj):
    """Render the panels other apps registered for ``slot`` with ``obj`` (e.g. a town)."""
    request = context.get("request")
    parts = []
    for panel in panels_for(slot):
        ctx = {"request": request, "user": getattr(request, "user", None)}
        ctx.update(panel.context(request, obj))
        parts.append(render_to_string(panel.template, ctx, request=request))
    from django.utils.safestring import mark_safe

    return mark_safe("".join(parts))  # noqa: S308 (rendered, autoescaped templates)


@register.filter
def percent(value):
    """0.823 → "82%"; None → "—"."""
    if value is None:
        return "—"
    return f"{round(float(value) * 100)}%"
