"""The Belarusian and Russian catalogues are complete, compiled and safe to interpolate.

The .po files are read with a small parser of our own (stdlib only) and the compiled .mo files
with :class:`gettext.GNUTranslations`, so a catalogue that was edited but not compiled again, an
entry left empty or fuzzy, or a translation that lost or renamed a placeholder fails here
rather than as an English leftover or a ``KeyError`` on a page.
"""

from __future__ import annotations

import ast
import gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ["be", "ru"]

# %(name)s with its flags/width/precision, a bare %s / %d / %r, or a {name} of str.format.
PERCENT_PLACEHOLDER = re.compile(
    r"%\([^)]+\)[#0\- +]*\d*(?:\.\d+)?[a-zA-Z]|%[#0\- +]*\d*(?:\.\d+)?[sdifrxX]"
)
BRACE_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


@dataclass
class Entry:
    """One message of a .po file, its strings unescaped."""

    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def is_plural(self) -> bool:
        return self.msgid_plural is not None

    def translations(self) -> list[str]:
        if self.is_plural:
            return [self.msgstr_plural[i] for i in sorted(self.msgstr_plural)]
        return [self.msgstr]

    def where(self) -> str:
        return f"line {self.line}: {self.msgid[:70]!r}"


def _unquote(text: str, path: Path, number: int) -> str:
    """A quoted C string of a .po line, unescaped (\\n, \\t, \\", \\\\ as in Python)."""
    text = text.strip()
    if not (text.startswith('"') and text.endswith('"')):
        raise ValueError(f"{path}:{number}: not a quoted string: {text!r}")
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[Entry]:
    """Every live entry of a .po file, the header included (msgid ""); obsolete ones skipped."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int | None] | None = None
    flags: set[str] = set()
    has_msgid = False

    def finish() -> None:
        nonlocal entry
        if entry is not None:
            entries.append(entry)
        entry = None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            finish()
            flags = {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        if line.startswith("#"):
            finish()
            continue
        keyword, _, rest = line.partition(" ")
        # msgctxt always opens an entry; msgid opens one unless it follows its msgctxt.
        if keyword == "msgctxt" or (keyword == "msgid" and (entry is None or has_msgid)):
            finish()
            entry = Entry(flags=flags, line=number)
            flags, has_msgid = set(), False
        if keyword == "msgid":
            has_msgid = True
        if entry is None:
            if line.startswith('"'):
                raise ValueError(f"{path}:{number}: continuation outside an entry")
            raise ValueError(f"{path}:{number}: unexpected line {line!r}")
        if line.startswith('"'):
            value = _unquote(line, path, number)
        else:
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if match:
                target = ("msgstr_plural", int(match.group(1)))
                entry.msgstr_plural[target[1]] = ""
            elif keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
                target = (keyword, None)
                setattr(entry, keyword, "")
            else:
                raise ValueError(f"{path}:{number}: unknown keyword {keyword!r}")
            value = _unquote(rest, path, number)
        name, index = target
        if index is None:
            setattr(entry, name, getattr(entry, name) + value)
        else:
            entry.msgstr_plural[index] += value
    finish()
    return entries


def catalogue(language: str) -> tuple[dict[str, str], list[Entry]]:
    """The header fields and the messages of a language's .po file."""
    entries = parse_po(LOCALE / language / "LC_MESSAGES" / "django.po")
    headers = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    assert len(headers) == 1, "the catalogue needs exactly one header entry"
    fields = dict(line.split(": ", 1) for line in headers[0].msgstr.splitlines() if ": " in line)
    return fields, [e for e in entries if e is not headers[0]]


def nplurals(header: dict[str, str]) -> int:
    match = re.search(r"nplurals\s*=\s*(\d+)", header.get("Plural-Forms", ""))
    assert match, "Plural-Forms header missing"
    return int(match.group(1))


def placeholders(text: str, *, python_format: bool) -> Counter:
    """The placeholders of a message as a multiset; %% is a literal percent sign, not one."""
    found = Counter(BRACE_PLACEHOLDER.findall(text))
    if python_format:
        found.update(PERCENT_PLACEHOLDER.findall(text.replace("%%", "")))
    return found


