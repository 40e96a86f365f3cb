"""Localized dates of the watch-history page, read through CLDR (Babel) for the page's language.

Amazon writes each date section's header in the account language: ``April 23, 2024``,
``23. April 2024``, ``23 de abril de 2024``, ``23 апреля 2024 г.``, ``2024년 4월 23일``,
``٢٣ أبريل ٢٠٢٤``. Every language Babel knows is read the same way: its own CLDR date
patterns (full, long, medium, short), literal parts included (``г.``, ``년 월 일``, ``年月日``,
``de``, ``den``, the dot after a day number), and its month names in every context and width
(genitive forms such as ``апреля``, ``dubna``, ``kwietnia`` or ``huhtikuuta`` are CLDR's
"format" names). Digits of any script are read as digits. Amazon's own quirks come on top:
ja-JP ``2024/04/23``, capitalised Portuguese months, French ``1er``, Thai Buddhist-era years.

A date that cannot be read, or that reads as two different days, raises
:class:`DateParseError`; nothing is ever guessed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from babel import Locale, UnknownLocaleError
from babel.dates import tokenize_pattern

# The languages Prime Video serves (and their regional variants whose date patterns differ).
# A date of a page whose language is not given, or is unknown to CLDR, is read in all of them.
KNOWN_LOCALES = (
    "en",
    "en_GB",
    "de",
    "fr",
    "es",
    "es_419",
    "it",
    "pt",
    "pt_PT",
    "nl",
    "sv",
    "da",
    "nb",
    "fi",
    "pl",
    "cs",
    "ru",
    "tr",
    "ja",
    "ko",
    "zh",
    "zh_Hant",
    "hi",
    "ar",
    "id",
    "th",
)

_CLDR_FORMATS = ("full", "long", "medium", "short")
# Read in every language: ISO days, which exporters write whatever the page's language.
_ISO_PATTERN = "y-MM-dd"
# Amazon's forms that CLDR does not have (reference §7.1).
_AMAZON_PATTERNS = {
    "ja": ("y/MM/dd", "y/M/d"),
    "pt": ("d 'de' MMMM, 'de' y",),
}
# Ordinal endings written after a day number (after NFKC: "1º" is "1o").
_DAY_SUFFIXES = {
    "en": ("st", "nd", "rd", "th"),
    "fr": ("er", "re"),
    "es": ("o", "°"),
    "pt": ("o", "°"),
    "it": ("o", "°"),
}
# Era names CLDR's Gregorian calendar lacks: the Thai Buddhist era ("พ.ศ.").
_EXTRA_ERAS = {"th": ("พ.ศ.",)}
_BUDDHIST_ERA_LANGUAGES = frozenset({"th"})
_BUDDHIST_ERA_OFFSET = 543
_BUDDHIST_ERA_FROM = 2400  # a Thai year this large is a Buddhist-era year

_DAY = r"(?<![0-9])(?P<d>[0-9]{1,2})(?![0-9])"
_MONTH_NUMBER = r"(?<![0-9])(?P<m>[0-9]{1,2})(?![0-9])"
_YEAR = r"(?<![0-9])(?P<y>[0-9]{4})(?![0-9])"
_GAP = r"[\s,]*"
# Longer than any date header of any language, weekday and era included.
_MAX_LENGTH = 80


class DateParseError(ValueError):
    """A date header that does not read as one calendar date."""


def fold(text: str) -> str:
    """The form dates and names are compared in: NFKC, casefolded, digits of any script
    as ASCII digits, invisible direction marks removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = unicodedata.normalize("NFKC", text.casefold()).replace("\u0307", "")
    chars = []
    for ch in text:
        if ch.isdecimal():
            chars.append(str(unicodedata.decimal(ch)))
        elif unicodedata.category(ch) != "Cf":
            chars.append(ch)
    return " ".join("".join(chars).split())


@functools.cache
def babel_locale(lang: str | None) -> Locale | None:
    """``de-de`` / ``pt_BR`` / ``es-419`` / ``zh-tw`` → a Babel locale, or None when unknown.

    An unknown region falls back to its language (``fr-xx`` → ``fr``).
    """
    parts = [p for p in re.split(r"[-_]", (lang or "").strip()) if p]
    if not parts or not parts[0].isalpha():
        return None
    tags = [parts[0].lower()]
    for part in parts[1:]:
        tags.append(part.title() if len(part) == 4 else part.upper())
    for candidate in ("_".join(tags), tags[0]):
        try:
            return Locale.parse(candidate)
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return None


