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


def readings(text: str) -> list[Reading]:
    """Every split of ``text`` at an unspaced hyphen, leftmost first."""
    out = []
    for i, ch in enumerate(text):
        if ch != "-" or i == 0 or i == len(text) - 1:
            continue
        if text[i - 1].isspace() or text[i + 1].isspace():
            continue
        episode, rest = text[:i].strip(), text[i + 1 :].strip()
        if not episode or not rest:
            continue
        suffix = titles.season_suffix(rest)
        if suffix is not None:
            show, season = suffix
            out.append(Reading(episode, show or rest, season, True, i))  # bare "Season 3"
        else:
            show = titles.strip_tags(rest)
            if show:
                out.append(Reading(episode, show, None, False, i))
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
        a show that does not begin in lower case (``humbug-atti-…`` is one word), then the
        leftmost hyphen (``Pilot-X-Men - Season 1`` is X-Men).
        """
        options = [r for r in self._readings.get(raw, []) if self._believed(r)]
        if not options:
            return None
        return max(
            options,
            key=lambda r: (
                self._support.get(titles.match_key(r.show), 0),
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
