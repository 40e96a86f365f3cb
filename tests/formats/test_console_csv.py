"""The browser-console exporter's CSV, every version: real files, generated files, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from golden_support import LOCALE_SAMPLES, SAMPLES, GoldenCheck
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fixtures.real_samples import REAL_SAMPLES
from pv2simkl import titles
from pv2simkl.formats import console_csv, console_json, parse_bytes
from pv2simkl.sources.files import parse_file

REAL = REAL_SAMPLES

# What a correct reading of each real console CSV holds, as ../shared/real-samples/README.md
# says: (kind, show or movie, season, episode, episode title, watched_at, precision, gti).
DARK_WOLF = ("episode", "The Terminal List: Dark Wolf", 1, 1, '"INHERENT RESOLVE"')
EEAAO = ("movie", "Everything Everywhere All at Once", None, None, None)
SOME_MOVIE_2 = ("movie", "Some Movie 2", None, None, None)
SOME_MOVIE_1 = ("movie", "Some Movie 1", None, None, None)
STRIKE = ("episode", "Some Show", 2, None, "Some Episode 8: Strike")
ASSASSIN = ("episode", "Some Show", 2, None, "Some Episode 7: Assassin")
DARK_WOLF_GTI = "amzn1.dv.gti.16c010ce-0da6-42fb-b031-13dfa43105b6"
EEAAO_GTI = "amzn1.dv.gti.9d433401-4b4f-4737-9ec7-ce92e6b313f2"


def _day(what: tuple, day: str) -> tuple:
    return (*what, f"{day}T12:00:00.000Z", "day", None)


V3_EXACT = [
    (*DARK_WOLF, "2025-09-28T02:00:24.173Z", "exact", DARK_WOLF_GTI),
    (*EEAAO, "2023-10-03T04:06:31.437Z", "exact", EEAAO_GTI),
]
V1_V2_DAYS = [
    _day(DARK_WOLF, "2025-09-28"),
    _day(EEAAO, "2023-10-03"),
    _day(SOME_MOVIE_2, "2022-05-21"),
    _day(SOME_MOVIE_1, "2022-05-21"),
    _day(STRIKE, "2022-05-15"),
    _day(ASSASSIN, "2022-05-15"),
]
REAL_CSV = {
    "console-v0.csv": [
        _day(DARK_WOLF, "2025-09-28"),
        _day(EEAAO, "2023-10-03"),
        _day(SOME_MOVIE_2, "2022-05-21"),
        _day(STRIKE, "2022-05-15"),
    ],
    "console-v1-en.csv": V1_V2_DAYS,
    "console-v2-en.csv": V1_V2_DAYS,
    "console-v2-de.csv": [_day(DARK_WOLF, "2025-09-28"), _day(EEAAO, "2023-10-03")],
    "console-v3.csv": V3_EXACT,
    "console-v3-epoch-ms.csv": V3_EXACT,
}


def _readings(path: Path) -> list[tuple]:
    """Every event of a file in the README's terms; nothing may be skipped or ignored."""
    parsed = parse_file(path)
    flat = parsed.flat
    assert not flat.errors and not flat.warnings and not flat.unreadable and not flat.ignored
    rows = []
    for event in flat.events:
        public = event.to_public()
        assert public["source"] == "csv"
        rows.append(
            (
                public["kind"],
                public["title"],
                public["season"],
                public["episode"],
                public["episode_title"],
                public["watched_at"],
                public["precision"],
                public["gti"],
            )  # fmt: skip
        )
    return rows


@pytest.mark.parametrize("sample", sorted(REAL_CSV))
def test_real_console_csv_reads_exactly(sample: str) -> None:
    assert _readings(REAL / sample) == REAL_CSV[sample]


@pytest.mark.parametrize("sample", sorted(REAL_CSV))
def test_pre_v3_and_epoch_ms_files_were_refused_as_not_a_history_file(sample: str) -> None:
    data = (REAL / sample).read_bytes()
    assert console_csv.sniff(data)
    assert parse_bytes(data, sample)[0] == console_csv.NAME


def test_german_v2_file_carries_the_page_language() -> None:
    events = parse_file(REAL / "console-v2-de.csv").flat.events
    assert {e.locale for e in events} == {"de-de"}


def _generated_console_files() -> list[tuple[str, str]]:
    """Every console file the fixture generator wrote that has its expected events."""
    found = []
    for locale in LOCALE_SAMPLES:
        for path in sorted((SAMPLES / locale).glob("console*")):
            if path.suffix in {".csv", ".json"} and path.with_suffix(".expected.jsonl").exists():
                found.append((locale, path.name))
    return found


@pytest.mark.parametrize(("locale", "sample"), _generated_console_files())
def test_console_csv_matches_expected_events(golden: GoldenCheck, locale: str, sample: str) -> None:
    path = SAMPLES / locale / sample
    golden([path], path.with_suffix(".expected.jsonl"))


OTHER_REAL_SAMPLES = [
    "export-a-it-real.csv",
    "export-a-it-real.zip",
    "history-json-fr-2022.json",
    "saved-page-es.html",
    "simkl-import-example.csv",
]


