"""`pv2simkl match` without a title: the walk over the unmatched titles.

The walk itself (:mod:`pv2simkl.match_session`) is tested with lists for its input and
output; the command on a real terminal through a pty, against a store whose works hold
the candidates an enrich left them, and in a pipe (refused in one sentence).
"""

from __future__ import annotations

import json
import os
import re
import select
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pv2simkl import match_session
from pv2simkl.match_session import NotAnId, parse_ids

OCEAN = [
    {"provider": "tmdb", "title": "Ocean's Eleven", "kind": "movie", "year": 2001,
     "ids": {"simkl": None, "tvdb": None, "tmdb": 161, "imdb": "tt0240772", "mal": None},
     "score": 105.0, "why": {"title": 100.0, "type": 5}},
    {"provider": "tmdb", "title": "Ocean's Eleven", "kind": "movie", "year": 1960,
     "ids": {"simkl": None, "tvdb": None, "tmdb": 4108, "imdb": "tt0054135", "mal": None},
     "score": 101.0, "why": {"title": 100.0, "type": 5, "watch year": -4}},
]  # fmt: skip
BOOT = [
    {"provider": "tvdb", "title": "Das Boot", "kind": "tv", "year": 2018,
     "ids": {"simkl": None, "tvdb": 346321, "tmdb": None, "imdb": None, "mal": None},
     "score": 98.0, "why": {"title": 100.0, "date": "released after first watch"}},
]  # fmt: skip


class Script:
    """Answers for ``read`` and the lines ``write`` got."""

    def __init__(self, *answers: str):
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.lines: list[str] = []
        self.pins: list[tuple[str, dict, str | None, int | None]] = []

    def read(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)

    def write(self, line: str) -> None:
        self.lines.append(line)

    def pin(self, work: dict, ids: dict, kind: str | None, year: int | None) -> None:
        self.pins.append((work["title"], ids, kind, year))

    def walk(self, works: list[dict[str, Any]]) -> match_session.Outcome:
        return match_session.walk(works, read=self.read, write=self.write, pin=self.pin)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def works() -> list[dict[str, Any]]:
    return [
        {"id": 1, "title": "Das Boot", "kind": "show", "candidates": BOOT},
        {"id": 2, "title": "Glass Harbor", "kind": "movie", "candidates": []},
        {"id": 3, "title": "Ocean's Eleven", "kind": "movie", "candidates": OCEAN},
    ]


def test_a_number_pins_that_candidates_ids_type_and_year() -> None:
    s = Script("s", "s", "2")
    outcome = s.walk(works())
    assert s.pins == [("Ocean's Eleven", {"tmdb": 4108, "imdb": "tt0054135"}, "movie", 1960)]
    assert "Pinned Ocean's Eleven: tmdb 4108, imdb tt0054135, type movie, year 1960." in s.lines
    assert outcome.summary() == "1 pinned, 2 skipped."
    assert s.lines[-1] == "1 pinned, 2 skipped."


def test_candidates_are_numbered_with_score_and_why() -> None:
    s = Script("q")
    s.walk([works()[2]])
    assert "[1/1] Ocean's Eleven (movie)" in s.lines
    assert ("  1) Ocean's Eleven (2001, movie) via tmdb: tmdb 161, imdb tt0240772  "
            "[score 105.0]") in s.lines  # fmt: skip
    assert "       title 100.0, type +5" in s.lines
    assert "       title 100.0, type +5, watch year -4" in s.lines
    assert s.prompts[0].startswith("Pick 1-2, s to skip, q to quit, or type an id")


def test_a_why_in_words_is_shown_as_words() -> None:
    s = Script("s")
    s.walk([works()[0]])
    assert "       title 100.0, date: released after first watch" in s.lines
    assert s.prompts[0].startswith("Pick 1, s to skip")


