"""Season suffixes, episode labels, version tags and export titles."""

from __future__ import annotations

import pytest

from pv2simkl import titles


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


def test_export_title_readings() -> None:
    assert titles.export_title_splits("Pilot-Community - Season 1") == [("Pilot", "Community", 1)]
    assert titles.export_title_splits("Opera, Art and Donuts-The Grand Tour - Season 1") == [
        ("Opera, Art and Donuts", "The Grand Tour", 1)
    ]
    assert titles.export_title_splits("Spider-Man") == []
    assert titles.export_title_splits("Pilot-X-Men - Season 1")[0] == ("Pilot", "X-Men", 1)


def test_extras_and_match_key() -> None:
    assert titles.is_extra("The Grand Tour - Official Trailer")
    assert titles.is_extra("The Grand Tour - Bonus Content")
    assert not titles.is_extra("Trailer Park Boys")
    assert titles.match_key("The Tom & Jerry (1992)") == "tom and jerry"
    assert titles.match_key("Schindler's List") == titles.match_key("Schindler’s List")
    assert titles.match_key("千と千尋の神隠し") == "千と千尋の神隠し"
    assert titles.decode("Tom &amp; Jerry") == "Tom & Jerry"
    assert titles.decode("Schindler&#39;s List") == "Schindler's List"