def language_name(lang: str | None) -> str:
    """An English name for messages: ``Russian (ru-ru)``; ``an unknown language (xx-yy)``."""
    loc = babel_locale(lang)
    if loc is None:
        return f"an unknown language ({lang})" if lang else "no language given"
    name = Locale(loc.language).english_name or loc.language
    return f"{name} ({lang})"


@dataclass(frozen=True)
class _Grammar:
    """How one locale writes dates: compiled patterns and the names they refer to."""

    language: str
    patterns: tuple[re.Pattern[str], ...]
    months: dict[str, int]
    weekdays: dict[str, int]

    def readings(self, text: str) -> tuple[set[date], list[str]]:
        """Every day ``text`` (already folded) reads as, and why the patterns that matched
        its shape gave no day (``31 February``, a weekday that is not that day's)."""
        found: set[date] = set()
        problems: list[str] = []
        for pattern in self.patterns:
            m = pattern.fullmatch(text)
            if m is None:
                continue
            day = self._day(m)
            if isinstance(day, date):
                found.add(day)
            else:
                problems.append(day)
        return found, problems

    def _day(self, m: re.Match[str]) -> date | str:
        """The day a match names, or why it names none."""
        fields = m.groupdict()
        month = int(fields["m"]) if fields.get("m") else self.months.get(fields.get("mn") or "")
        year = int(fields["y"])
        if self.language in _BUDDHIST_ERA_LANGUAGES and year >= _BUDDHIST_ERA_FROM:
            year -= _BUDDHIST_ERA_OFFSET
        try:
            day = date(year, month or 0, int(fields["d"]))
        except ValueError:
            return "is not a real calendar date"
        weekday = fields.get("wd")
        if weekday and self.weekdays.get(weekday) != day.weekday():
            return f"names a weekday that {day.isoformat()} is not"
        return day


def _names(groups: Iterable[dict[int, str]]) -> dict[str, int]:
    """Folded name (without a trailing dot) → number; a name meaning two numbers is left out."""
    table: dict[str, set[int]] = {}
    for group in groups:
        for number, name in group.items():
            table.setdefault(fold(name).rstrip("."), set()).add(number)
    return {name: next(iter(n)) for name, n in table.items() if len(n) == 1 and name}


