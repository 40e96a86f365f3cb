"""Which rows of a data export are episodes, and of which show — decided from the whole file.

Amazon's data export has no episode or show column: it joins them as
``<episode title>-<show>``, with or without a season suffix (``Pilot-Community - Season 1``,
``Wilson's Heart-House``, ``Al di là del mare-L'Attacco dei Giganti - The Final Season``).
A hyphen inside a word (``Half-Wit-House``, ``Jin-Roh - Uomini e lupi``) or a spaced
`` - `` subtitle (``Lupin the 3rd - La bugia di Mine Fujiko``) is not a join. One row
cannot tell ``X-Y`` apart from a movie with a hyphen; the file can: a show is recognised
when several distinct episode titles stand before the same ``-<show>``, or when the
part after the hyphen carries a season suffix. What stays ambiguous (a single
suffix-less ``X-Y``) is kept as written; its other reading travels with the event so the
metadata services, which know whether ``Y`` is a show, can decide later.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pv2simkl import titles

# A suffix-less show needs this many distinct episode titles in the file to be believed.
MIN_EPISODES_FOR_SHOW = 2
# Words that make the part after the hyphen a series even without a number
# ("Evoluzione!-Serie Pokémon Rubino e Zaffiro").
_SERIES_WORD = re.compile(
    r"^(?:serie|series|serien|série|séries|seriál|сериал|dizi|シリーズ)\b"
    r"|\b(?:serie|series|the series|la serie|die serie|the animated series)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Reading:
    """One way to read an export title as an episode of a show."""

    episode_title: str
    show: str
    season: int | None
    suffixed: bool  # the show part carried a season suffix
    position: int  # index of the hyphen that was split on


_JOIN = re.compile(r"(?<=\S)-(?=\S)")


@functools.lru_cache(maxsize=1 << 15)
def _show_part(rest: str) -> tuple[str, int | None, bool] | None:
    """What follows a hyphen, as a show: (show, season, had a season suffix). Cached: every
    episode of a season repeats the same ``Show - Season N``."""
    suffix = titles.season_suffix(rest)
    if suffix is not None:
        show, season = suffix
        return (show or rest, season, True)  # a bare "Season 3" stays the show's name
    show = titles.strip_tags(rest)
    return (show, None, False) if show else None


def readings(text: str) -> list[Reading]:
    """Every split of ``text`` at an unspaced hyphen, leftmost first."""
    out = []
    for m in _JOIN.finditer(text):
        i = m.start()
        episode, rest = text[:i].strip(), text[i + 1 :].strip()
        part = _show_part(rest) if episode and rest else None
        if part is not None:
            out.append(Reading(episode, part[0], part[1], part[2], i))
    return out


class ExportTitles:
    """The readings of every title of one export file, judged against each other."""

    def __init__(self, raw_titles: Iterable[str]):
        self._readings = {t: readings(t) for t in set(raw_titles)}
        support: dict[str, set[str]] = {}
        for options in self._readings.values():
            for r in options:
                support.setdefault(titles.match_key(r.show), set()).add(
                    titles.match_key(r.episode_title)
                )
        self._support = {show: len(episodes) for show, episodes in support.items()}
        # Rows with a reading of exactly this show text: two spellings of one key ("'a-Aa"
        # and "Aa", the article dropped) are told apart by how often each is written.
        self._written: dict[str, int] = {}
        for options in self._readings.values():
            for show in {r.show for r in options}:
                self._written[show] = self._written.get(show, 0) + 1

    def _believed(self, r: Reading) -> bool:
        if r.suffixed or self._support.get(titles.match_key(r.show), 0) >= MIN_EPISODES_FOR_SHOW:
            return True
        # "Special-Special": a movie title would not repeat itself around a hyphen.
        if titles.match_key(r.episode_title) == titles.match_key(r.show):
            return True
        return bool(_SERIES_WORD.search(r.show))

    def episode(self, raw: str) -> Reading | None:
        """The reading of ``raw`` as an episode, or None when it is a movie (or ambiguous).

        Among believed readings the show seen with the most episode titles wins; on a tie
        the show written so in the most rows, then a show that does not begin in lower
        case (``humbug-atti-…`` is one word), then the leftmost hyphen
        (``Pilot-X-Men - Season 1`` is X-Men).
        """
        options = [r for r in self._readings.get(raw, []) if self._believed(r)]
        if not options:
            return None
        return max(
            options,
            key=lambda r: (
                self._support.get(titles.match_key(r.show), 0),
                self._written.get(r.show, 0),
                not r.show[:1].islower(),
                -r.position,
            ),
        )

    def ambiguous(self, raw: str) -> Reading | None:
        """For a title read as a movie: the episode reading a metadata service may prefer."""
        if self.episode(raw) is not None:
            return None
        options = self._readings.get(raw, [])
        return options[-1] if options else None