@pytest.mark.parametrize("sample", OTHER_REAL_SAMPLES)
def test_console_sniffers_leave_other_formats_alone(sample: str) -> None:
    head = (REAL / sample).read_bytes()[: 64 * 1024]
    assert not console_csv.sniff(head)
    assert not console_json.sniff(head)


# ---- every header language the exporter shipped (its v2.x I18N table) ----------------------

# (header, series word, movie word, season title, episode label, page language)
SHIPPED_LANGUAGES = {
    "en-us": ("Date Watched,Type,Title,Episode", "Series", "Movie", "Show - Season 2",
              "Episode 3: Drei", None),
    "de-de": ("Datum angesehen,Typ,Titel,Folge", "Serie", "Film", "Show – Staffel 2",
              "Folge 3: Drei", "de-de"),
    "de-de v2.0": ("Datum angesehen,Typ,Titel,Episode", "Serie", "Film", "Show – Staffel 2",
                   "Folge 3: Drei", "de-de"),
    "es-419": ("Fecha vista,Tipo,Título,Episodio", "Serie", "Película", "Show - Temporada 2",
               "Episodio 3: Drei", "es-419"),
    "es-es": ("Fecha de visualización,Tipo,Título,Episodio", "Serie", "Película",
              "Show - Temporada 2", "Episodio 3: Drei", "es-es"),
    "fr-fr": ("Date regardée,Type,Titre,Épisode", "Série", "Film", "Show: Saison 2",
              "Épisode 3: Drei", "fr-fr"),
    "pt-br": ("Data assistida,Tipo,Título,Episódio", "Série", "Filme", "Show - Temporada 2",
              "Episódio 3: Drei", "pt-br"),
    "pt-pt": ("Data de visualização,Tipo,Título,Episódio", "Série", "Filme",
              "Show - Temporada 2", "Episódio 3: Drei", "pt-pt"),
    "zh-tw": ("觀看日期,類型,標題,集", "劇集系列", "電影", "Show 第2季", "第3集: Drei", "zh-tw"),
    "zh-cn": ("觀看日期,類型,標題,集", "剧集系列", "電影", "Show 第2季", "第3集: Drei", "zh-tw"),
    "ja-jp": ("視聴日,種類,タイトル,エピソード", "シリーズ", "映画", "Show シーズン2",
              "エピソード3: Drei", "ja-jp"),
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(SHIPPED_LANGUAGES))
def test_every_header_language_the_exporter_shipped(language: str, tmp_path: Path) -> None:
    header, series, movie, season_title, label, lang = SHIPPED_LANGUAGES[language]
    path = tmp_path / "watch-history.csv"
    path.write_text(
        f'{header}\n2024-04-23,{series},"{season_title}","{label}"\n'
        f'2024-04-22,{movie},"Der Pate [dt./OV]",\n',
        encoding="utf-8",
    )
    events = parse_file(path).flat.events
    assert [(e.kind, e.title, e.season, e.episode, e.episode_title) for e in events] == [
        ("episode", "Show", 2, 3, "Drei"),
        ("movie", "Der Pate", None, None, None),
    ]
    assert [e.watched_at.isoformat() for e in events] == [
        "2024-04-23T12:00:00+00:00",
        "2024-04-22T12:00:00+00:00",
    ]
    assert {e.precision for e in events} == {"day"}
    assert {e.locale for e in events} == {lang}


def test_last_v2_edition_quoted_localized_header_with_exact_times(tmp_path: Path) -> None:
    path = tmp_path / "watch-history.csv"
    path.write_text(
        '"Datum angesehen","Typ","Titel","Folge"\n'
        '2025-09-28 02:00:24.173,"Serie","Dark Wolf - Staffel 1","Folge 1: ""INHERENT"""\n'
        '1696305991437,"Film","Everything Everywhere All at Once",""\n',
        encoding="utf-8",
    )
    events = parse_file(path).flat.events
    assert [(e.title, e.episode, e.episode_title, e.precision) for e in events] == [
        ("Dark Wolf", 1, '"INHERENT"', "exact"),
        ("Everything Everywhere All at Once", None, None, "exact"),
    ]
    assert [e.watched_at.isoformat(timespec="milliseconds") for e in events] == [
        "2025-09-28T02:00:24.173+00:00",
        "2023-10-03T04:06:31.437+00:00",
    ]


def test_v3_with_custom_semicolon_delimiter(tmp_path: Path) -> None:
    original = (REAL / "console-v3.csv").read_text(encoding="utf-8")
    path = tmp_path / "watch-history.csv"
    path.write_text(original.replace('","', '";"'), encoding="utf-8")
    assert _readings(path) == REAL_CSV["console-v3.csv"]