def _alternation(names: Iterable[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


def _literal(text: str) -> str:
    """A pattern's literal part as a lenient regex: spaces and commas may vary, punctuation
    and words (``de``, ``г.``, ``年``) may be left out, nothing else may stand there."""
    out = []
    word = ""

    def flush() -> None:
        if fold(word):
            out.append(f"(?:{re.escape(fold(word))})?")

    for ch in text:
        category = unicodedata.category(ch)
        if ch.isspace() or ch == "," or category == "Cf":
            flush()
            out.append("" if category == "Cf" else _GAP)
            word = ""
        elif category.startswith("P"):
            flush()
            out.append(f"(?:{re.escape(fold(ch))})?")
            word = ""
        else:
            word += ch
    flush()
    return "".join(out)


def _field(char: str, count: int, loc: Locale, grammar_names: dict[str, str]) -> str | None:
    """One pattern field as a regex; None for a field a date header never has (time…)."""
    if char == "d":
        suffixes = _DAY_SUFFIXES.get(loc.language, ())
        tail = f"(?:{_alternation(suffixes)})?" if suffixes else ""
        return _DAY + tail
    if char in "ML":
        return _MONTH_NUMBER if count <= 2 else rf"(?P<mn>{grammar_names['months']})\.?"
    if char in "yYu":
        return _YEAR
    if char in "Eec" and (count >= 3 or char == "E"):
        return rf"(?P<wd>{grammar_names['weekdays']})\.?"
    if char == "G":
        return rf"(?:{grammar_names['eras']})?"
    return None


def _compile(pattern: str, loc: Locale, names: dict[str, str]) -> re.Pattern[str] | None:
    """A CLDR date pattern (``d MMMM y 'г'.``) as a regex over folded text."""
    parts = []
    for kind, value in tokenize_pattern(pattern):
        if kind == "chars":
            parts.append(_literal(value))
            continue
        regex = _field(value[0], value[1], loc, names)
        if regex is None:
            return None
        parts.append(regex)
    body = _GAP + "".join(parts) + _GAP
    while _GAP + _GAP in body:  # one gap, not several in a row that backtrack among each other
        body = body.replace(_GAP + _GAP, _GAP)
    return re.compile(body)


def _patterns(loc: Locale) -> list[str]:
    """The date patterns of ``loc``: its CLDR ones, Amazon's, the ISO day, and the patterns
    with month names of the language's other Prime Video variants (``23 April 2024`` on an
    ``en-us`` page). Numeric patterns of other variants are left out: their day/month order
    may differ."""
    own = [loc.date_formats[f].pattern for f in _CLDR_FORMATS]
    own += [*_AMAZON_PATTERNS.get(loc.language, ()), _ISO_PATTERN]
    for other in KNOWN_LOCALES:
        variant = Locale.parse(other)
        if variant.language == loc.language and str(variant) != str(loc):
            own += [
                variant.date_formats[f].pattern
                for f in _CLDR_FORMATS
                if "MMM" in variant.date_formats[f].pattern
            ]
    return list(dict.fromkeys(own))


@functools.cache
def _grammar(locale_id: str) -> _Grammar:
    loc = Locale.parse(locale_id)
    months = _names(
        loc.months[c][w] for c in ("format", "stand-alone") for w in ("wide", "abbreviated")
    )
    weekdays = _names(
        loc.days[c][w] for c in ("format", "stand-alone") for w in ("wide", "abbreviated", "short")
    )
    eras = {fold(loc.eras[w][1]) for w in ("wide", "abbreviated", "narrow")}
    eras.update(fold(e) for e in _EXTRA_ERAS.get(loc.language, ()))
    names = {
        "months": _alternation(months),
        "weekdays": _alternation(weekdays),
        "eras": _alternation(eras),
    }
    compiled = (_compile(p, loc, names) for p in _patterns(loc))
    return _Grammar(loc.language, tuple(p for p in compiled if p), months, weekdays)


def _grammars(lang: str | None) -> tuple[_Grammar, ...]:
    loc = babel_locale(lang)
    ids = (str(loc),) if loc is not None else KNOWN_LOCALES
    return tuple(_grammar(i) for i in ids)


def parse_date(text: str, lang: str | None = None) -> date:
    """Read one localized date header; raise :class:`DateParseError` unless it is one day.

    ``lang`` is the page's ``<html lang>`` (``en-us``, ``ru-ru``, ``es-419`` …): when CLDR
    knows it, the date is read in that language only, so that no other language's day/month
    order can misread it. Without a known ``lang`` every language of :data:`KNOWN_LOCALES`
    is tried and the date must read as the same day in all that read it.
    """
    return _parse(text or "", (lang or "").strip().lower() or None)


@functools.lru_cache(maxsize=1 << 14)
def _parse(text: str, lang: str | None) -> date:
    folded = fold(text)
    if not folded:
        raise DateParseError("the date is empty")
    if len(folded) > _MAX_LENGTH:
        raise DateParseError(f"{text[:40]!r}… is too long to be a date")
    found: set[date] = set()
    problems: list[str] = []
    for grammar in _grammars(lang):
        days, why = grammar.readings(folded)
        found |= days
        problems += why
    if len(found) == 1:
        return next(iter(found))
    raise DateParseError(_failure(text, lang, found, problems))


def _failure(text: str, lang: str | None, found: set[date], problems: list[str]) -> str:
    """The one sentence that says why ``text`` is not one day."""
    known = babel_locale(lang) is not None
    where = (
        f"in {language_name(lang)}"
        if known
        else f"in any of {len(KNOWN_LOCALES)} known locales ({language_name(lang)})"
    )
    if len(found) > 1:
        days = " or ".join(sorted(d.isoformat() for d in found))
        return f"{text!r} reads as {days} {where}; the page's language decides which"
    if problems:
        return f"{text!r} {problems[0]} {where}"
    return f"{text!r} could not be read as a date {where}"
