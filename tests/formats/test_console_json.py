"""The browser-console exporter's JSON output (v3): the real sample and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.real_samples import REAL_SAMPLES
from pv2simkl.errors import ParseError
from pv2simkl.formats import console_json, history_json, parse_bytes
from pv2simkl.sources.files import parse_file

REAL = REAL_SAMPLES
SAMPLE = REAL / "console-v3.json"


def _reading(events: list) -> list[tuple]:
    return [
        (
            e.kind,
            e.title,
            e.season,
            e.episode,
            e.episode_title,
            e.to_public()["watched_at"],
            e.precision,
            e.gti,
            e.source,
        )  # fmt: skip
        for e in events
    ]


# The real-samples README: the same two watches as console-v3.csv.
EXPECTED = [
    (
        "episode", "The Terminal List: Dark Wolf", 1, 1, '"INHERENT RESOLVE"',
        "2025-09-28T02:00:24.173Z", "exact", "amzn1.dv.gti.16c010ce-0da6-42fb-b031-13dfa43105b6",
        "csv",
    ),
    (
        "movie", "Everything Everywhere All at Once", None, None, None,
        "2023-10-03T04:06:31.437Z", "exact", "amzn1.dv.gti.9d433401-4b4f-4737-9ec7-ce92e6b313f2",
        "csv",
    ),
]  # fmt: skip


def test_real_console_json_reads_exactly() -> None:
    parsed = parse_file(SAMPLE)
    flat = parsed.flat
    assert not flat.errors and not flat.warnings and not flat.unreadable and not flat.ignored
    assert _reading(flat.events) == EXPECTED


def test_console_json_was_refused_as_not_a_history_reply() -> None:
    data = SAMPLE.read_bytes()
    assert console_json.sniff(data)
    assert not history_json.sniff(data)
    assert parse_bytes(data, "console-v3.json")[0] == console_json.NAME


def test_formatted_dates_and_minified_json_read_the_same(tmp_path: Path) -> None:
    entries = json.loads(SAMPLE.read_text(encoding="utf-8"))
    entries[0]["dateWatched"] = "2025-09-28 02:00:24.173"
    entries[1]["dateWatched"] = str(entries[1]["dateWatched"])
    path = tmp_path / "watch-history-export.json"
    path.write_text(json.dumps(entries, separators=(",", ":")), encoding="utf-8")
    assert _reading(parse_file(path).flat.events) == EXPECTED


@pytest.mark.parametrize(
    "head",
    [b"[]", b'[{"title": "x"}]', b'{"dateWatched": 1, "title": "x"}', b"[1, 2, 3]"],
)
def test_sniff_takes_only_the_exporters_array(head: bytes) -> None:
    assert not console_json.sniff(head)


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [0.3, 0.5, 0.9])
def test_truncated_json_is_one_sentence_parse_error(cut: float) -> None:
    data = SAMPLE.read_bytes()
    with pytest.raises(ParseError) as caught:
        console_json.parse(data[: int(len(data) * cut)], name="cut.json")
    message = str(caught.value)
    assert message.startswith("cut.json: is broken JSON (")
    assert "truncated" in message
    assert "\n" not in message and ". " not in message


def test_json_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(ParseError, match="not the console exporter's list of watches"):
        console_json.parse(b'{"dateWatched": 1}', name="obj.json")


def test_unreadable_entries_are_skipped_and_grouped() -> None:
    good = {"dateWatched": 1696305991437, "type": "Movie", "title": "Kept"}
    data = json.dumps(
        [
            {"dateWatched": "yesterday", "type": "Movie", "title": "Bad"},
            good,
            "not an object",
            {"dateWatched": True, "type": "Movie", "title": "Bool date"},
            {"dateWatched": 1e30, "type": "Movie", "title": "Far future"},
            {"dateWatched": 1696305991437, "type": "Movie", "title": ""},
        ]
    ).encode()
    flat = console_json.parse(data, name="bad.json")
    assert [e.title for e in flat.events] == ["Kept"]
    assert flat.unreadable["date"].reason == "dates like 'yesterday' could not be read"
    assert flat.unreadable["date"].where == ["entry 1", "entry 4", "entry 5"]
    assert flat.unreadable["entry"].where == ["entry 3"]
    assert flat.unreadable["title"].where == ["entry 6"]