def edge_whitespace(text: str) -> tuple[str, str]:
    return text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    header, entries = catalogue(language)
    forms = nplurals(header)
    assert entries, "empty catalogue"
    problems = []
    for e in entries:
        if "fuzzy" in e.flags:
            problems.append(f"fuzzy: {e.where()}")
        if e.is_plural and sorted(e.msgstr_plural) != list(range(forms)):
            problems.append(f"{len(e.msgstr_plural)} plural forms, not {forms}: {e.where()}")
        if any(not text for text in e.translations()):
            problems.append(f"untranslated: {e.where()}")
    assert not problems, f"{len(problems)} problem(s) in {language}:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_the_po_file(language):
    """A .po edited after the last compilemessages leaves a stale .mo: the page would differ."""
    header, entries = catalogue(language)
    with open(LOCALE / language / "LC_MESSAGES" / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    # The public API cannot reach every plural slot (Belarusian's fourth form is for fractions);
    # the catalogue dict is how GNUTranslations stores them, keyed (msgid, n) for plurals.
    table = compiled._catalog
    assert compiled.info().get("plural-forms") == header["Plural-Forms"]
    stale = []
    for e in entries:
        key = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.is_plural:
            for index, text in e.msgstr_plural.items():
                if table.get((key, index)) != text:
                    stale.append(f"form {index}: {e.where()}")
        elif table.get(key) != e.msgstr:
            stale.append(e.where())
    assert not stale, (
        f"django.mo of {language} is stale for {len(stale)} message(s); run compilemessages:\n"
        + "\n".join(stale[:40])
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_placeholders_tags_and_edge_whitespace(language):
    _header, entries = catalogue(language)
    problems = []
    for e in entries:
        python_format = "python-format" in e.flags
        sources = [e.msgid] + ([e.msgid_plural] if e.is_plural else [])
        wanted = [placeholders(s, python_format=python_format) for s in sources]
        tags = [sorted(HTML_TAG.findall(s)) for s in sources]
        for index, text in enumerate(e.translations()):
            if not text:
                continue  # reported by the completeness test
            got = placeholders(text, python_format=python_format)
            # A plural form may follow the singular or the plural msgid: Belarusian and
            # Russian use the count in the "one" form too (21 is "one"), English does not.
            if got not in wanted:
                problems.append(f"placeholders {dict(got)} not {dict(wanted[0])}: {e.where()}")
            if sorted(HTML_TAG.findall(text)) not in tags:
                problems.append(f"HTML tags differ (form {index}): {e.where()}")
            source = sources[min(index, len(sources) - 1)]
            if edge_whitespace(text) != edge_whitespace(source):
                problems.append(f"leading/trailing whitespace differs: {e.where()}")
    assert not problems, f"{len(problems)} problem(s) in {language}:\n" + "\n".join(problems)


def test_the_parser_reads_plurals_context_and_continuation_lines(tmp_path):
    """The parser itself: multi-line strings, escapes, msgctxt, plurals and flags."""
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        '#: a.py:1\n#, python-format\nmsgctxt "menu"\nmsgid ""\n"Open %(n)s "\n'
        '"\\"file\\"\\n"\nmsgstr "Адкрыць %(n)s"\n\n'
        'msgid "one"\nmsgid_plural "many"\nmsgstr[0] "адзін"\nmsgstr[1] ""\n\n'
        '#~ msgid "old"\n#~ msgstr "стары"\n',
        encoding="utf-8",
    )
    header, first, second = parse_po(po)
    assert header.msgid == "" and "nplurals=2" in header.msgstr
    assert first.msgctxt == "menu" and first.msgid == 'Open %(n)s "file"\n'
    assert first.msgstr == "Адкрыць %(n)s" and first.flags == {"python-format"}
    assert second.msgid_plural == "many" and second.msgstr_plural == {0: "адзін", 1: ""}
    assert placeholders(first.msgid, python_format=True) == Counter({"%(n)s": 1})
    assert placeholders("50%% of %s and {x}", python_format=True) == Counter({"%s": 1, "{x}": 1})


# Headings and labels of the pages, as msgids: the page in the language must show the
# catalogue's translation of each and not the English text.
HOME_STRINGS = ["Towns of Belarus", "Filter the towns", "All regions", "Legend: typology"]
TOWN_STRINGS = [
    "Key facts",
    "Who governs",
    "What is governed",
    "The gap",
    "Strategy advice",
    "Downloads",
    "Town of regional subordination?",
    "Skip to content",
]
# A few Belarusian strings checked literally, so that a wrong catalogue cannot pass by itself.
BELARUSIAN = {
    "home": ["Гарады Беларусі", "Фільтр гарадоў", "Атлас мясцовага кіравання"],
    "town": ["Хто кіруе", "Чым кіруюць", "Разрыў", "Грамадзянская супольнасць", "Спампоўкі"],
}


def _check_page(body: str, msgids: list[str], translations: dict[str, str]) -> list[str]:
    problems = []
    for msgid in msgids:
        translated = translations.get(msgid)
        if not translated:
            problems.append(f"no translation of {msgid!r} in the catalogue")
            continue
        if translated not in body:
            problems.append(f"missing {translated!r} (for {msgid!r})")
        if f">{msgid}<" in body:
            problems.append(f"English leftover {msgid!r}")
    return problems


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_map_home_and_town_page_speak_the_language(client, language):
    _header, entries = catalogue(language)
    translations = {e.msgid: e.msgstr for e in entries if not e.is_plural and e.msgctxt is None}
    home = client.get(f"/{language}/")
    assert home.status_code == 200
    assert home["Content-Language"] == language
    town = client.get(f"/{language}/towns/pastavy/")
    assert town.status_code == 200
    home_body, town_body = home.content.decode(), town.content.decode()
    assert f'<html lang="{language}"' in home_body
    problems = _check_page(home_body, HOME_STRINGS, translations)
    problems += _check_page(town_body, TOWN_STRINGS, translations)
    if language == "be":
        problems += [f"missing {s!r}" for s in BELARUSIAN["home"] if s not in home_body]
        problems += [f"missing {s!r}" for s in BELARUSIAN["town"] if s not in town_body]
    assert not problems, f"{language}:\n" + "\n".join(problems)
