"""Titles as Amazon writes them: season suffixes, episode labels, version tags, extras.

Amazon names a season ``Show - Season 2``, ``Das Boot – Staffel 2``, ``Landman, Season 2``,
``The Mentalist: Saison 1 L'intégrale``, ``REACHER (TV) - SEASON 01``, ``INVENCIBLE - 2.ª
TEMPORADA``, ``Hotel Hazbin - Segunda temporada``, ``X - The Final Season`` (no number),
``X 第2季`` or ``X 시즌 2``, in the words of each of the 22 languages it serves; an episode
``Episode 3: JENNY``, ``Folge 3: …``, ``第3話 …``, ``3화: …`` or just ``Pilot``. The data
export joins them as ``Episode title-Show - Season N``. Everything here is pure text
work, the same for every source.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata


def _any_spelling(words: str) -> str:
    """Space-separated words as a regex alternation in every Unicode spelling a title may
    use (``é`` as one code point or two, Devanagari ``ज़`` likewise), longest first."""
    forms = set()
    for word in words.split():
        for normal in ("NFC", "NFD"):
            form = unicodedata.normalize(normal, word)
            forms.update((form, form.replace("\u091c\u093c", "\u095b")))
    return "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))


# Season words of the languages Prime Video serves (case-insensitive). Words in Latin script
# need a word boundary before them; words in other scripts may follow the show directly.
_SEASON_WORDS_LATIN = _any_spelling(
    "season series staffel stagione temporada saison seizoen sezon säsong sæson sesong "
    "kausi řada série serie musim sezona sezóna évad sezonul"
)
_SEASON_WORDS_SCRIPT = _any_spelling("сезон シーズン 시즌 सीज़न सीजन الموسم ซีซั่น ซีซัน")
_SEASON_WORD = rf"(?:\b(?:{_SEASON_WORDS_LATIN})\b|(?:{_SEASON_WORDS_SCRIPT}))"
# Words that follow the number in their own language (``2 сезон``, ``2. řada``, ``2. Sezon``).
_NUMBER_FIRST_WORDS = frozenset({"сезон", "řada", "sezon", "staffel", "temporada", "série"})
# Marks between a number and the season word: ``4.ª``, ``1ª``, ``2.``, ``2-й``, ``2nd``, ``2e``.
_ORDINAL_MARK = (
    r"(?:\.\s*[ªºo°a]|[ªº°]|[ao](?=\s)|\.|-?(?:й|я|ый|ий|ой)|st|nd|rd|th|ème|eme|er|re|e)"
)
# Spelled ordinals 1…10 before a season word (es, pt, it, fr, en): ``Segunda temporada``.
_ORDINAL_WORDS = {
    word: number
    for words in (
        "primera segunda tercera cuarta quinta sexta séptima octava novena décima",
        "primeira segunda terceira quarta quinta sexta sétima oitava nona décima",
        "prima seconda terza quarta quinta sesta settima ottava nona decima",
        "première deuxième troisième quatrième cinquième sixième septième huitième neuvième "
        "dixième",
        "first second third fourth fifth sixth seventh eighth ninth tenth",
    )
    for number, word in enumerate(words.split(), start=1)
}
_ORDINAL_WORDS.update({"septima": 7, "setima": 7, "decima": 10, "seconde": 2})
# "The final season" without a number, in the languages Amazon writes it.
_FINAL_SEASON = (
    r"(?:the\s+)?final\s+season|temporada\s+final|(?:la\s+|a\s+)?[úu]ltima\s+temporada|"
    r"(?:la\s+)?stagione\s+finale|(?:l['’])?ultima\s+stagione|(?:la\s+)?saison\s+finale|"
    r"(?:la\s+)?derni[èe]re\s+saison|(?:die\s+)?finale\s+staffel|(?:die\s+)?letzte\s+staffel|"
    r"ファイナルシーズン|파이널\s*시즌"
)
_SEP = r"[\s\-–—:,]"
# What may follow the season part and still belong to it (``Saison 1 L'intégrale``).
_REST = (
    r"(?P<rest>(?:\s+(?:[-–—:]\s*)?(?:l'intégrale|l’intégrale|complete|komplett|completa"
    r"|\(.*\)|\[.*\]))?\s*)"
)

_SEASON_WORD_FIRST = re.compile(
    rf"^(?P<show>.*?){_SEP}*\(?{_SEASON_WORD}\s*#?\s*(?P<n>\d{{1,4}})\)?{_REST}$",
    re.IGNORECASE,
)
_SEASON_CJK = re.compile(
    rf"^(?P<show>.*?){_SEP}*第\s*(?P<n>\d{{1,4}})\s*(?:季|部|期|シーズン){_REST}$"
)
_SEASON_NUMBER_FIRST = re.compile(
    rf"^(?P<show>.*?)(?P<sep>{_SEP}*)(?<![\w.])(?P<n>\d{{1,4}})(?P<mark>{_ORDINAL_MARK})?\s*"
    rf"(?P<word>{_SEASON_WORD}){_REST}$",
    re.IGNORECASE,
)
_ORDINAL_WORD = _any_spelling(" ".join(_ORDINAL_WORDS))
# A spelled ordinal needs a separator before it: "My First Season" may be a film's title.
_SEASON_ORDINAL_WORD = re.compile(
    rf"^(?:(?P<show>.*?)\s*[\-–—:,]\s*)?(?P<ord>{_ORDINAL_WORD})\s+{_SEASON_WORD}{_REST}$",
    re.IGNORECASE,
)
_SEASON_FINAL = re.compile(
    rf"^(?P<show>.*?\S)(?P<sep>{_SEP}+)(?P<form>{_FINAL_SEASON}){_REST}$",
    re.IGNORECASE,
)
_EPISODE_WORDS = (
    _any_spelling(
        "episode épisode episodio episódio épisodio folge aflevering afsnit avsnitt odcinek "
        "jakso epizoda epizód díl bölüm серия эпизод エピソード 에피소드 एपिसोड الحلقة حلقة "
        "capítulo capitulo ตอนที่ ตอน"
    )
    + r"|ep\.?"
)
_EPISODE = re.compile(
    rf"^\s*(?:{_EPISODE_WORDS})\s*#?\s*(?P<n>\d{{1,5}})\s*(?:[:：.\-–—]\s*(?P<title>.*))?$",
    re.IGNORECASE | re.DOTALL,
)
# Number-then-word labels: ``第3話 …`` (ja), ``第3集: …`` (zh), ``3화: …`` (ko).
_EPISODE_CJK = re.compile(
    r"^\s*第\s*(?P<n>\d{1,5})\s*[話话集回]\s*[:：]?\s*(?P<title>.*)$", re.DOTALL
)
_EPISODE_KO = re.compile(
    r"^\s*(?P<n>\d{1,5})\s*[화회]\s*(?:[:：]\s*|\s+|$)(?P<title>.*)$", re.DOTALL
)

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
    None when the title carries no season number (``Reacher``, and ``X - The Final
    Season``, whose show is ``X``).
    """
    found = season_suffix(text)
    if found is None:
        title = strip_tags(text)
        return (title or None), None
    show, number = found
    return (show or None), number


