"""Template tags shared by every app's pages."""

import functools
import html
import re
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.template import defaultfilters
from django.template.loader import render_to_string
from django.utils import formats
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from governance.models import active_language
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
    # confidence of a reading or claim (governance.models.Confidence)
    "low": _("Low"),
    "medium": _("Medium"),
    "high": _("High"),
}


@register.filter
def code_label(value):
    """The translated word for a scoring code (the code itself when there is none)."""
    return CODE_LABELS.get(str(value), value)


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_WORD = re.compile(r"[A-Za-z]*[a-z][A-Za-z]*")  # a word with a small letter: not an acronym
_BELARUSIAN_ONLY = re.compile(r"[іўІЎ]")
_RUSSIAN_ONLY = re.compile(r"[иъщИЪЩ]")
#: Other scripts a place's alternate names come in, with the language they mostly write.
_SCRIPTS = (
    (re.compile(r"[\u0590-\u05ff]"), "he"),
    (re.compile(r"[\u0600-\u06ff]"), "ar"),
    (re.compile(r"[\u0370-\u03ff]"), "el"),
    (re.compile(r"[\u10a0-\u10ff]"), "ka"),
    (re.compile(r"[\u0530-\u058f]"), "hy"),
    (re.compile(r"[\u3040-\u30ff]"), "ja"),
    (re.compile(r"[\uac00-\ud7af]"), "ko"),
    (re.compile(r"[\u4e00-\u9fff]"), "zh"),
)


def text_language(text: str, page: str) -> str | None:
    """See :func:`_text_language`; short texts (names, years, labels: a dashboard asks about
    the same few hundred about 1,500 times) are answered from a table kept per process."""
    if len(text) <= _KEPT_TEXT_LENGTH:
        return _kept_text_language(text, page)
    return _text_language(text, page)


#: Texts up to this length have their language kept (at most _KEPT_TEXTS of them, the least
#: recently asked dropped first: a few MiB at most).
_KEPT_TEXT_LENGTH = 120
_KEPT_TEXTS = 16_384


def _text_language(text: str, page: str) -> str | None:
    """The language a free text is written in, from its script: English for Latin words
    (acronyms such as CSV or BYN do not count), Belarusian or Russian for Cyrillic by the
    letters only one of them has (і ў against и ъ щ). Cyrillic with neither is taken as the
    page's language on a Belarusian or Russian page, and as Russian on an English one (a
    Russian voice, which far more screen readers have than a Belarusian one, reads either
    better than an English voice). None when the text gives no sign."""
    cyrillic = len(_CYRILLIC.findall(text))
    latin = sum(len(w) for w in _WORD.findall(text))
    if cyrillic > latin:
        be, ru = bool(_BELARUSIAN_ONLY.search(text)), bool(_RUSSIAN_ONLY.search(text))
        if be != ru:
            return "be" if be else "ru"
        return page if page in ("be", "ru") else "ru"
    if latin:
        return "en"
    for script, lang in _SCRIPTS:
        if script.search(text):
            return lang
    return None


_kept_text_language = functools.lru_cache(maxsize=_KEPT_TEXTS)(_text_language)


def _foreign(text: str) -> str | None:
    """The language of ``text`` when it is not the page's (None when it is, or unknown)."""
    page = active_language()
    lang = text_language(text, page)
    return None if lang in (None, page) else lang


@register.filter(needs_autoescape=True)
def in_its_language(text, autoescape=True):
    """``text`` (escaped), inside ``<span lang="…">`` when it is written in another language
    than the page, so that a screen reader reads it with the right voice. For the free text
    researchers enter in one language (titles, descriptions, names without a translation,
    source citations): the page's own words are translated, this marks the rest."""
    if text is None or text == "":
        return text
    if type(text) is int:  # digits have no language (years); "1e+20" or "nan" would have
        return conditional_escape(text) if autoescape else text
    escaped = conditional_escape(text) if autoescape else text
    lang = _foreign(str(text))
    return escaped if lang is None else format_html('<span lang="{}">{}</span>', lang, escaped)