@pytest.mark.parametrize(
    ("typed", "ids", "kind"),
    [
        ("tmdb 161", {"tmdb": 161}, None),
        ("tt0240772", {"imdb": "tt0240772"}, None),
        ("mal 5114", {"mal": 5114}, None),
        ("simkl 12345", {"simkl": 12345}, None),
        ("tvdb 81189", {"tvdb": 81189}, None),
        ("--tmdb 161 imdb=tt0240772", {"tmdb": 161, "imdb": "tt0240772"}, None),
        ("TMDB:161", {"tmdb": 161}, None),
        ("https://www.themoviedb.org/movie/161-ocean-s-eleven", {"tmdb": 161}, "movie"),
        ("https://www.imdb.com/title/tt0240772/", {"imdb": "tt0240772"}, None),
        ("https://myanimelist.net/anime/5114/Fullmetal_Alchemist", {"mal": 5114}, "anime"),
        ("https://simkl.com/tv/17465/das-boot", {"simkl": 17465}, "tv"),
    ],
)
def test_ids_typed_in(typed: str, ids: dict, kind: str | None) -> None:
    got = parse_ids(typed)
    assert (got.ids, got.media_type) == (ids, kind)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("x", "'x' is not a choice"),
        ("tmdb", "tmdb needs its id after it, as in tmdb 161"),
        ("tmdb abc", "'abc' is not a tmdb id"),
        ("imdb 240772", "is not an IMDb id such as tt0240772"),
    ],
)
def test_what_is_not_an_id_is_said_in_one_sentence(typed: str, says: str) -> None:
    with pytest.raises(NotAnId, match=re.escape(says)):
        parse_ids(typed)


def test_a_typed_id_pins_it_and_a_wrong_answer_asks_again() -> None:
    s = Script("", "7", "what", "tmdb 619001")
    outcome = s.walk([works()[1]])
    assert s.pins == [("Glass Harbor", {"tmdb": 619001}, None, None)]
    assert "  No service offered a candidate." in s.lines
    assert "There is no candidate to pick; for an id, name its service, as in tmdb 7." in s.lines
    assert any(line.startswith("'what' is not a choice") for line in s.lines)
    assert len(s.prompts) == 4 and outcome.summary() == "1 pinned, 0 skipped."


def test_a_number_past_the_list_is_not_taken_for_an_id() -> None:
    s = Script("161", "1")
    s.walk([works()[2]])
    assert "161 is not one of 1-2; for an id, name its service, as in tmdb 161." in s.lines
    assert s.pins[0][1] == {"tmdb": 161, "imdb": "tt0240772"}


def test_q_stops_and_says_what_is_left() -> None:
    s = Script("1", "q")
    outcome = s.walk(works())
    assert len(s.pins) == 1 and outcome.left == 2
    assert s.lines[-1] == "1 pinned, 0 skipped; 2 left for the next `pv2simkl match`."


def test_end_of_input_stops_like_q() -> None:
    s = Script("s")
    outcome = s.walk(works())
    assert outcome.skipped == 1 and outcome.left == 2
    assert s.lines[-1] == "0 pinned, 1 skipped; 2 left for the next `pv2simkl match`."


def test_ctrl_c_writes_the_summary_and_is_raised_again() -> None:
    s = Script("1")

    def read(prompt: str) -> str:
        if s.answers:
            return s.answers.pop(0)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        match_session.walk(works(), read=read, write=s.write, pin=s.pin)
    assert s.lines[-1] == "1 pinned, 0 skipped; 2 left for the next `pv2simkl match`."


# -- the command: a pty, and a pipe ------------------------------------------------------


def _store(data: Path) -> Path:
    """A store whose three works are unmatched with the candidates an enrich kept."""
    from pv2simkl.models import WatchEvent
    from pv2simkl.store import Store

    data.mkdir(parents=True)
    db = data / "pv2simkl.sqlite3"
    store = Store(db)
    at = datetime(2019, 6, 9, 21, tzinfo=UTC)
    store.add_import(
        [WatchEvent("movie", "Ocean's Eleven", at, "t"),
         WatchEvent("movie", "Glass Harbor", at, "t"),
         WatchEvent("episode", "Das Boot", at, "t", season=1, episode=1)],
        path="f", sha256="x", source="test",
    )  # fmt: skip
    store.close()
    with sqlite3.connect(db) as conn:
        for title, candidates in (("Ocean's Eleven", OCEAN), ("Das Boot", BOOT),
                                  ("Glass Harbor", [])):  # fmt: skip
            conn.execute(
                "UPDATE works SET match_status = 'unmatched', candidates = ? WHERE title = ?",
                [json.dumps(candidates), title],
            )
    conn.close()
    return db


def _row(db: Path, title: str) -> dict[str, Any]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT * FROM works WHERE title = ?", [title]).fetchone())
    finally:
        conn.close()


