"""No byte string makes an importer raise anything but pv2simkl's own ParseError.

No example has a deadline: Hypothesis's 200 ms per example is a wall-clock check that a
loaded machine fails. Slow inputs are bench/fuzz.py's to find (a hang is over 30 s).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pv2simkl.errors import ParseError
from pv2simkl.formats import FORMATS, UnexpectedInputError, parse_bytes, parse_zip
from pv2simkl.formats.events import FIRST_YEAR, last_year

PAGE_HEAD = (
    b'<!DOCTYPE html><html lang="en-us"><body><div data-automation-id="activity-history-items">'
)
JSON_HEAD = b'{"widgets":[{"widgetType":"watch-history","content":{"content":{"titles":'
CSV_HEADS = [
    b"Playback Hour,Operating System,Browser,Delivery Type,City,Country,ISP,State,"
    b"Content Quality Entitled,Entitlement Type,Video Type,Audio Language,Title\n",
    b'"Playback Start Datetime (UTC)","Playback End Datetime (UTC)","Title","Seconds Viewed"\n',
    b"Date Watched,Type,Title,Episode Title,Global Title Identifier\n",
]
prefixes = st.sampled_from([b"", PAGE_HEAD, JSON_HEAD, *CSV_HEADS, b"PK\x03\x04"])


def _check(data: bytes) -> None:
    """Every entry refuses ``data`` with a ParseError of its own, never another exception
    and never one the last-resort net had to make (``UnexpectedInputError``)."""
    attempts = [lambda: parse_bytes(data, "fuzz"), lambda: parse_zip(data, "fuzz.zip")]
    attempts += [lambda m=m: m.parse(data, name="fuzz") for m in FORMATS]
    for attempt in attempts:
        try:
            attempt()
        except UnexpectedInputError as exc:
            raise AssertionError(f"only the last net caught this input: {exc}") from exc
        except ParseError:
            pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=prefixes, body=st.binary(max_size=600))
def test_random_bytes_raise_only_parse_error(prefix: bytes, body: bytes) -> None:
    _check(prefix + body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "titles",
                    "children",
                    "time",
                    "title",
                    "text",
                    "gti",
                    "date",
                    "titleType",
                    "content",
                    "widgets",
                    "widgetType",
                    "nextToken",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_valid_json_of_the_wrong_shape_raises_only_parse_error(value: object) -> None:
    import json

    doc = {"widgets": [{"widgetType": "watch-history", "content": {"content": value}}]}
    _check(json.dumps(doc).encode())
    _check(
        json.dumps(
            {
                "widgets": [
                    {"widgetType": "watch-history", "content": {"content": {"titles": value}}}
                ]
            }
        ).encode()
    )


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_input_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_bytes(text.encode(), "empty.html")


SAMPLE_FILES = [
    p
    for p in sorted(
        (Path(__file__).resolve().parents[2] / "fixtures" / "samples" / "fr-FR").rglob("*")
    )
    if p.is_file() and p.suffix in {".html", ".json", ".csv", ".zip"}
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=len(SAMPLE_FILES) - 1),
    cut=st.floats(min_value=0, max_value=1),
    flips=st.lists(st.tuples(st.floats(min_value=0, max_value=1), st.integers(0, 255)), max_size=8),
)
def test_damaged_real_files_raise_only_parse_error(
    index: int, cut: float, flips: list[tuple[float, int]]
) -> None:
    data = bytearray(SAMPLE_FILES[index].read_bytes())
    for where, value in flips:
        data[int(where * (len(data) - 1))] = value
    _check(bytes(data[: max(1, int(len(data) * cut))]))


@settings(max_examples=300, deadline=None)
@given(
    ms=st.one_of(
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True),
    )
)
def test_any_console_json_time_is_an_event_in_range_or_a_skipped_row(ms: float) -> None:
    """An accepted watch is never dated outside 1990 – the year after today (an accepted
    0001-01-01 or 9999-12-31 broke every later export); any other is one skipped row."""
    import json

    doc = json.dumps([{"dateWatched": ms, "type": "Movie", "title": "Some Film"}])
    _, flat = parse_bytes(doc.encode(), "times.json")
    skipped = sum(len(u.where) for u in flat.unreadable.values())
    assert len(flat.events) + skipped == 1
    assert all(FIRST_YEAR <= e.watched_at.year <= last_year() for e in flat.events)


@settings(max_examples=300, deadline=None)
@given(day=st.dates(), hour=st.integers(0, 23), offset=st.integers(-14, 14))
def test_any_export_time_is_an_event_in_range_or_a_skipped_row(
    day: object, hour: int, offset: int
) -> None:
    stamp = f"{day}T{hour:02d}:30:00{offset:+03d}:00"
    csv = f"Playback Start Datetime (UTC),Title,Seconds Viewed\n{stamp},Some Film,3600\n"
    _, flat = parse_bytes(csv.encode(), "export.csv")
    skipped = sum(len(u.where) for u in flat.unreadable.values())
    assert len(flat.events) + skipped == 1
    assert all(FIRST_YEAR <= e.watched_at.year <= last_year() for e in flat.events)
