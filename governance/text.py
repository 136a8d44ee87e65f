"""Text helpers shared by every app: a search key that matches any spelling of a name."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import cyrtranslit

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
