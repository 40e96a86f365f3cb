"""Localized date headers read through each locale's CLDR patterns; never a guessed date."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.real_samples import REAL_SAMPLES
from pv2simkl.locales import DateParseError, language_name, parse_date

REAL = REAL_SAMPLES

# The 22 languages Prime Video serves, with the <html lang> Amazon writes for each.
PAGE_LANG = {
    "en": "en-us",
    "de": "de-de",
    "fr": "fr-fr",
    "es": "es-es",
    "it": "it-it",
    "pt": "pt-br",
    "nl": "nl-nl",
    "sv": "sv-se",
    "da": "da-dk",
    "nb": "nb-no",
    "fi": "fi-fi",
    "pl": "pl-pl",
    "cs": "cs-cz",
    "ru": "ru-ru",
    "tr": "tr-tr",
    "ja": "ja-jp",
    "ko": "ko-kr",
    "zh": "zh-cn",
    "hi": "hi-in",
    "ar": "ar-ae",
    "id": "id-id",
    "th": "th-th",
}
# Regional variants whose CLDR patterns differ from their language's.
VARIANTS = {"en_GB": "en-gb", "es_419": "es-419", "pt_PT": "pt-pt", "zh_Hant_TW": "zh-tw"}
ALL_LOCALES = {**PAGE_LANG, **VARIANTS}
# One day in every month, month ends, a leap day and the first of a month (French "1er").
DAYS = [
    date(2024, 1, 31),
    date(2024, 2, 29),
    date(2023, 3, 5),
    date(2024, 4, 23),
    date(2022, 5, 1),
    date(2022, 6, 9),
    date(2025, 7, 14),
    date(2024, 8, 1),
    date(2021, 9, 30),
    date(2019, 10, 10),
    date(2020, 11, 11),
    date(2026, 12, 25),
]
FORMATS = ("long", "medium", "full")
# No deadline: a first example builds the CLDR grammars (half a second for all languages).
COLD_CACHES = settings(deadline=None)


def _cldr_cases() -> list[tuple[str, str, date]]:
    cases = []
    for locale, tag in ALL_LOCALES.items():
        texts: dict[str, date] = {}
        for fmt in FORMATS:
            for day in DAYS:
                texts.setdefault(format_date(day, fmt, locale=locale), day)
        cases += [(text, tag, day) for text, day in texts.items()]
    return cases


@pytest.mark.parametrize(("text", "lang", "expected"), _cldr_cases())
def test_cldr_dates_of_every_language_read_in_their_language(
    text: str, lang: str, expected: date
) -> None:
    assert parse_date(text, lang) == expected


@pytest.mark.parametrize("locale", sorted(ALL_LOCALES))
def test_cldr_long_and_full_dates_read_without_a_language(locale: str) -> None:
    for day in DAYS:
        for fmt in ("long", "full"):
            assert parse_date(format_date(day, fmt, locale=locale)) == day


# The reference's hand-written headers (prime-video.md §7) and shared-shapes' long dates.
HAND_WRITTEN = [
    ("April 23, 2024", "en-us", date(2024, 4, 23)),
    ("April 11, 2020", "en-us", date(2020, 4, 11)),
    ("May 9, 2026", "en-us", date(2026, 5, 9)),
    ("August 2, 2026", "en-us", date(2026, 8, 2)),
    ("August 6, 2025", "en-us", date(2025, 8, 6)),
    ("March 5, 2024", "en-us", date(2024, 3, 5)),
    ("23 April 2024", "en-gb", date(2024, 4, 23)),
    ("5 March 2024", "en-gb", date(2024, 3, 5)),
    ("23. April 2024", "de-de", date(2024, 4, 23)),
    ("5. November 2023", "de-de", date(2023, 11, 5)),
    ("5. März 2024", "de-de", date(2024, 3, 5)),
    ("05. März 2024", "de-de", date(2024, 3, 5)),
    ("23 de abril de 2024", "es-es", date(2024, 4, 23)),
    ("23 de abril de 2024", "es-419", date(2024, 4, 23)),
    ("5 de marzo de 2024", "es-es", date(2024, 3, 5)),
    ("23 avril 2024", "fr-fr", date(2024, 4, 23)),
    ("9 juin 2022", "fr-fr", date(2022, 6, 9)),
    ("25 juin 2022", "fr-fr", date(2022, 6, 25)),
    ("5 mars 2024", "fr-fr", date(2024, 3, 5)),
    ("1 août 2024", "fr-fr", date(2024, 8, 1)),
    ("1er août 2024", "fr-fr", date(2024, 8, 1)),
    ("5 févr. 2024", "fr-fr", date(2024, 2, 5)),
    ("23 aprile 2024", "it-it", date(2024, 4, 23)),
    ("5 marzo 2024", "it-it", date(2024, 3, 5)),
    ("23 de Abril de 2024", "pt-br", date(2024, 4, 23)),
    ("23 de abril de 2024", "pt-pt", date(2024, 4, 23)),
    ("5 de março de 2024", "pt-br", date(2024, 3, 5)),
    ("23 de abril, de 2024", "pt-br", date(2024, 4, 23)),
    ("2024/04/23", "ja-jp", date(2024, 4, 23)),
    ("2024/03/05", "ja-jp", date(2024, 3, 5)),
    ("2024年4月23日", "zh-cn", date(2024, 4, 23)),
    ("2024年4月23日", "zh-tw", date(2024, 4, 23)),
    ("2024년 4월 23일", "ko-kr", date(2024, 4, 23)),
    ("23 april 2024", "nl-nl", date(2024, 4, 23)),
    ("23 april 2024", "sv-se", date(2024, 4, 23)),
    ("23. april 2024", "da-dk", date(2024, 4, 23)),
    ("23. april 2024", "nb-no", date(2024, 4, 23)),
    ("23. huhtikuuta 2024", "fi-fi", date(2024, 4, 23)),
    ("23 kwietnia 2024", "pl-pl", date(2024, 4, 23)),
    ("23. dubna 2024", "cs-cz", date(2024, 4, 23)),
    ("23 апреля 2024 г.", "ru-ru", date(2024, 4, 23)),
    ("23 Nisan 2024", "tr-tr", date(2024, 4, 23)),
    ("23 अप्रैल 2024", "hi-in", date(2024, 4, 23)),
    ("٢٣ أبريل ٢٠٢٤", "ar-ae", date(2024, 4, 23)),
    ("23 أبريل 2024", "ar-ae", date(2024, 4, 23)),
    ("23 April 2024", "id-id", date(2024, 4, 23)),
    ("23 เมษายน 2024", "th-th", date(2024, 4, 23)),
    ("23 เมษายน 2567", "th-th", date(2024, 4, 23)),
    ("Tuesday, April 23, 2024", "en-us", date(2024, 4, 23)),
    ("4/23/2024", "en-us", date(2024, 4, 23)),
    ("23/04/2024", "en-gb", date(2024, 4, 23)),
]


@pytest.mark.parametrize(("text", "lang", "expected"), HAND_WRITTEN)
def test_hand_written_headers(text: str, lang: str, expected: date) -> None:
    assert parse_date(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [(t, d) for t, _, d in HAND_WRITTEN if not re.search(r"\d/\d", t)]
)
def test_hand_written_headers_without_a_language(text: str, expected: date) -> None:
    assert parse_date(text) == expected


def test_real_spanish_page_dates_read_in_its_language() -> None:
    page = (REAL / "saved-page-es.html").read_text(encoding="utf-8")
    lang = re.search(r'<html[^>]* lang="([^"]+)"', page)[1]
    headers = re.findall(r'data-automation-id="wh-date-([^"]+)"', page)
    assert [parse_date(h, lang) for h in headers] == [
        date(2024, 4, 23),
        date(2024, 7, 5),
        date(2025, 2, 12),
    ]


def test_real_french_json_headers_are_the_paris_days_of_their_watches() -> None:
    reply = json.loads((REAL / "history-json-fr-2022.json").read_text(encoding="utf-8"))
    sections = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("date"), str) and isinstance(node.get("titles"), list):
                sections.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(reply)
    assert len(sections) == 8
    paris = ZoneInfo("Europe/Paris")
    for section in sections:
        watched = datetime.fromtimestamp(section["titles"][0]["time"] / 1000, paris).date()
        assert parse_date(section["date"], "fr-fr") == watched


def test_russian_year_suffix_g() -> None:
    # The CLDR long date ends in "г." (год); it was read as an unknown word and the date lost.
    assert parse_date("23 апреля 2024 г.", "ru-ru") == date(2024, 4, 23)
    assert parse_date("31 августа 2026 г.", "ru-ru") == date(2026, 8, 31)
    assert parse_date("вторник, 23 апреля 2024 г.", "ru-ru") == date(2024, 4, 23)
    assert parse_date("23 апреля 2024", "ru-ru") == date(2024, 4, 23)


def test_czech_dates() -> None:
    # Genitive month names (CLDR "format") and the dot after the day; nominative too.
    months = "ledna února března dubna května června července srpna září října listopadu prosince"
    for number, name in enumerate(months.split(), start=1):
        assert parse_date(f"5. {name} 2024", "cs-cz") == date(2024, number, 5)
        assert parse_date(f"5. {name} 2024") == date(2024, number, 5)
    assert parse_date("23. duben 2024", "cs-cz") == date(2024, 4, 23)
    assert parse_date("úterý 23. dubna 2024", "cs-cz") == date(2024, 4, 23)
    assert parse_date("23. 4. 2024", "cs-cz") == date(2024, 4, 23)


@pytest.mark.parametrize("locale", sorted(ALL_LOCALES))
def test_unknown_language_does_not_match_a_few_months(locale: str) -> None:
    # A page in a language outside the old fallback list read the months whose names
    # happened to match another language and dropped the rest. Every month must read.
    for lang in (None, "xx-unknown"):
        read = [
            parse_date(format_date(date(2024, m, 23), "long", locale=locale), lang)
            for m in range(1, 13)
        ]
        assert read == [date(2024, m, 23) for m in range(1, 13)]


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        ("ro", "ro-ro"),
        ("hr", "hr-hr"),
        ("uk", "uk-ua"),
        ("hu", "hu-hu"),
        ("el", "el-gr"),
        ("he", "he-il"),
    ],
)
def test_any_language_cldr_knows_reads_all_twelve_months(locale: str, lang: str) -> None:
    # Not a fixed list: whatever <html lang> says, its CLDR data reads the page.
    days = [date(2024, m, 23) for m in range(1, 13)]
    assert [parse_date(format_date(d, "long", locale=locale), lang) for d in days] == days


def test_a_known_language_is_read_in_that_language_only() -> None:
    # No fallback to a language whose day/month order differs, nor to another's months.
    assert parse_date("04/05/2024", "en-us") == date(2024, 4, 5)
    assert parse_date("04/05/2024", "en-gb") == date(2024, 5, 4)
    with pytest.raises(DateParseError, match="German"):
        parse_date("23 апреля 2024 г.", "de-de")


def test_ambiguous_date_without_a_language_raises() -> None:
    with pytest.raises(DateParseError, match="2024-04-05 or 2024-05-04"):
        parse_date("04/05/2024")


def test_non_latin_digits_read_as_digits() -> None:
    assert parse_date("२३ अप्रैल २०२४", "hi-in") == date(2024, 4, 23)
    assert parse_date("๒๓ เมษายน ๒๕๖๗", "th-th") == date(2024, 4, 23)
    assert parse_date("\u200f٢٣\u200f/\u200f٠٤\u200f/\u200f٢٠٢٤", "ar-ae") == date(2024, 4, 23)


def test_thai_buddhist_era_years() -> None:
    assert parse_date("23 เมษายน พ.ศ. 2567", "th-th") == date(2024, 4, 23)
    assert parse_date("วันอังคารที่ 23 เมษายน 2567", "th-th") == date(2024, 4, 23)
    assert parse_date("23 เมษายน ค.ศ. 2024", "th-th") == date(2024, 4, 23)


@pytest.mark.parametrize(
    ("text", "lang", "message"),
    [
        (
            "31 августа 2026 xyz",
            "ru-ru",
            "'31 августа 2026 xyz' could not be read .* Russian \\(ru-ru\\)",
        ),
        ("Dezember", "de-de", "'Dezember' could not be read as a date in German \\(de-de\\)"),
        ("31 February 2024", "en-us", "not a real calendar date in English \\(en-us\\)"),
        ("Monday, April 23, 2024", "en-us", "weekday"),
        ("Blah 2024", None, "known locales \\(no language given\\)"),
        ("Blah 2024", "xx-yy", "unknown language \\(xx-yy\\)"),
    ],
)
def test_errors_name_the_text_and_the_language(text: str, lang: str | None, message: str) -> None:
    with pytest.raises(DateParseError, match=message):
        parse_date(text, lang)


@pytest.mark.parametrize(
    "text",
    [
        "Dezember",
        "ust 6, 2025x",
        "31 February 2024",
        "Today",
        "",
        "April 2024",
        "23 April May 2024",
        "12345",
        "2024/13/40",
        "20240423",
        "April 23, 2024" * 10,
    ],
)
def test_unreadable_dates_raise_instead_of_guessing(text: str) -> None:
    with pytest.raises(DateParseError):
        parse_date(text, "en-us")


def test_regression_ust_inside_august_is_not_a_partial_match() -> None:
    # An earlier tool's regex matched "ust 6, 2025" inside "August 6, 2025" and dropped the date.
    assert parse_date("August 6, 2025", "en-us") == date(2025, 8, 6)


@pytest.mark.parametrize(
    ("lang", "name"),
    [
        ("ru-ru", "Russian (ru-ru)"),
        ("es-419", "Spanish (es-419)"),
        ("zh-tw", "Chinese (zh-tw)"),
        ("pt_BR", "Portuguese (pt_BR)"),
        ("xx-yy", "an unknown language (xx-yy)"),
        (None, "no language given"),
    ],
)
def test_language_name(lang: str | None, name: str) -> None:
    assert language_name(lang) == name


@COLD_CACHES
@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    st.sampled_from(sorted(ALL_LOCALES)),
    st.sampled_from(FORMATS),
)
def test_any_babel_date_parses_back(day: date, locale: str, fmt: str) -> None:
    assert parse_date(format_date(day, fmt, locale=locale), ALL_LOCALES[locale]) == day


# Decimal digits of scripts Amazon's pages may use, zero first.
SCRIPT_DIGITS = {"ar-ae": "٠١٢٣٤٥٦٧٨٩", "hi-in": "०१२३४५६७८९", "th-th": "๐๑๒๓๔๕๖๗๘๙"}


@COLD_CACHES
@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    st.sampled_from(sorted(SCRIPT_DIGITS)),
)
def test_native_digits_parse_back(day: date, lang: str) -> None:
    text = format_date(day, "long", locale=lang.split("-")[0])
    native = text.translate(str.maketrans("0123456789", SCRIPT_DIGITS[lang]))
    assert parse_date(native, lang) == day


@COLD_CACHES
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_thai_buddhist_era_round_trip(day: date) -> None:
    month = format_date(day, "MMMM", locale="th")
    assert parse_date(f"{day.day} {month} {day.year + 543}", "th-th") == day


@COLD_CACHES
@given(st.text(max_size=40), st.sampled_from([None, *PAGE_LANG.values()]))
def test_any_text_either_parses_or_raises_date_parse_error(text: str, lang: str | None) -> None:
    try:
        result = parse_date(text, lang)
    except DateParseError:
        return
    assert isinstance(result, date)
