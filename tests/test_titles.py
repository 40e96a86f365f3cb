"""Season suffixes, episode labels, version tags and export titles."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fixtures.real_samples import REAL_SAMPLES
from pv2simkl import titles

REAL = REAL_SAMPLES


@pytest.mark.parametrize(
    ("text", "show", "season"),
    [
        ("Show - Season 1", "Show", 1),
        ("Das Boot – Staffel 2", "Das Boot", 2),
        ("Landman, Season 2", "Landman", 2),
        ("The Mentalist: Saison 1 L'intégrale", "The Mentalist", 1),
        ("REACHER (TV) - SEASON 01", "REACHER", 1),
        ("Season 3", None, 3),
        ("Reacher", "Reacher", None),
        ("Fallout シーズン2", "Fallout", 2),
        ("A Show, Season #1 (4K UHD)", "A Show", 1),
        ("The Rings Season 1", "The Rings", 1),
        ("La casa de papel - Temporada 3", "La casa de papel", 3),
        ("Gomorra - Stagione 04", "Gomorra", 4),
        ("The Boys - Series 2", "The Boys", 2),
        ("Season of the Witch", "Season of the Witch", None),
    ],
)
def test_split_season(text: str, show: str | None, season: int | None) -> None:
    assert titles.split_season(text) == (show, season)


@pytest.mark.parametrize(
    ("label", "number", "title"),
    [
        ("Episode 3: JENNY", 3, "JENNY"),
        ("Pilot", None, "Pilot"),
        ("Episode 0: Special", 0, "Special"),
        ('Episode 1: "INHERENT RESOLVE"', 1, '"INHERENT RESOLVE"'),
        ("Épisode 1: Pilot", 1, "Pilot"),
        ("Folge 12", 12, None),
        ("Episodio 05: Cinque", 5, "Cinque"),
        ("Episódio 2: Dois", 2, "Dois"),
        ("エピソード5: 何か", 5, "何か"),
        ("Aflevering 15: Natuurlijk is hij dood, deel 1", 15, "Natuurlijk is hij dood, deel 1"),
    ],
)
def test_episode_label(label: str, number: int | None, title: str | None) -> None:
    assert titles.parse_episode_label(label) == (number, title)


def test_regression_episode_number_is_never_read_as_the_season() -> None:
    # An earlier exporter wrote "Episode 5" as season 5.
    assert titles.split_season("Episode 5") == ("Episode 5", None)
    assert titles.parse_episode_label("Episode 5") == (5, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Der Pate [dt./OV]", "Der Pate"),
        ("Dune (4K UHD)", "Dune"),
        ("Face/Off", "Face/Off"),
        ("Movie [censored] Cut", "Movie [censored] Cut"),
    ],
)
def test_strip_tags(text: str, expected: str) -> None:
    assert titles.strip_tags(text) == expected


def test_extras_and_match_key() -> None:
    assert titles.is_extra("The Grand Tour - Official Trailer")
    assert titles.is_extra("The Grand Tour - Bonus Content")
    assert not titles.is_extra("Trailer Park Boys")
    assert titles.match_key("The Tom & Jerry (1992)") == "tom and jerry"
    assert titles.match_key("Schindler's List") == titles.match_key("Schindler’s List")
    assert titles.match_key("千と千尋の神隠し") == "千と千尋の神隠し"
    assert titles.decode("Tom &amp; Jerry") == "Tom & Jerry"
    assert titles.decode("Schindler&#39;s List") == "Schindler's List"


# Season titles of every language Prime Video serves (shared-shapes table), and variants.
LANGUAGE_SEASONS = [
    ("Show - Season 4", "Show", 4),
    ("Show - Series 4", "Show", 4),
    ("Das Boot – Staffel 2", "Das Boot", 2),
    ("Das Boot - 2. Staffel", "Das Boot", 2),
    ("Show: Saison 4", "Show", 4),
    ("Show - Saison 4", "Show", 4),
    ("Show - Temporada 4", "Show", 4),
    ("Show - 4.ª Temporada", "Show", 4),
    ("Show - 4ª Temporada", "Show", 4),
    ("Show - 4º Temporada", "Show", 4),
    ("Show - Cuarta temporada", "Show", 4),
    ("Show - Décima temporada", "Show", 10),
    ("Show - Primera Temporada", "Show", 1),
    ("Show - Terceira Temporada", "Show", 3),
    ("Show - Stagione 4", "Show", 4),
    ("Show - Seizoen 4", "Show", 4),
    ("Show - Säsong 4", "Show", 4),
    ("Show - Sæson 4", "Show", 4),
    ("Show - Sesong 4", "Show", 4),
    ("Show - Kausi 4", "Show", 4),
    ("Show - Sezon 4", "Show", 4),
    ("Show - 4. Sezon", "Show", 4),
    ("Show - Řada 4", "Show", 4),
    ("Show - 4. řada", "Show", 4),
    ("Show - Série 4", "Show", 4),
    ("Show - Сезон 4", "Show", 4),
    ("Show - 4 сезон", "Show", 4),
    ("Show 4-й сезон", "Show", 4),
    ("進撃の巨人 シーズン4", "進撃の巨人", 4),
    ("進撃の巨人 第4シーズン", "進撃の巨人", 4),
    ("킹덤 시즌 4", "킹덤", 4),
    ("킹덤 시즌4", "킹덤", 4),
    ("庆余年 第4季", "庆余年", 4),
    ("Show - सीज़न 4", "Show", 4),
    ("Show - सीज़न 4", "Show", 4),
    ("Show - सीजन 4", "Show", 4),
    ("Show - الموسم 4", "Show", 4),
    ("Show - الموسم ٤", "Show", 4),
    ("Show - Musim 4", "Show", 4),
    ("Show - ซีซั่น 4", "Show", 4),
    ("Show - 2nd Season", "Show", 2),
    ("Show - 2e saison", "Show", 2),
    ("Show – Season 01 (4K UHD)", "Show", 1),
    ("Show - Saison 1 L’intégrale", "Show", 1),
]


@pytest.mark.parametrize(("text", "show", "season"), LANGUAGE_SEASONS)
def test_season_words_of_every_language(text: str, show: str, season: int) -> None:
    assert titles.split_season(text) == (show, season)
    assert titles.season_suffix(text) == (show, season)


@pytest.mark.parametrize(
    ("text", "show"),
    [
        ("L'Attacco dei Giganti - The Final Season", "L'Attacco dei Giganti"),
        ("Show - Temporada final", "Show"),
        ("Show - Última temporada", "Show"),
        ("Show: Final Season", "Show"),
        ("Show - Saison finale", "Show"),
        ("Attack on Titan The Final Season", "Attack on Titan"),
        ("進撃の巨人 ファイナルシーズン", "進撃の巨人"),
    ],
)
def test_final_season_is_a_season_without_a_number(text: str, show: str) -> None:
    assert titles.season_suffix(text) == (show, None)
    assert titles.split_season(text) == (show, None)


@pytest.mark.parametrize(
    "text",
    [
        "Dororo",
        "The Final Season",
        "Final Season",
        "Season of the Witch",
        "Episode 5",
        "Apollo 13",
        "Stranger Things 4",
        "Blade Runner 2049",
        "2001: A Space Odyssey",
        "Mission: Impossible - Fallout",
        "My First Season",
        "Lupin the 3rd - La bugia di Mine Fujiko",
        "Evoluzione!-Serie Pokémon Rubino e Zaffiro",
        "Show 第2季 完全版",
    ],
)
def test_plain_titles_have_no_season_suffix(text: str) -> None:
    assert titles.season_suffix(text) is None
    assert titles.split_season(text) == (titles.strip_tags(text), None)


def test_a_bare_season_has_an_empty_show() -> None:
    assert titles.season_suffix("Season 3") == ("", 3)
    assert titles.season_suffix("Segunda temporada") == ("", 2)
    assert titles.split_season("Segunda temporada") == (None, 2)


# What a correct reading of saved-page-es.html holds (../shared/real-samples/README.md).
SPANISH_PAGE_SEASONS = {
    "Fallout - Temporada 1": ("Fallout", 1),
    "INVENCIBLE - 2.ª TEMPORADA": ("INVENCIBLE", 2),
    "The Boys - 4.ª Temporada": ("The Boys", 4),
    "Generación V - 1.ª Temporada": ("Generación V", 1),
    "Hotel Hazbin - Segunda temporada": ("Hotel Hazbin", 2),
    "Dororo": ("Dororo", None),
}


def test_real_spanish_page_season_titles() -> None:
    page = (REAL / "saved-page-es.html").read_text(encoding="utf-8")
    on_page = set(re.findall(r'<img alt="([^"]*)"', page))
    assert on_page == set(SPANISH_PAGE_SEASONS)
    assert {t: titles.split_season(t) for t in on_page} == SPANISH_PAGE_SEASONS
    labels = re.findall(r"<p>([^<]*)</p>", page)
    assert sorted(titles.parse_episode_label(label)[0] for label in labels) == [
        1,
        1,
        2,
        3,
        4,
        5,
        6,
        8,
    ]


def test_regression_spanish_ordinal_seasons_stayed_in_the_title() -> None:
    # "4.ª Temporada" and "Segunda temporada" were not season words: the show kept them.
    assert titles.season_title("The Boys - 4.ª Temporada") == ("The Boys", 4)
    assert titles.season_title("Hotel Hazbin - Segunda temporada") == ("Hotel Hazbin", 2)


def test_regression_final_season_in_the_real_italian_export() -> None:
    # 27 rows "<episode>-L'Attacco dei Giganti - The Final Season" kept the suffix as a title.
    text = (REAL / "export-a-it-real.csv").read_text(encoding="utf-8-sig")
    rows = [line for line in text.splitlines() if line.endswith(" - The Final Season")]
    assert len(rows) == 27
    for row in rows:
        suffix = titles.season_suffix(row.split(",", 12)[-1])
        assert suffix is not None and suffix[1] is None
        assert suffix[0].endswith("-L'Attacco dei Giganti")


def test_regression_a_season_word_inside_the_episode_does_not_hide_the_suffix() -> None:
    # The first "Season 4" was tried alone; the real suffix after it was never looked at.
    text = "Season 4 Official Trailer-The Man in the High Castle - Season 4"
    assert titles.season_suffix(text) == (
        "Season 4 Official Trailer-The Man in the High Castle",
        4,
    )


@pytest.mark.parametrize(
    ("label", "number", "title"),
    [
        ("Folge 3: Titel", 3, "Titel"),
        ("Épisode 3 : Titre", 3, "Titre"),
        ("Episodio 3: Título", 3, "Título"),
        ("Episódio 3: Título", 3, "Título"),
        ("Aflevering 3: Titel", 3, "Titel"),
        ("Avsnitt 3: Titel", 3, "Titel"),
        ("Afsnit 3: Titel", 3, "Titel"),
        ("Jakso 3: Otsikko", 3, "Otsikko"),
        ("Odcinek 3: Tytuł", 3, "Tytuł"),
        ("Epizoda 3: Název", 3, "Název"),
        ("Díl 3: Název", 3, "Název"),
        ("Серия 3: Название", 3, "Название"),
        ("Эпизод 3: Название", 3, "Название"),
        ("Bölüm 3: Başlık", 3, "Başlık"),
        ("エピソード3: 題名", 3, "題名"),
        ("第3話 題名", 3, "題名"),
        ("에피소드 3: 제목", 3, "제목"),
        ("3화: 제목", 3, "제목"),
        ("第3集: 标题", 3, "标题"),
        ("第3集 标题", 3, "标题"),
        ("एपिसोड 3: शीर्षक", 3, "शीर्षक"),
        ("الحلقة 3: عنوان", 3, "عنوان"),
        ("ตอนที่ 3: ชื่อ", 3, "ชื่อ"),
        ("Ep. 01", 1, None),
        ("Episodio 2", 2, None),
        ("Epic 3", None, "Epic 3"),
        ("Episode 3 Title", None, "Episode 3 Title"),
        ("3회차", None, "3회차"),
        ("Das Finale", None, "Das Finale"),
    ],
)
def test_episode_words_of_every_language(label: str, number: int | None, title: str) -> None:
    assert titles.parse_episode_label(label) == (number, title)


SHOWS = st.text(st.characters(categories=("L", "M", "N", "Zs", "P", "S")), min_size=1, max_size=30)
SEASON_FORMS = [
    "{show} - Season {n}",
    "{show} – Staffel {n}",
    "{show}: Saison {n}",
    "{show}, Season {n}",
    "{show} - Temporada {n}",
    "{show} - {n}.ª Temporada",
    "{show} - {n}. řada",
    "{show} - {n} сезон",
    "{show} 第{n}季",
    "{show} シーズン{n}",
    "{show} 시즌 {n}",
    "{show} - الموسم {n}",
    "{show} - ซีซั่น {n}",
]


@given(SHOWS, st.integers(0, 9999), st.sampled_from(SEASON_FORMS))
def test_split_season_never_loses_the_show(show: str, n: int, form: str) -> None:
    show = " ".join(show.split())
    assume(show and titles.strip_tags(show) == show and show.strip(" -–—:,") == show)
    text = form.format(show=show, n=n)
    assert titles.split_season(text) == (show, n)
    assert titles.season_suffix(text) == (show, n)


@given(st.integers(0, 99999), st.text(min_size=1, max_size=30))
def test_episode_label_keeps_any_title(number: int, title: str) -> None:
    assume(title.strip())
    assert titles.parse_episode_label(f"Episode {number}: {title}") == (number, title.strip())