_QUOTED = re.compile(r"“([^”]*)”")


@register.filter(needs_autoescape=True)
def quotes_in_their_language(text, autoescape=True):
    """``text`` (escaped) with each “quoted” part inside ``<span lang="…">`` when it is written
    in another language than the page: for sentences of the page's language that quote names
    researchers entered (towns.society.quoted)."""
    escaped = conditional_escape(text) if autoescape else str(text)

    def mark(match):
        lang = _foreign(html.unescape(match.group(1)))
        return match.group(0) if lang is None else f'“<span lang="{lang}">{match.group(1)}</span>”'

    return mark_safe(_QUOTED.sub(mark, escaped))  # noqa: S308 (escaped above; lang is a code)


@register.filter
def language_of(text) -> str:
    """The language ``text`` is written in (see ``text_language``), the page's when it gives no
    sign: for a ``lang`` attribute where no ``<span>`` may go (an ``<option>``)."""
    page = active_language()
    return text_language(str(text or ""), page) or page


class NumberFormat:
    """``floatformat:"-2g"`` for many numbers of one page: the page language's separators are
    looked up once, not once per number (a dashboard's chart tables hold about 3,000 numbers;
    Django's filter spent a third of the page's time looking them up). Gives exactly what the
    filter gives (tested against it); anything but a finite int, float or Decimal of ordinary
    size goes to the filter itself."""

    def __init__(self):
        self.decimal = str(formats.get_format("DECIMAL_SEPARATOR"))
        self.thousands = str(formats.get_format("THOUSAND_SEPARATOR"))
        grouping = formats.get_format("NUMBER_GROUPING")
        self.grouping = grouping if isinstance(grouping, int) and grouping > 0 else None

    def __call__(self, value) -> str:
        if self.grouping is None or isinstance(value, bool):
            return defaultfilters.floatformat(value, "-2g")
        if isinstance(value, int):
            d = Decimal(value)
        elif isinstance(value, float | Decimal):
            d = Decimal(str(value))
        else:
            return defaultfilters.floatformat(value, "-2g")
        if not d.is_finite() or abs(d.adjusted()) > 30:
            return defaultfilters.floatformat(value, "-2g")
        if d == d.to_integral_value():
            text = f"{int(d):d}"
        else:
            rounded = d.quantize(_CENTS, ROUND_HALF_UP)
            text = f"{rounded:f}" if rounded else "0.00"
        sign = "-" if text.startswith("-") else ""
        whole, _, cents = text.lstrip("-").partition(".")
        size = self.grouping
        groups = [whole[max(0, end - size) : end] for end in range(len(whole), 0, -size)]
        whole = self.thousands.join(reversed(groups))
        return sign + whole + (self.decimal + cents if cents else "")


_CENTS = Decimal("0.01")


@register.filter
def chart_table_body(chart):
    """The ``<tbody>`` of a chart's data table: the first cell of a row is its heading, the
    others numbers (``floatformat:"-2g"``) or text in its language, "—" when empty. Written in
    one pass rather than by a template loop per cell (about 3,000 cells on a dashboard)."""
    if not chart.rows:
        return format_html(
            '<tbody><tr><td colspan="{}">{}</td></tr></tbody>',
            len(chart.columns),
            gettext("No data."),
        )
    number = NumberFormat()
    parts = ["<tbody>"]
    for row in chart.rows:
        parts.append(f'<tr><th scope="row">{in_its_language(row[0])}</th>')
        for cell in row[1:]:
            empty = cell == "" or cell is None
            text = "—" if empty else number(cell) or in_its_language(cell)
            parts.append(f'<td class="num">{text}</td>')
        parts.append("</tr>")
    parts.append("</tbody>")
    return mark_safe("".join(parts))  # noqa: S308 (every cell escaped above)
