"""Localized date headers: CLDR month names plus Amazon's quirks; never a guessed date."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pv2simkl.locales import DateParseError, parse_date

CASES = [
    ("April 23, 2024", "en-us", date(2024, 4, 23)),
    ("August 6, 2025", "en-us", date(2025, 8, 6)),
    ("23 April 2024", "en-gb", date(2024, 4, 23)),
    ("23. April 2024", "de-de", date(2024, 4, 23)),
    ("5. März 2024", "de-de", date(2024, 3, 5)),
    ("23 aprile 2024", "it-it", date(2024, 4, 23)),
    ("23 de abril de 2024", "es-es", date(2024, 4, 23)),
    ("23 de abril de 2024", "es-419", date(2024, 4, 23)),
    ("9 juin 2022", "fr-fr", date(2022, 6, 9)),
    ("1er août 2024", "fr-fr", date(2024, 8, 1)),
    ("5 févr. 2024", "fr-fr", date(2024, 2, 5)),
    ("23 de Abril de 2024", "pt-br", date(2024, 4, 23)),
    ("5 de março de 2024", "pt-br", date(2024, 3, 5)),
    ("2024/04/23", "ja-jp", date(2024, 4, 23)),
    ("2024年4月23日", "zh-cn", date(2024, 4, 23)),
    ("2024년 4월 23일", "ko-kr", date(2024, 4, 23)),
    ("Tuesday, April 23, 2024", "en-us", date(2024, 4, 23)),
    ("4/23/2024", "en-us", date(2024, 4, 23)),
    ("23/04/2024", "en-gb", date(2024, 4, 23)),
    ("05. März 2024", "de-de", date(2024, 3, 5)),
]


@pytest.mark.parametrize(("text", "lang", "expected"), CASES)
def test_parses_localized_headers(text: str, lang: str, expected: date) -> None:
    assert parse_date(text, lang) == expected


@pytest.mark.parametrize(("text", "expected"), [(t, d) for t, _, d in CASES if "/" not in t])
def test_parses_without_a_language(text: str, expected: date) -> None:
    assert parse_date(text) == expected


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
    ],
)
def test_unreadable_dates_raise_instead_of_guessing(text: str) -> None:
    with pytest.raises(DateParseError):
        parse_date(text, "en-us")


def test_regression_ust_inside_august_is_not_a_partial_match() -> None:
    # An earlier tool's regex matched "ust 6, 2025" inside "August 6, 2025" and dropped the date.
    assert parse_date("August 6, 2025", "en-us") == date(2025, 8, 6)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)))
def test_round_trip_german_and_french(day: date) -> None:
    de = [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ]
    fr = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ]
    assert parse_date(f"{day.day}. {de[day.month - 1]} {day.year}", "de-de") == day
    first = "1er" if day.day == 1 else str(day.day)
    assert parse_date(f"{first} {fr[day.month - 1]} {day.year}", "fr-fr") == day


@given(st.text(max_size=40))
def test_any_text_either_parses_or_raises_date_parse_error(text: str) -> None:
    try:
        result = parse_date(text, "en-us")
    except DateParseError:
        return
    assert isinstance(result, date)