class Terminal:
    """``pv2simkl`` on a pty: what it printed, and typing answers when it asks."""

    def __init__(self, *args: str):
        import pty

        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pv2simkl", *args],
            stdin=slave, stdout=slave, stderr=slave, close_fds=True,
            env={**os.environ, "COLUMNS": "200", "TERM": "dumb"},
        )  # fmt: skip
        os.close(slave)
        self.screen = ""

    def read_until(self, text: str, timeout: float = 60) -> str:
        """Read what the program writes until ``text`` appears (or it ends)."""
        while text not in self.screen:
            ready, _, _ = select.select([self.master], [], [], timeout)
            if not ready:
                raise AssertionError(f"{text!r} never came; the screen:\n{self.screen}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # the program ended and closed the pty
                chunk = b""
            if not chunk:
                raise AssertionError(f"ended before {text!r}; the screen:\n{self.screen}")
            self.screen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        return self.screen

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def finish(self) -> int:
        try:
            while True:
                ready, _, _ = select.select([self.master], [], [], 60)
                if not ready:
                    break
                chunk = os.read(self.master, 4096)
                if not chunk:
                    break
                self.screen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        except OSError:
            pass
        os.close(self.master)
        return self.proc.wait(timeout=60)


def test_match_on_a_terminal_walks_the_unmatched_titles(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = _store(data)
    term = Terminal("--data-dir", str(data), "match")
    screen = term.read_until("Pick 1, s to skip")  # Das Boot comes first (by title)
    assert "[1/3] Das Boot (show)" in screen
    assert "1) Das Boot (2018, tv) via tvdb: tvdb 346321  [score 98.0]" in screen
    assert "title 100.0, date: released after first watch" in screen
    term.type("1")
    screen = term.read_until("Type an id")  # Glass Harbor: no candidate
    assert "Pinned Das Boot: tvdb 346321, type tv, year 2018." in screen
    term.type("s")
    screen = term.read_until("Pick 1-2")
    assert "1) Ocean's Eleven (2001, movie) via tmdb: tmdb 161, imdb tt0240772" in screen
    assert "title 100.0, type +5, watch year -4" in screen
    term.type("tmdb 161")
    assert term.finish() == 0
    assert "Pinned Ocean's Eleven: tmdb 161." in term.screen
    assert "2 pinned, 1 skipped." in term.screen
    boot, ocean, glass = (_row(db, t) for t in ("Das Boot", "Ocean's Eleven", "Glass Harbor"))
    assert (boot["tvdb_id"], boot["media_type"], boot["year"]) == (346321, "tv", 2018)
    assert boot["match_status"] == "pinned" and boot["ids_pending"] == 1
    assert (ocean["tmdb_id"], ocean["imdb_id"], ocean["match_status"]) == (161, None, "pinned")
    assert glass["match_status"] == "unmatched" and glass["candidates"]


def test_q_on_a_terminal_keeps_what_was_pinned(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = _store(data)
    term = Terminal("--data-dir", str(data), "match")
    term.read_until("Pick 1, s to skip")
    term.type("tt5005684")
    term.read_until("Type an id")
    term.type("q")
    assert term.finish() == 0
    assert "1 pinned, 0 skipped; 2 left for the next `pv2simkl match`." in term.screen
    assert _row(db, "Das Boot")["imdb_id"] == "tt5005684"


def test_match_without_a_title_in_a_pipe_says_what_to_do(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _store(data)
    r = subprocess.run([sys.executable, "-m", "pv2simkl", "--data-dir", str(data), "match"],
                       input="1\n", capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2 and r.stdout == ""
    (line,) = r.stderr.splitlines()
    assert line == (
        'error: give a title and its ids (pv2simkl match "TITLE" --tmdb ID), or run '
        "`pv2simkl match` in a terminal to pick each unmatched title's candidate."
    )


def test_ids_without_a_title_are_refused(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pv2simkl.cli import app

    r = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "d"), "match", "--tmdb", "161"])
    assert r.exit_code == 2 and "give the title these ids belong to" in r.output


def test_nothing_unmatched_on_a_terminal(tmp_path: Path) -> None:
    term = Terminal("--data-dir", str(tmp_path / "d"), "match")
    assert term.finish() == 0
    assert "No unmatched titles" in term.screen