def test_older_four_column_version_with_localized_dates(tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    path.write_text(
        "Date Watched,Type,Title,Episode Title\n"
        "23. April 2024,Series,Das Boot – Staffel 2,Folge 3: Drei\n"
        "5. März 2024,Movie,Der Pate [dt./OV],\n",
        encoding="utf-8",
    )
    events = parse_file(path, locale="de-DE").flat.events
    assert [(e.kind, e.title, e.season, e.episode, e.precision) for e in events] == [
        ("episode", "Das Boot", 2, 3, "day"),
        ("movie", "Der Pate", None, None, "day"),
    ]


# ---- v0 / v1: inner quotes never doubled ------------------------------------------------------

# Any text, with quotes, commas and spaces frequent. Left out are the two shapes an undoubled
# file cannot tell apart from others: two quotes side by side (a doubled-quote file writes
# one quote so) and a title holding a separator followed by a numbered episode label; and
# trailers and bonus content, which are never watches.
_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from('"", ,'),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n&"),
    ),
    min_size=1,
    max_size=30,
)
_SEPARATOR = re.compile(r'"\s*,\s*"')


def _clean(text: str) -> bool:
    """No doubled quote, no whitespace the normaliser folds, no second reading, no extra."""
    labelled = (titles.parse_episode_label(text[m.end() :])[0] for m in _SEPARATOR.finditer(text))
    return (
        '""' not in text
        and text == " ".join(text.split())
        and not titles.is_extra(text)
        and not any(n is not None for n in labelled)
    )


@settings(max_examples=500, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.booleans(), _TEXT, st.integers(1, 999), _TEXT), min_size=1, max_size=4
    ),
    spaced=st.booleans(),
)
def test_unescaped_inner_quotes_round_trip(
    rows: list[tuple[bool, str, int, str]], spaced: bool
) -> None:
    assume(all(_clean(title) and _clean(name) for _, title, _, name in rows))
    sep = ", " if spaced else ","
    lines = [sep.join(["Date Watched", "Type", "Title", "Episode"])]
    for is_episode, title, number, name in rows:
        if is_episode:
            lines.append(
                sep.join(["2024-04-23", "Series", f'"{title}"', f'"Episode {number}: {name}"'])
            )
        else:
            lines.append(sep.join(["2024-04-23", "Movie", f'"{title}"', ""]))
    flat = console_csv.parse("\n".join(lines).encode(), name="v1.csv")
    assert not flat.unreadable
    got = [(e.kind, e.raw_title, e.episode, e.episode_title) for e in flat.events]
    want = [
        ("episode", title, number, name) if is_episode else ("movie", title, None, None)
        for is_episode, title, number, name in rows
    ]
    assert got == want


def test_v0_file_cut_at_a_hash_keeps_the_rows_before_and_says_so() -> None:
    # v0 opened its CSV as an encodeURI data URL: a '#' in a title ended the file there.
    data = (
        b"Date Watched, Type, Title, Episode\n"
        b'2023-10-03, Movie, "Everything Everywhere All at Once", \n'
        b'2022-05-15, Series, "Some Show - Season 2", "Episode 3: We are number '
    )
    flat = console_csv.parse(data, name="v0.csv")
    assert [(e.title, e.season, e.episode, e.episode_title) for e in flat.events] == [
        ("Everything Everywhere All at Once", None, None, None),
        ("Some Show", 2, 3, "We are number"),
    ]
    assert len(flat.warnings) == 1 and "'#'" in flat.warnings[0]


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "episode",
    ['"Episode 1: ""Doubled"""', '"Episode 1: "Not doubled""'],
    ids=["strict", "unescaped"],
)
def test_unreadable_dates_are_skipped_and_grouped(episode: str) -> None:
    data = (
        "Date Watched,Type,Title,Episode\n"
        f'31 Foobar 2024,Series,"Show - Season 1",{episode}\n'
        '2024-04-23,Movie,"Kept",\n'
        '2024-13-45,Movie,"Bad month",\n'
        ',Movie,"No date",\n'
    ).encode()
    flat = console_csv.parse(data, name="bad.csv")
    assert [e.title for e in flat.events] == ["Kept"]
    assert list(flat.unreadable) == ["date"]
    assert flat.unreadable["date"].reason == "dates like '31 Foobar 2024' could not be read"
    assert flat.unreadable["date"].where == ["line 2", "line 4", "line 5"]


def test_rows_without_title_or_shape_are_skipped_not_fatal() -> None:
    data = (
        b"Date Watched,Type,Title,Episode\n"
        b'2024-04-23,Movie,"",\n'
        b"just some words\n"
        b'2024-04-23,Series,"Show - Season 1","Episode 2: "Two""\n'
    )
    flat = console_csv.parse(data, name="bad.csv")
    assert [(e.title, e.episode) for e in flat.events] == [("Show", 2)]
    assert flat.unreadable["title"].where == ["line 2"]
    assert flat.unreadable["row"].where == ["line 3"]


def test_v3_line_cut_short_is_skipped() -> None:
    lines = (REAL / "console-v3.csv").read_text(encoding="utf-8").splitlines()
    data = "\n".join([*lines, lines[1][:40]]).encode()
    flat = console_csv.parse(data, name="cut.csv")
    assert len(flat.events) == 2
    assert flat.unreadable["row"].where == ["line 4"]