def season_suffix(text: str) -> tuple[str, int | None] | None:
    """The season part of a title, or None when it has none.

    ``Show - Season 2`` → (``Show``, 2); ``Show - 4.ª Temporada`` → (``Show``, 4);
    ``Show - Segunda temporada`` → (``Show``, 2); ``Show - The Final Season`` →
    (``Show``, None); ``Season 3`` → (``""``, 3); ``Reacher`` → None. Tells a season
    title from a plain one, which :func:`split_season` cannot (both may have no number).
    """
    title = strip_tags(text)
    for read in (_numbered_season, _final_season):
        found = read(title)
        if found is not None:
            show, number = found
            return strip_tags(show).strip(" -–—:,"), number
    return None


def _numbered_season(title: str) -> tuple[str, int] | None:
    """``Show - Season 2``, ``Show 第2季``, ``Show - 2.ª Temporada``, ``Show - Segunda
    temporada``: a season with its number."""
    for pattern in (_SEASON_WORD_FIRST, _SEASON_CJK, _SEASON_NUMBER_FIRST, _SEASON_ORDINAL_WORD):
        m = pattern.match(title)
        if not m:
            continue
        if pattern is _SEASON_NUMBER_FIRST and not _number_first_ok(m):
            continue
        number = (
            _ORDINAL_WORDS[unicodedata.normalize("NFC", m["ord"].casefold())]
            if "ord" in m.groupdict()
            else int(m["n"])
        )
        return m["show"] or "", number
    return None


def _number_first_ok(m: re.Match[str]) -> bool:
    """``2 Season`` alone could be part of a title; a number-first season needs an ordinal
    mark (``4.ª``), a language that writes the number first (``2 сезон``), or a separator
    before it (``Show - 2 Staffel``)."""
    if m["mark"] or unicodedata.normalize("NFC", m["word"].casefold()) in _NUMBER_FIRST_WORDS:
        return True
    return not m["show"] or any(ch in "-–—:," for ch in m["sep"])


def _final_season(title: str) -> tuple[str, None] | None:
    """``Show - The Final Season``, ``Show - Temporada final``: a season without a number.

    Only a separator (``-``, ``:``…), a leading "The" or a non-Latin form sets the suffix
    off after a bare space, so a bare ``The Final Season`` stays a title (a 2007 film)."""
    m = _SEASON_FINAL.match(title)
    if not m or not m["show"].strip(" -–—:,"):
        return None
    form = m["form"].casefold()
    set_off = any(ch in "-–—:," for ch in m["sep"]) or form.startswith("the") or not form.isascii()
    return (m["show"], None) if set_off else None


def season_title(text: str) -> tuple[str, int | None]:
    """Like :func:`split_season`, but the show falls back to the whole text (``Season 3``)."""
    show, season = split_season(text)
    return (show or strip_tags(text) or text.strip()), season


def parse_episode_label(text: str) -> tuple[int | None, str | None]:
    """``Episode 3: JENNY`` → (3, ``JENNY``); ``Pilot`` → (None, ``Pilot``)."""
    label = text.strip()
    for pattern in (_EPISODE, _EPISODE_CJK, _EPISODE_KO):
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
