"""The data export's title splitter: shows recognised from the whole file (properties)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pv2simkl import titles
from pv2simkl.formats.export_titles import ExportTitles, readings

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzàéìòù'", min_size=2, max_size=8)


def _capital(words: list[str]) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in words)


shows = st.lists(_WORD, min_size=1, max_size=4).map(_capital)
# Episode titles may hold inner hyphens ("Half-Wit", "Bah humbug-atti"), spaces and commas.
episode_titles = st.lists(
    st.lists(_WORD, min_size=1, max_size=3).map(lambda ws: "-".join(ws)), min_size=1, max_size=3
).map(lambda parts: _capital(parts).replace(" ", ", ", 1) if len(parts) > 2 else _capital(parts))
suffixes = st.sampled_from(["", " - Season 2", " - Stagione 3", " - The Final Season"])


@given(
    shows, st.lists(episode_titles, min_size=2, max_size=6, unique_by=titles.match_key), suffixes
)
def test_every_episode_of_a_show_seen_twice_splits_at_the_show(
    show: str, episodes: list[str], suffix: str
) -> None:
    rows = [f"{e}-{show}{suffix}" for e in episodes]
    file_titles = ExportTitles(rows)
    for episode, row in zip(episodes, rows, strict=True):
        reading = file_titles.episode(row)
        assert reading is not None, row
        assert (reading.episode_title, reading.show) == (episode, show)


@given(st.lists(_WORD, min_size=1, max_size=5).map(_capital), shows)
def test_a_spaced_dash_is_a_subtitle_never_a_split(title: str, subtitle: str) -> None:
    movie = f"{title} - {subtitle}"
    assert readings(movie) == []
    assert ExportTitles([movie]).episode(movie) is None


@given(shows, shows)
def test_a_single_suffixless_row_stays_as_written(x: str, y: str) -> None:
    row = f"{x}-{y}"
    file_titles = ExportTitles([row])
    if x.casefold() != y.casefold() and not y.casefold().startswith(("serie", "series")):
        assert file_titles.episode(row) is None
        assert file_titles.ambiguous(row) is not None  # the other reading, for enrich


def test_the_same_episode_title_in_two_seasons_is_two_episodes() -> None:
    rows = ["Quel giorno-L'Attacco dei Giganti - Stagione 1",
            "Quel giorno-L'Attacco dei Giganti - Stagione 3"]  # fmt: skip
    file_titles = ExportTitles(rows)
    assert [(r.show, r.season) for r in map(file_titles.episode, rows)] == [
        ("L'Attacco dei Giganti", 1), ("L'Attacco dei Giganti", 3)
    ]  # fmt: skip


def test_an_episode_named_like_its_show_is_an_episode() -> None:
    special = "Alice Wetterlund: My Mama Is A Human-Alice Wetterlund: My Mama Is A Human"
    assert ExportTitles([special]).episode(special) is not None


def test_readings_of_single_titles() -> None:
    def split(text: str) -> tuple[str, str, int | None] | None:
        reading = ExportTitles([text]).episode(text)
        return (reading.episode_title, reading.show, reading.season) if reading else None

    assert split("Pilot-Community - Season 1") == ("Pilot", "Community", 1)
    assert split("Opera, Art and Donuts-The Grand Tour - Season 1") == (
        "Opera, Art and Donuts", "The Grand Tour", 1
    )  # fmt: skip
    assert split("Spider-Man") is None
    assert split("Pilot-X-Men - Season 1") == ("Pilot", "X-Men", 1)
    assert split("The Horse-Season 3") == ("The Horse", "Season 3", 3)  # a bare "Season 3"


def test_regression_two_spellings_of_one_show_key_go_to_the_one_written_more() -> None:
    # Found by hypothesis: "'a-Aa" and "Aa" share a key (the article dropped), so both
    # readings of "Aa-'a-Aa" had the same support and the leftmost hyphen won.
    file_titles = ExportTitles(["Aa-Aa", "Aa-'a-Aa"])
    reading = file_titles.episode("Aa-'a-Aa")
    assert reading is not None and (reading.episode_title, reading.show) == ("Aa-'a", "Aa")
