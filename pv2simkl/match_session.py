"""Matching by hand, one unmatched work after another (``pv2simkl match`` on a terminal).

The walk knows no terminal: it reads answers through ``read(prompt)`` (which raises
:class:`EOFError` at the end of input) and writes lines through ``write(line)``, and pins
through ``pin(work, ids, media_type, year)``. The CLI passes the terminal's input and
output and :func:`pv2simkl.pipeline.pin_work`; tests pass lists.

For each work it shows the candidates the services gave, numbered, each with its score
and the named adjustments that made it (``title 100.0, type +5, watch year -4``), and
takes one answer:

- a number: pin that candidate's ids, type and year;
- ``s``: skip the work (it stays unmatched);
- ids typed in: ``tmdb 161``, ``tt0240772``, ``mal 5114``, ``simkl 12345``, ``tvdb 81189``
  (several at once, too), or a page's address at TMDB, IMDb, MyAnimeList or Simkl;
- ``q``: stop; what was pinned stays pinned.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Read = Callable[[str], str]
Write = Callable[[str], None]
Pin = Callable[[dict[str, Any], dict[str, Any], "str | None", "int | None"], None]

SERVICES = ("simkl", "tmdb", "tvdb", "imdb", "mal")
IMDB_ID = re.compile(r"tt\d{5,}")
# A page's address names the service, the id and often the type.
_URLS = [
    (re.compile(r"themoviedb\.org/(movie|tv)/(\d+)"), "tmdb", {"movie": "movie", "tv": "tv"}),
    (re.compile(r"imdb\.com/(?:[a-z-]+/)?title/(tt\d+)"), "imdb", {}),
    (re.compile(r"myanimelist\.net/anime/(\d+)"), "mal", {}),
    (re.compile(r"simkl\.com/(movies|tv|anime)/(\d+)"), "simkl",
     {"movies": "movie", "tv": "tv", "anime": "anime"}),
    (re.compile(r"thetvdb\.com/.*?series/(\d+)"), "tvdb", {}),
]  # fmt: skip
EXAMPLE = "tmdb 161, tt0240772, mal 5114"


class NotAnId(ValueError):
    """An answer that is neither a choice nor ids; its text is the sentence to show."""


@dataclass
class Typed:
    """Ids typed in (and the type a page's address tells)."""

    ids: dict[str, Any]
    media_type: str | None = None


def parse_ids(text: str) -> Typed:
    """``tmdb 161``, ``tt0240772``, ``--mal 5114``, ``tmdb:161 imdb=tt0240772``, or an address
    such as ``https://www.themoviedb.org/movie/161``; :class:`NotAnId` says what is wrong."""
    for pattern, service, kinds in _URLS:
        found = pattern.search(text)
        if found:
            *kind, value = found.groups()
            media_type = kinds.get(kind[0]) if kind else ("anime" if service == "mal" else None)
            return Typed({service: value if service == "imdb" else int(value)}, media_type)
    tokens = re.sub(r"[:=,]", " ", text).split()
    ids: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        word = tokens[i].lower().lstrip("-")
        if IMDB_ID.fullmatch(word):
            ids["imdb"] = word
            i += 1
            continue
        if word not in SERVICES:
            raise NotAnId(f"{tokens[i]!r} is not a choice: type a number from the list, s to "
                          f"skip, q to quit, or an id such as {EXAMPLE}.")  # fmt: skip
        if i + 1 >= len(tokens):
            raise NotAnId(f"{word} needs its id after it, as in {word} {_sample(word)}.")
        value = tokens[i + 1]
        if word == "imdb":
            if not IMDB_ID.fullmatch(value.lower()):
                raise NotAnId(f"{value!r} is not an IMDb id such as tt0240772.")
            ids["imdb"] = value.lower()
        else:
            if not value.isdigit() or int(value) == 0:
                raise NotAnId(f"{value!r} is not a {word} id; it is a number, as in "
                              f"{word} {_sample(word)}.")  # fmt: skip
            ids[word] = int(value)
        i += 2
    if not ids:
        raise NotAnId(f"Type a number from the list, s to skip, q to quit, or an id such as "
                      f"{EXAMPLE}.")  # fmt: skip
    return Typed(ids)


def _sample(service: str) -> str:
    return {"simkl": "12345", "tmdb": "161", "tvdb": "81189", "imdb": "tt0240772",
            "mal": "5114"}[service]  # fmt: skip


def why_line(why: dict[str, Any]) -> str:
    """A candidate's named adjustments as ``unmatched`` explains them, like a tagger's
    distance: ``title 92.0, year -40, type +5, date: released after first watch``."""
    parts = []
    for name, value in why.items():
        if isinstance(value, int | float):
            parts.append(f"{name} {value:.1f}" if name == "title" else f"{name} {value:+g}")
        else:
            parts.append(f"{name}: {value}")
    return ", ".join(parts)


def ids_text(ids: dict[str, Any]) -> str:
    """``tmdb 161, imdb tt0240772`` (the ids that are set, in the services' order)."""
    return ", ".join(f"{k} {ids[k]}" for k in SERVICES if ids.get(k))


def candidate_lines(number: int, c: dict[str, Any]) -> list[str]:
    """One candidate as the walk shows it: the title, year, type, service and ids, the score,
    and under it why it scored so."""
    year = c.get("year") or "year ?"
    ids = ids_text(c.get("ids") or {}) or "no ids"
    lines = [f"  {number}) {c['title']} ({year}, {c['kind']}) via {c['provider']}: {ids}  "
             f"[score {c['score']:.1f}]"]  # fmt: skip
    if c.get("why"):
        lines.append(f"       {why_line(c['why'])}")
    return lines


@dataclass
class Outcome:
    """What the walk did."""

    pinned: list[str] = field(default_factory=list)  # ``Title: tmdb 161, type movie, …``
    skipped: int = 0
    left: int = 0  # works not reached (q, end of input, Ctrl-C)

    def summary(self) -> str:
        line = f"{len(self.pinned)} pinned, {self.skipped} skipped"
        if self.left:
            line += f"; {self.left} left for the next `pv2simkl match`"
        return line + "."


def walk(works: Iterable[dict[str, Any]], *, read: Read, write: Write, pin: Pin) -> Outcome:
    """Ask about each work in turn (see the module's text); returns what was done.

    The summary line is written at the end, on ``q`` and at the end of input too; Ctrl-C
    (:class:`KeyboardInterrupt`) writes it and is raised again."""
    todo = list(works)
    outcome = Outcome()
    try:
        for index, work in enumerate(todo):
            outcome.left = len(todo) - index
            write("")
            write(f"[{index + 1}/{len(todo)}] {work['title']} ({work['kind']})")
            answer = _ask(work, read, write, pin, outcome)
            if answer == "quit":
                break
        else:
            outcome.left = 0
    except EOFError:
        write("")
    except KeyboardInterrupt:
        write("")
        write(outcome.summary())
        raise
    write(outcome.summary())
    return outcome


def _ask(work: dict[str, Any], read: Read, write: Write, pin: Pin, outcome: Outcome) -> str:
    """One work's question until it has an answer: ``pinned``, ``skipped`` or ``quit``."""
    candidates = work.get("candidates") or []
    for number, c in enumerate(candidates, 1):
        for line in candidate_lines(number, c):
            write(line)
    if candidates:
        choices = "1" if len(candidates) == 1 else f"1-{len(candidates)}"
        prompt = f"Pick {choices}, s to skip, q to quit, or type an id ({EXAMPLE}): "
    else:
        write("  No service offered a candidate.")
        prompt = f"Type an id ({EXAMPLE}), s to skip or q to quit: "
    while True:
        answer = read(prompt).strip()
        word = answer.lower()
        if word in {"q", "quit", "exit"}:
            return "quit"
        if word in {"s", "skip"}:
            outcome.skipped += 1
            outcome.left -= 1
            write(f"Skipped {work['title']}.")
            return "skipped"
        if not answer:
            continue
        try:
            ids, media_type, year = _chosen(answer, candidates)
        except NotAnId as exc:
            write(str(exc))
            continue
        pin(work, ids, media_type, year)
        given = ids_text(ids)
        given += f", type {media_type}" if media_type else ""
        given += f", year {year}" if year else ""
        outcome.pinned.append(f"{work['title']}: {given}")
        outcome.left -= 1
        write(f"Pinned {work['title']}: {given}.")
        return "pinned"


def _chosen(
    answer: str, candidates: list[dict[str, Any]]
) -> tuple[dict[str, Any], str | None, int | None]:
    """The ids, type and year an answer pins: a candidate's by its number, or typed ids."""
    if answer.isdigit():
        number = int(answer)
        if not 1 <= number <= len(candidates):
            if not candidates:
                raise NotAnId(f"There is no candidate to pick; for an id, name its service, "
                              f"as in tmdb {answer}.")  # fmt: skip
            raise NotAnId(f"{answer} is not one of 1-{len(candidates)}; for an id, name its "
                          f"service, as in tmdb {answer}.")  # fmt: skip
        c = candidates[number - 1]
        ids = {k: v for k, v in (c.get("ids") or {}).items() if v}
        if not ids:
            raise NotAnId(f"Candidate {number} carries no id; type one instead ({EXAMPLE}).")
        return ids, c.get("kind"), c.get("year")
    typed = parse_ids(answer)
    return typed.ids, typed.media_type, None
