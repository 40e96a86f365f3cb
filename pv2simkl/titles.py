"""Titles as Amazon writes them: season suffixes, episode labels, version tags, extras.

Amazon names a season ``Show - Season 2``, ``Das Boot – Staffel 2``, ``Landman, Season 2``,
``The Mentalist: Saison 1 L'intégrale`` or ``REACHER (TV) - SEASON 01``; an episode
``Episode 3: JENNY``, ``Folge 3: …``, ``エピソード3: …`` or just ``Pilot``. The data
export joins them as ``Episode title-Show - Season N``. Everything here is pure text
work, the same for every source.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

# Season words of the locales Prime Video serves (case-insensitive).
_SEASON_WORDS = (
    r"season|series|staffel|stagione|temporada|saison|seizoen|sezon|säsong|sæson|sesong|"
    r"kausi|sezona|évad|sezonul|сезон|シーズン|시즌"
)
_SEASON = re.compile(
    rf"^(?P<show>.*?)[\s\-–—:,]*\(?\b(?:{_SEASON_WORDS})\s*#?\s*(?P<n>\d{{1,4}})\)?"
    r"(?P<rest>(?:\s.*)?)$",
    re.IGNORECASE,
)
_SEASON_CJK = re.compile(r"^(?P<show>.*?)[\s\-–—:,]*第\s*(?P<n>\d{1,4})\s*[季部]\s*(?P<rest>.*)$")
# What may follow the season number and still belong to the season suffix.
_SEASON_REST = re.compile(
    r"^\s*(?:[-–—:]?\s*(?:l'intégrale|l’intégrale|complete|komplett|completa|\(.*\)|\[.*\]))?\s*$",
    re.IGNORECASE,
)

_EPISODE_WORDS = (
    r"episode|épisode|episodio|episódio|épisodio|folge|aflevering|afsnit|avsnitt|odcinek|"
    r"jakso|epizoda|epizód|серия|эпизод|エピソード|에피소드|ep\."
)
_EPISODE = re.compile(
    rf"^\s*(?:{_EPISODE_WORDS})\s*(?P<n>\d{{1,5}})\s*(?:[:：.\-–—]\s*(?P<title>.*))?$",
    re.IGNORECASE | re.DOTALL,
)
_EPISODE_CJK = re.compile(r"^\s*第\s*(?P<n>\d{1,5})\s*[話话集回]\s*[:：]?\s*(?P<title>.*)$")

# Version tags: "[dt./OV]" and any bracketed "x/y", "(4K UHD)", "(TV)" and their kin.
_TAGS = re.compile(
    r"\s*(?:\[[^\[\]]*/[^\[\]]*\]|\[(?:OV|OmU|OmdU|dt\.?|UHD|4K|HD)\]"
    r"|\((?:4K UHD|4K|UHD|HDR|HD|SD|TV|OV|OmU|OmdU|Subtitled|Dubbed|dt\.?/?OV)\))",
    re.IGNORECASE,
)
_TRAILING_YEAR = re.compile(r"\s*\((?P<year>(?:19|20)\d{2})\)\s*$")
_EXTRA = re.compile(
    r"(?:\b(?:official\s+)?trailer|\bteaser|\bbonus\s+content|\bbonus\s+features?"
    r"|\bbonusmaterial|\bcontenuti\s+extra|\bbande-annonce|\btráiler)\s*\d*\s*$",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[\W_]+")
_ARTICLES = re.compile(r"^(?:the|a|an)\s+")


def decode(text: str | None) -> str:
    """HTML entities decoded (twice-encoded ``&amp;#39;`` too), whitespace collapsed."""
    if not text:
        return ""
    out = html.unescape(text)
    if "&" in out and ";" in out:
        out = html.unescape(out)
    return " ".join(out.split())


def strip_tags(title: str) -> str:
    """``Der Pate [dt./OV]`` → ``Der Pate``; ``X (4K UHD)`` → ``X``."""
    return _TAGS.sub("", title).strip(" -–—:,")


def split_year(title: str) -> tuple[str, int | None]:
    """``Inception (2010)`` → (``Inception``, 2010)."""
    m = _TRAILING_YEAR.search(title)
    if m and m.start() > 0:
        return title[: m.start()].strip(), int(m["year"])
    return title, None


def split_season(text: str) -> tuple[str | None, int | None]:
    """A season item's title → (show, season number).

    The show is None when the title is only a season (``Season 3``); the number is
    None when the title carries no season word (``Reacher``).
    """
    title = strip_tags(text)
    for pattern in (_SEASON, _SEASON_CJK):
        m = pattern.match(title)
        if m and _SEASON_REST.match(m["rest"] or ""):
            show = strip_tags(m["show"]).strip(" -–—:,")
            return (show or None), int(m["n"])
    return (title or None), None


def season_title(text: str) -> tuple[str, int | None]:
    """Like :func:`split_season`, but the show falls back to the whole text (``Season 3``)."""
    show, season = split_season(text)
    return (show or strip_tags(text) or text.strip()), season


def parse_episode_label(text: str) -> tuple[int | None, str | None]:
    """``Episode 3: JENNY`` → (3, ``JENNY``); ``Pilot`` → (None, ``Pilot``)."""
    label = text.strip()
    for pattern in (_EPISODE, _EPISODE_CJK):
        m = pattern.match(label)
        if m:
            title = (m["title"] or "").strip()
            return int(m["n"]), (title or None)
    return None, (label or None)


def is_extra(title: str) -> bool:
    """Trailers and bonus content: never a watch to export."""
    return bool(_EXTRA.search(title.strip()))


def clean_movie_title(text: str) -> tuple[str, int | None]:
    """A movie's title without version tags, and the year if Amazon wrote one."""
    title, year = split_year(strip_tags(text))
    return title, year


@functools.lru_cache(maxsize=1 << 16)
def identity_key(title: str) -> str:
    """The form a stored title is known by: :func:`match_key` with its leading article kept
    ("The Office" and "Office" may be two works; a provider match may still join them)."""
    text = split_year(strip_tags(title))[0]
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("&", " and ").replace("'", "").replace("’", "")
    return " ".join(_NON_WORD.sub(" ", text).split())


@functools.lru_cache(maxsize=1 << 16)
def match_key(title: str) -> str:
    """The normalised form two titles are compared by.

    NFKC, casefold, version tags and a trailing year removed, ``&`` → ``and``,
    apostrophes dropped, other punctuation → space, a leading English article dropped.
    Letters of every script are kept.
    """
    text = identity_key(title)
    return _ARTICLES.sub("", text) or text


def export_title_splits(text: str) -> list[tuple[str, str, int]]:
    """Every reading of an export title ``Episode-Show - Season N``.

    Returns (episode title, show, season) for each unspaced ``-`` after which a season
    title follows, leftmost first. The caller picks among them (a show named in other
    rows wins); an empty list means the title is a movie.
    """
    readings = []
    for i, ch in enumerate(text):
        if ch != "-" or i == 0 or i == len(text) - 1:
            continue
        if text[i - 1].isspace() or text[i + 1].isspace():
            continue
        episode, rest = text[:i].strip(), text[i + 1 :].strip()
        show, season = split_season(rest)
        if season is None or not episode:
            continue
        readings.append((episode, show or strip_tags(rest), season))
    return readings
