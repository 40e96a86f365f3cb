"""Localized dates of the watch-history page, read with CLDR month names (Babel).

Amazon writes each date section's header in the account language: ``April 23, 2024``,
``23. April 2024``, ``23 de abril de 2024``, ``1er août 2024``, ``2024/04/23``. Month
names come from CLDR for any locale; the order of numeric dates from the locale's
short date pattern; Amazon's own quirks (ja-JP ``yyyy/mm/dd``, capitalised Portuguese
months, French ``1er``) are handled on top. A date that cannot be read raises
:class:`DateParseError`; nothing is ever guessed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date

from babel import Locale, UnknownLocaleError

# Locales tried, after the page's own, when a source does not say its language.
KNOWN_LOCALES = (
    "en_US",
    "en_GB",
    "de_DE",
    "it_IT",
    "es_ES",
    "fr_FR",
    "pt_BR",
    "pt_PT",
    "ja_JP",
    "nl_NL",
    "pl_PL",
    "sv_SE",
    "da_DK",
    "nb_NO",
    "fi_FI",
    "tr_TR",
    "ko_KR",
    "zh_CN",
)

# Words that may stand between the parts of a date and carry no meaning.
_FILLERS = {"de", "del", "of", "the", "le", "la", "el", "den", "der", "am", "em", "do", "da"}
# Ordinal suffixes written right after the day number (fr "1er", en "1st", pt "1º").
_ORDINALS = {"er", "re", "st", "nd", "rd", "th", "º", "ª", "o", "a", "e"}

_TOKEN = re.compile(r"\d+|[^\W\d_]+")
_CJK = re.compile(r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?")


class DateParseError(ValueError):
    """A date header that does not read as one calendar date."""


def _fold(word: str) -> str:
    return unicodedata.normalize("NFKC", word).casefold().rstrip(".")


def babel_locale(lang: str | None) -> Locale | None:
    """``de-de`` / ``pt_BR`` / ``es-419`` → a Babel locale, or None when unknown."""
    if not lang:
        return None
    try:
        return Locale.parse(lang.replace("-", "_"), sep="_")
    except (UnknownLocaleError, ValueError, TypeError):
        try:
            return Locale.parse(lang.replace("-", "_").split("_")[0])
        except (UnknownLocaleError, ValueError, TypeError):
            return None


@functools.cache
def month_names(lang: str | None) -> dict[str, frozenset[int]]:
    """Folded month name (wide and abbreviated, format and stand-alone) → month numbers.

    With no usable ``lang`` the table covers every locale in :data:`KNOWN_LOCALES`; a
    name that means different months in different languages maps to several numbers
    and is then rejected as ambiguous.
    """
    locales = (
        [babel_locale(lang)] if babel_locale(lang) else [Locale.parse(x) for x in KNOWN_LOCALES]
    )
    table: dict[str, set[int]] = {}
    for loc in locales:
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in loc.months[context][width].items():
                    table.setdefault(_fold(name), set()).add(number)
    return {k: frozenset(v) for k, v in table.items()}


@functools.cache
def _day_names(lang: str | None) -> frozenset[str]:
    loc = babel_locale(lang)
    locales = [loc] if loc else [Locale.parse(x) for x in KNOWN_LOCALES]
    names = set()
    for each in locales:
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                names.update(_fold(n) for n in each.days[context][width].values())
    return frozenset(names)


@functools.cache
def _numeric_order(lang: str | None) -> str:
    """ "dmy" or "mdy" from the locale's short date pattern (``M/d/yy`` → mdy)."""
    loc = babel_locale(lang)
    if loc is None:
        return "dmy"
    pattern = loc.date_formats["short"].pattern
    d, m = pattern.find("d"), pattern.find("M")
    return "mdy" if 0 <= m < d else "dmy"


def _make(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateParseError(f"{text!r} is not a real calendar date") from None


def parse_date(text: str, lang: str | None = None) -> date:
    """Read one localized date header; raise :class:`DateParseError` if it is not one date.

    ``lang`` is the page's ``<html lang>`` (``en-us``, ``de-de``, ``ja-jp`` …). When the
    page's language does not read the text, every known locale is tried.
    """
    try:
        return _parse(text, lang)
    except DateParseError:
        if lang is None:
            raise
        return _parse(text, None)


def _parse(text: str, lang: str | None) -> date:
    clean = unicodedata.normalize("NFKC", text or "").strip()
    if not clean:
        raise DateParseError("the date is empty")
    cjk = _CJK.search(clean)
    if cjk:
        return _make(int(cjk[1]), int(cjk[2]), int(cjk[3]), text)
    tokens = _TOKEN.findall(clean)
    numbers = [t for t in tokens if t.isdigit()]
    words = [_fold(t) for t in tokens if not t.isdigit()]
    table = month_names(lang)
    days = _day_names(lang)
    months: list[frozenset[int]] = []
    for word in words:
        if word in table:
            months.append(table[word])
        elif word in _FILLERS or word in _ORDINALS or word in days:
            continue
        else:
            raise DateParseError(f"{text!r} has the word {word!r}, which is no month name")
    if len(months) > 1:
        raise DateParseError(f"{text!r} names more than one month")
    if months:
        if len(months[0]) != 1:
            raise DateParseError(f"{text!r}: the month name is ambiguous without the page language")
        (month,) = months[0]
        years = [n for n in numbers if len(n) == 4]
        others = [n for n in numbers if len(n) != 4]
        if len(years) != 1 or len(others) != 1 or len(others[0]) > 2:
            raise DateParseError(f"{text!r} does not have exactly one day and one year")
        return _make(int(years[0]), month, int(others[0]), text)
    if len(numbers) != 3:
        raise DateParseError(f"{text!r} is not a date this tool can read")
    a, b, c = numbers
    if len(a) == 4:  # yyyy/mm/dd (Amazon's ja-JP), ISO
        return _make(int(a), int(b), int(c), text)
    if len(c) != 4:
        raise DateParseError(f"{text!r} has no four-digit year")
    if _numeric_order(lang) == "mdy":
        return _make(int(c), int(a), int(b), text)
    return _make(int(c), int(b), int(a), text)
