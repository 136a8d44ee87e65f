"""Text helpers shared by every app: a search key that matches any spelling of a name."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import cyrtranslit
from django.db.models import Q

_APOSTROPHES = re.compile(r"[\u2019\u02bc\u02b9'`\u00b4\u2018]")
_SPACES = re.compile(r"\s+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def fold(text: str) -> str:
    """Lower-case, drop apostrophes and Latin diacritics (ŭ→u, ł→l), keep Cyrillic letters.

    Used on both sides of a search so that ``Lyepyel’``, ``Lyepyel'`` and ``lyepyel`` meet.
    """
    text = _APOSTROPHES.sub("", text or "").lower().replace("ł", "l")
    out = []
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            # Keep the combining breve of Cyrillic й/ў, which NFKD splits off.
            if ch == "\u0306" and out and _CYRILLIC.match(out[-1]):
                out.append(ch)
            continue
        out.append(ch)
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", "".join(out))).strip()


def spellings(names: Iterable[str]) -> list[str]:
    """Every folded spelling of ``names``, with Latin transliterations of Cyrillic ones."""
    seen: dict[str, None] = {}
    for name in names:
        if not name:
            continue
        seen[fold(name)] = None
        if _CYRILLIC.search(name):
            for lang in ("ru", "by"):
                seen[fold(cyrtranslit.to_latin(name, lang))] = None
    return list(seen)


def search_key(names: Iterable[str]) -> str:
    """One text holding every spelling, separated by ``|``, for a trigram-indexed lookup."""
    return "|".join(spellings(names))


# --- Search: any spelling of a name ----------------------------------------------------------
#
# The stored search key of a town or CSO (governance.text.search_key) holds every name folded,
# plus the Latin transliterations of its Cyrillic names. That covers a Latin query for a name
# stored in Cyrillic. The other direction is the query's job: a Cyrillic query for a name stored
# only in Latin, and a Łacinka query ("Hłybokaje", "Lepiel") whose spelling no transliteration
# of the stored Cyrillic produces. So the query is looked for in several spellings at once.

_LATIN_TO_CYRILLIC = {
    "a": "а", "b": "б", "c": "ц", "č": "ч", "d": "д", "e": "э", "f": "ф", "g": "г", "h": "г",
    "i": "і", "k": "к", "ł": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "к", "r": "р",
    "s": "с", "š": "ш", "t": "т", "u": "у", "ŭ": "ў", "v": "в", "w": "в", "x": "кс", "y": "ы",
    "z": "з", "ž": "ж",
}  # fmt: skip
#: Vowels after j, after a soft consonant or after "i" that softens: я е ё ю.
_IOTATED = {"a": "я", "e": "е", "o": "ё", "u": "ю"}
#: Łacinka's soft consonants and their Cyrillic letter (the softness is a soft sign or the
#: iotated vowel that follows).
_SOFT = {"ć": "ц", "ś": "с", "ź": "з", "ń": "н", "l": "л"}
_LATIN_VOWELS = set("aeiouyŭ")
_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f]")


def lacinka_to_cyrillic(text: str, *, soft_sign_before_consonant: bool = True) -> str:
    """Belarusian Łacinka (or a plain-Latin approximation of it) → Belarusian Cyrillic.

    "Hłybokaje" → "глыбокае", "Lepiel" → "лепель", "Mscisłaŭ" → "мсціслаў". ``l`` is soft
    (ль, or ля/ле/лё/лю before a vowel) and ``ł`` hard (л), as in Łacinka; ``ia``/``ie``/``io``/
    ``iu`` after a consonant and ``ja``/``je``/``jo``/``ju`` give я/е/ё/ю. A soft consonant
    before another consonant keeps its soft sign in the classical orthography ("Niaśviž" →
    "нясьвіж") and loses it in the official one (``soft_sign_before_consonant=False``:
    "нясвіж"), so callers look for both.
    """
    s = (text or "").lower()
    out: list[str] = []
    i = 0
    while i < len(s):
        ch = s[i]
        nxt = s[i + 1] if i + 1 < len(s) else ""
        prev = s[i - 1] if i else ""
        if ch == "c" and nxt == "h":
            out.append("х")
            i += 2
            continue
        if ch == "j":
            if nxt in _IOTATED:
                out.append(_IOTATED[nxt])
                i += 2
            elif nxt == "i":
                out.append("і")
                i += 2
            else:
                out.append("й")
                i += 1
            continue
        if ch == "i" and nxt in _IOTATED and prev.isalpha() and prev not in _LATIN_VOWELS:
            out.append(_IOTATED[nxt])  # the i only marks the consonant before it as soft
            i += 2
            continue
        if ch in _SOFT:
            base = _SOFT[ch]
            if ch == "l" and nxt in _IOTATED:
                out.append(base + _IOTATED[nxt])
                i += 2
                continue
            if nxt == "i" or (ch == "l" and nxt == "y"):
                out.append(base)
            elif nxt.isalpha() and nxt not in _LATIN_VOWELS:
                soft_next = nxt in _SOFT or (nxt == "d" and s[i + 2 : i + 3] == "ź")
                keep = soft_sign_before_consonant and not soft_next
                out.append(base + ("ь" if keep else ""))
            else:
                out.append(base + "ь")
            i += 1
            continue
        out.append(_LATIN_TO_CYRILLIC.get(ch, ch))
        i += 1
    return "".join(out)


def search_keys(query: str) -> list[str]:
    """The folded spellings of ``query`` to look for in a stored search key.

    The query as typed; for a Cyrillic query its Latin transliterations (Russian and
    Belarusian systems of cyrtranslit, as the stored keys use); for a Latin query its
    Belarusian Cyrillic reading as Łacinka (with and without soft signs before consonants).
    """
    query = (query or "").strip()[:100]
    keys = {fold(query): None}
    if _CYRILLIC.search(query):
        for lang in ("ru", "by"):
            keys[fold(cyrtranslit.to_latin(query, lang))] = None
    if _LATIN.search(query):
        for soft in (True, False):
            keys[fold(lacinka_to_cyrillic(query, soft_sign_before_consonant=soft))] = None
    return [k for k in keys if k]


def search_filter(query: str, field: str = "search_text") -> Q | None:
    """A filter matching ``field`` (a stored search key) against any spelling of ``query``;
    None for an empty query. One ``LIKE`` per spelling, all served by the trigram index."""
    keys = search_keys(query)
    if not keys:
        return None
    where = Q()
    for key in keys:
        where |= Q(**{f"{field}__contains": key})
    return where
