"""What reaches Simkl (issue 10): ids found later, enrich before every export, status
from metadata, anime as Simkl counts it. A real store, the real CLI (a process), and the
mock services over HTTP where a provider is asked."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixtures.generator import build_history
from fixtures.services import DEFAULT_KEYS, MockServices
from fixtures.services.catalog import catalog_from_history
from pv2simkl import net, pipeline
from pv2simkl.config import ExportSettings, load_settings
from pv2simkl.models import WatchEvent
from pv2simkl.sinks import simkl_csv as export
from pv2simkl.store import Store

ROOT = Path(__file__).resolve().parents[1]
MINI_PAGE = ROOT / "tests" / "data" / "mini-page.html"  # Das Boot S2E1-2, Der Pate, …
SAMPLES = ROOT / "fixtures" / "samples"
KEYS = {
    "PV2SIMKL_SIMKL_CLIENT_ID": DEFAULT_KEYS["simkl"],
    "PV2SIMKL_TMDB_TOKEN": DEFAULT_KEYS["tmdb"],
    "PV2SIMKL_TVDB_API_KEY": DEFAULT_KEYS["tvdb"],
    "PV2SIMKL_MAL_CLIENT_ID": DEFAULT_KEYS["mal"],
    "PV2SIMKL_OMDB_API_KEY": DEFAULT_KEYS["omdb"],
}
SERVICES = ("simkl", "tmdb", "tvdb", "mal", "jikan", "imdbapi", "omdb")
FAST = {s: [(200, 1.0)] for s in SERVICES}
NO_PROVIDER = {f"PV2SIMKL_{s.upper()}_ENABLED": "0" for s in SERVICES}


# ---- helpers ---------------------------------------------------------------------------


def run(data: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``pv2simkl --data-dir DATA ARGS`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pv2simkl", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=180,
    )


def written(result: subprocess.CompletedProcess) -> list[dict[str, str]]:
    """The rows of the CSV files a command says it wrote."""
    assert result.returncode == 0, result.stderr
    paths = [
        line.removeprefix("Wrote ")
        for line in result.stdout.splitlines()
        if line.startswith("Wrote ")
    ]
    out: list[dict[str, str]] = []
    for path in paths:
        with open(path, encoding="utf-8", newline="") as fh:
            out += list(csv.DictReader(fh))
    return out


def by_title(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {r["Title"]: r for r in rows}


def sql(data: Path, statement: str, params: tuple = ()) -> None:
    """Write to the store as another module would (store/metadata.py in production)."""
    db = sqlite3.connect(data / "pv2simkl.sqlite3")
    with db:
        db.execute(statement, params)
    db.close()


def ep(title: str, season: int | None, episode: int | None, day: int, month: int = 4) -> WatchEvent:
    kind = "movie" if season is None and episode is None else "episode"
    return WatchEvent(
        kind=kind,
        title=title,
        season=season,
        episode=episode,
        episode_title=None if episode is None else f"E{episode}",
        watched_at=datetime(2024, month, day, 21, tzinfo=UTC),
        source="page",
    )


def stored(data: Path, events: list[WatchEvent]) -> None:
    """A store in ``data`` holding ``events``, as an import leaves it."""
    data.mkdir(parents=True, exist_ok=True)
    store = Store(data / "pv2simkl.sqlite3")
    store.add_import(events, path="f", sha256=str(len(events)), source="page")
    store.close()


def anime(data: Path, title: str, entries: list[tuple], **work: object) -> None:
    """Make ``title`` an anime with these anime_entries rows
    (season, mal, simkl, title, episodes, offset), as store/metadata.py writes them."""
    sets = {"media_type": "anime", **work}
    sql(
        data,
        f"UPDATE works SET {', '.join(f'{k} = ?' for k in sets)} WHERE title = ?",
        (*sets.values(), title),
    )
    for season, mal, simkl, name, episodes, offset in entries:
        sql(
            data,
            "INSERT INTO anime_entries (work_id, season, mal_id, simkl_id, title, episodes,"
            ' "offset") SELECT id, ?, ?, ?, ?, ?, ? FROM works WHERE title = ?',
            (season, mal, simkl, name, episodes, offset, title),
        )


@pytest.fixture(scope="module")
def services():
    catalog = catalog_from_history(build_history(7, 60, "en-US"))
    with MockServices(catalog, limits=FAST) as mock:
        yield mock


@pytest.fixture(autouse=True)
def _no_backoff():
    with net.no_backoff():
        yield


def provider_env(services: MockServices, **extra: str) -> dict[str, str]:
    env = {"PV2SIMKL_OFFLINE": "0", **KEYS}
    env.update({f"PV2SIMKL_{s.upper()}_BASE_URL": url for s, url in services.base_urls.items()})
    env.update({f"PV2SIMKL_{s.upper()}_LIMITS": "150/1" for s in SERVICES})
    env.update(extra)
    return env


# ---- 1. ids found later reach Simkl, once ------------------------------------------------


def test_ids_found_after_an_export_are_written_once_with_the_work(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = written(run(data, "import", str(MINI_PAGE), "--export"))  # offline: titles only
    assert by_title(first)["Der Pate"]["TMDB"] == ""
    sql(
        data,
        "UPDATE works SET tmdb_id = 238, imdb_id = 'tt0068646', ids_pending = 1"
        " WHERE title = 'Der Pate'",
    )
    second = written(run(data, "export"))
    assert [r["Title"] for r in second] == ["Der Pate"]
    assert (second[0]["TMDB"], second[0]["IMDB_ID"], second[0]["Type"]) == (
        "238",
        "tt0068646",
        "movie",
    )
    third = run(data, "export")
    assert written(third) == [] and "Nothing new to export." in third.stdout


def test_ids_found_later_come_with_all_the_shows_events(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stored(data, [ep("Show", 1, 1, 1), ep("Show", 1, 2, 2), ep("Other", 1, 1, 3)])
    written(run(data, "export"))
    sql(data, "UPDATE works SET tvdb_id = 4711, ids_pending = 1 WHERE title = 'Show'")
    (row,) = written(run(data, "export"))
    assert (row["Title"], row["TVDB_ID"], row["LastEpWatched"], row["WatchedDate"]) == (
        "Show",
        "4711",
        "s1e2",
        "4/2/2024",
    )


def test_a_rolled_back_batch_leaves_the_ids_pending(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stored(data, [ep("Movie", None, None, 1)])
    written(run(data, "export"))
    sql(data, "UPDATE works SET tmdb_id = 9, ids_pending = 1 WHERE title = 'Movie'")
    store = Store(data / "pv2simkl.sqlite3")
    out = tmp_path / "out"
    out.mkdir()
    # A crash after claiming and writing a temporary file, before the rename …
    batch = store.begin_batch(export_dir=str(out), files=["simkl-x.csv"], all_history=False)
    assert store.work_ids_in_batch(batch) == [1]
    (out / ".simkl-x.csv.tmp").write_text("partial")
    (line,) = export.recover(store)
    assert "rolled back" in line and not list(out.iterdir())
    # … a delta with nothing new claims it again; one that is empty claims nothing.
    result = export.export(store, out, ExportSettings(timezone="UTC"))
    assert [r["TMDB"] for r in _read(result.files)] == ["9"]
    assert export.export(store, out, ExportSettings(timezone="UTC")).files == []
    store.close()


def test_ids_changed_while_a_batch_is_written_wait_for_the_next(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stored(data, [ep("Movie", None, None, 1)])
    store = Store(data / "pv2simkl.sqlite3")
    batch = store.begin_batch(export_dir=str(tmp_path), files=[], all_history=False)
    sql(data, "UPDATE works SET tmdb_id = 9, ids_pending = 1 WHERE title = 'Movie'")
    store.finish_batch(batch)
    result = export.export(store, tmp_path / "out", ExportSettings(timezone="UTC"))
    assert [r["TMDB"] for r in _read(result.files)] == ["9"]
    store.close()


def _read(paths: list[Path]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in paths:
        with open(path, encoding="utf-8", newline="") as fh:
            rows += list(csv.DictReader(fh))
    return rows


# ---- 2. every path that exports enriches first ---------------------------------------------


def test_import_export_enriches_first(tmp_path: Path, services: MockServices) -> None:
    data = tmp_path / "data"
    result = run(data, "import", str(MINI_PAGE), "--export", env=provider_env(services))
    rows = by_title(written(result))
    assert (rows["Der Pate"]["TMDB"], rows["Der Pate"]["IMDB_ID"]) == ("238", "tt0068646")
    assert rows["Das Boot"]["TVDB_ID"] and rows["Das Boot"]["LastEpWatched"] == "s2e2"
    assert "matched" in result.stdout and "warning" not in result.stderr


def test_export_alone_does_not_ask_the_services(tmp_path: Path, services: MockServices) -> None:
    data = tmp_path / "data"
    written(run(data, "import", str(MINI_PAGE)))
    services.reset_log()
    rows = by_title(written(run(data, "export", env=provider_env(services))))
    assert rows["Der Pate"]["TMDB"] == "" and len(services.log) == 0


def test_no_usable_provider_exports_quietly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run(
        data, "import", str(MINI_PAGE), "--export", env={"PV2SIMKL_OFFLINE": "0", **NO_PROVIDER}
    )
    rows = by_title(written(result))
    assert rows["Der Pate"]["TMDB"] == ""
    said = result.stdout + result.stderr
    assert not any(w in said for w in ("metadata provider", "lookups failed", "Looked up"))


def test_every_service_down_still_exports(tmp_path: Path) -> None:
    data = tmp_path / "data"
    down = {f"PV2SIMKL_{s.upper()}_BASE_URL": "http://127.0.0.1:9" for s in SERVICES}
    env = {
        "PV2SIMKL_OFFLINE": "0",
        **KEYS,
        **down,
        **{f"PV2SIMKL_{s.upper()}_ATTEMPTS": "1" for s in SERVICES},
    }
    result = run(data, "import", str(MINI_PAGE), "--export", env=env)
    rows = by_title(written(result))
    assert set(rows) >= {"Der Pate", "Das Boot"} and rows["Der Pate"]["TMDB"] == ""
    assert "No metadata service could be reached" in result.stderr  # their port is closed
    assert "Traceback" not in result.stderr


def test_fetch_export_enriches_first(tmp_path: Path, services: MockServices) -> None:
    from fixtures.fake_amazon import TEST_EMAIL, TEST_PASSWORD, TEST_TOTP_SECRET, FakeAmazon

    data = tmp_path / "data"
    with FakeAmazon(build_history(7, 60, "en-US")) as fake:
        env = provider_env(
            services,
            PV2SIMKL_AMAZON_SIGNIN_URL=fake.signin_url,
            PV2SIMKL_AMAZON_STARTUP_CONFIG_URL=fake.startup_config_url,
            PV2SIMKL_AMAZON_CATALOG_URL=fake.url,
            PV2SIMKL_AMAZON_EMAIL=TEST_EMAIL,
            PV2SIMKL_AMAZON_PASSWORD=TEST_PASSWORD,
            PV2SIMKL_AMAZON_TOTP_SECRET=TEST_TOTP_SECRET,
        )
        rows = written(run(data, "fetch", "--export", env=env))
    with_ids = [r for r in rows if r["simkl_id"] or r["TMDB"] or r["TVDB_ID"]]
    assert rows and len(with_ids) >= 0.8 * len(rows)


def test_the_daemons_inbox_file_is_enriched_before_its_export(
    tmp_path: Path, services: MockServices
) -> None:
    env = {"PV2SIMKL_DATA_DIR": str(tmp_path / "data"), **provider_env(services)}
    ctx = pipeline.Context.create(load_settings(env=env))
    ctx.paths.inbox.mkdir(parents=True, exist_ok=True)
    dropped = ctx.paths.inbox / "page.html"
    dropped.write_bytes(MINI_PAGE.read_bytes())
    assert pipeline.import_inbox_file(ctx, dropped).ok
    rows = by_title(_read(pipeline.export(ctx).files))  # what the daemon does next
    ctx.close()
    assert rows["Der Pate"]["TMDB"] == "238" and rows["Das Boot"]["TVDB_ID"]


def test_sync_enriches_the_inbox_before_its_export(tmp_path: Path, services: MockServices) -> None:
    data = tmp_path / "data"
    (data / "inbox").mkdir(parents=True)
    (data / "inbox" / "page.html").write_bytes(MINI_PAGE.read_bytes())
    env = provider_env(services, PV2SIMKL_DAEMON_SETTLE_SECONDS="0.05")
    result = run(data, "sync", env=env)
    rows = by_title(written(result))
    assert rows["Der Pate"]["TMDB"] == "238" and "inbox: 1 imported" in result.stdout


# ---- 3. status from metadata ---------------------------------------------------------------


def test_status_completed_only_for_an_ended_show_watched_to_its_last_episode(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    stored(
        data,
        [
            ep("Done", 1, 8, 1),
            ep("Done", 2, 10, 2),
            ep("Behind", 2, 9, 3),
            ep("Airing", 3, 4, 4),
            ep("Unknown", 1, 1, 5),
            ep("Film", None, None, 6),
        ],
    )
    for title, status, season, episode in [
        ("Done", "ended", 2, 10),
        ("Behind", "ended", 2, 10),
        ("Airing", "airing", 3, 4),
        ("Unknown", "ended", None, None),
    ]:
        sql(
            data,
            "UPDATE works SET show_status = ?, last_aired_season = ?,"
            " last_aired_episode = ? WHERE title = ?",
            (status, season, episode, title),
        )
    rows = by_title(written(run(data, "export")))
    assert {t: r["Watchlist"] for t, r in rows.items()} == {
        "Done": "completed",
        "Behind": "watching",
        "Airing": "watching",
        "Unknown": "watching",
        "Film": "completed",
    }


# ---- 4. anime as Simkl counts it ----------------------------------------------------------


def test_two_season_anime_is_two_entries_with_their_own_numbers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    season_1 = [ep("Attack on Titan", 1, n, 1 + n // 5, month=3) for n in range(1, 26)]
    stored(data, [*season_1, ep("Attack on Titan", 2, 4, 10), ep("Attack on Titan", 2, 5, 11)])
    anime(
        data,
        "Attack on Titan",
        [
            (1, 16498, 38046, "Shingeki no Kyojin", 25, 0),
            (2, 25777, None, "Shingeki no Kyojin Season 2", 12, 0),
        ],
        year=2013,
        mal_id=16498,
        simkl_id=38046,
        tvdb_id=267440,
    )
    rows = written(run(data, "export"))
    assert [
        (
            r["MAL_ID"],
            r["simkl_id"],
            r["Type"],
            r["Title"],
            r["Year"],
            r["LastEpWatched"],
            r["Watchlist"],
            r["WatchedDate"],
            r["TVDB_ID"],
        )
        for r in rows
    ] == [
        (
            "16498",
            "38046",
            "tv",
            "Attack on Titan",  # the first entry is the work as the person knows it
            "2013",
            "s1e25",
            "completed",
            "3/6/2024",
            "",
        ),
        ("25777", "", "tv", "Shingeki no Kyojin Season 2", "", "s1e5", "watching", "4/11/2024", ""),
    ]


def test_one_entry_spanning_three_seasons_counts_across_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stored(data, [ep("One Piece", 1, 20, 1), ep("One Piece", 2, 25, 2), ep("One Piece", 3, 7, 3)])
    anime(
        data,
        "One Piece",
        [
            (1, 21, 38636, None, None, 0),
            (2, 21, 38636, None, None, 20),
            (3, 21, 38636, None, None, 45),
        ],
    )
    (row,) = written(run(data, "export"))
    assert (row["MAL_ID"], row["Title"], row["LastEpWatched"], row["Watchlist"]) == (
        "21",
        "One Piece",
        "s1e52",
        "watching",
    )
    assert row["WatchedDate"] == "4/3/2024"


def test_seasons_no_entry_holds_stay_a_tv_row_never_a_bare_number(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stored(
        data,
        [
            ep("Mixed", 1, 12, 1),
            ep("Mixed", 2, 3, 2),
            ep("Mixed", 3, 4, 3),
            ep("Plain", 1, 25, 4),
            ep("Plain", 2, 5, 5),
        ],
    )
    anime(
        data,
        "Mixed",
        [(1, 100, None, "Mixed", 12, 0), (2, 200, None, "Mixed 2", None, 0)],
        tvdb_id=555,
        mal_id=100,
    )
    anime(data, "Plain", [], mal_id=300, tvdb_id=777)  # anime, but no entry known
    rows = written(run(data, "export"))
    got = [(r["Title"], r["MAL_ID"], r["TVDB_ID"], r["Type"], r["LastEpWatched"]) for r in rows]
    assert got == [
        ("Mixed", "100", "", "tv", "s1e12"),
        ("Mixed 2", "200", "", "tv", "s1e3"),
        ("Mixed", "", "555", "tv", "s3e4"),  # season 3: no entry holds it
        ("Plain", "300", "777", "tv", "s2e5"),  # not "5": that would undercount
    ]


def test_anime_entries_come_again_once_when_the_ids_change(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stored(data, [ep("Anime", 1, 3, 1), ep("Anime", 2, 2, 2)])
    written(run(data, "export"))  # before enrich: one title-only row
    anime(
        data,
        "Anime",
        [(1, 11, None, "Anime", 12, 0), (2, 22, None, "Anime II", 12, 0)],
        mal_id=11,
        ids_pending=1,
    )
    rows = written(run(data, "export"))
    assert [(r["MAL_ID"], r["LastEpWatched"]) for r in rows] == [("11", "s1e3"), ("22", "s1e2")]
    assert written(run(data, "export")) == []


# ---- end to end: import → export → enrich → export -------------------------------------------


def test_enrich_after_an_export_sends_the_ids_anime_entries_and_status(
    tmp_path: Path, services: MockServices
) -> None:
    data = tmp_path / "data"
    aot = [ep("Attack on Titan", 1, n, 1) for n in (24, 25)] + [ep("Attack on Titan", 2, 5, 3)]
    kakeru = [ep("Detective Kakeru", 1, 26, 6), ep("Detective Kakeru", 2, 3, 7)]
    stored(data, [*aot, *kakeru, ep("Das Boot", 1, 1, 2), ep("Das Boot", 3, 6, 4),
                  ep("Reacher", 2, 8, 5)])  # fmt: skip
    before = by_title(written(run(data, "export")))
    assert before["Attack on Titan"]["LastEpWatched"] == "s2e5"  # no entries known yet
    assert before["Das Boot"]["TVDB_ID"] == "" and before["Das Boot"]["Watchlist"] == "watching"
    assert run(data, "enrich", env=provider_env(services)).returncode == 0
    after = written(run(data, "export"))
    rows = by_title(after)
    assert len(after) == 5  # each work once; Attack on Titan as its two MAL entries
    assert [(r["MAL_ID"], r["simkl_id"], r["LastEpWatched"], r["Watchlist"])
            for r in after[:2]] == [
        ("16498", "39687", "s1e25", "completed"),
        ("25777", "512251", "s1e5", "watching"),  # the sequel entry's own Simkl id
    ]  # fmt: skip
    assert (rows["Das Boot"]["TVDB_ID"], rows["Das Boot"]["Watchlist"]) == ("346321", "completed")
    assert (rows["Reacher"]["TMDB"], rows["Reacher"]["Watchlist"]) == ("108978", "watching")
    # A long-running series is one entry: season 2 episode 3 is its episode 29.
    kakeru_row = rows["Detective Kakeru"]
    assert (kakeru_row["MAL_ID"], kakeru_row["LastEpWatched"]) == ("50001", "s1e29")
    assert written(run(data, "export")) == []


def test_a_show_matched_before_details_were_kept_gets_them_once(
    tmp_path: Path, services: MockServices
) -> None:
    # A store matched by an earlier version: ids, no status, no details_at. The next
    # enrich asks for the details only (no search), the show turns completed, and the
    # enrich after that asks nothing.
    data = tmp_path / "data"
    stored(data, [ep("Das Boot", 1, 1, 2), ep("Das Boot", 3, 6, 4)])
    sql(
        data,
        "UPDATE works SET tvdb_id = 346321, tmdb_id = 70523, match_status = 'matched',"
        " resolved_at = '2024-01-01T00:00:00.000Z' WHERE title = 'Das Boot'",
    )
    assert by_title(written(run(data, "export")))["Das Boot"]["Watchlist"] == "watching"
    services.reset_log()
    assert run(data, "enrich", env=provider_env(services)).returncode == 0
    asked = services.requests()
    assert asked and not [r for r in asked if "search" in r.path]
    (row,) = written(run(data, "export"))
    assert (row["Title"], row["Watchlist"]) == ("Das Boot", "completed")
    services.reset_log()
    assert run(data, "enrich", env=provider_env(services)).returncode == 0
    assert services.requests() == []


def test_status_counts_titles_waiting_to_go_again_with_their_ids(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stored(data, [ep("Show", 1, 1, 1), ep("Other", 1, 1, 3)])
    written(run(data, "export"))
    assert "export again" not in run(data, "status").stdout
    sql(data, "UPDATE works SET tvdb_id = 4711, ids_pending = 1 WHERE title = 'Show'")
    assert "1 title to export again with ids found since" in run(data, "status").stdout
    written(run(data, "export"))
    assert "export again" not in run(data, "status").stdout


def test_regression_no_network_exports_at_once_with_titles(tmp_path: Path) -> None:
    # The quick start on a machine with no network waited minutes on the keyless services'
    # retries before its CSV: a service whose host takes no connection now sits the run out.
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    env = {"PV2SIMKL_OFFLINE": "0", **NO_PROVIDER, "PV2SIMKL_JIKAN_ENABLED": "1",
           "PV2SIMKL_IMDBAPI_ENABLED": "1", "PV2SIMKL_JIKAN_BASE_URL": closed,
           "PV2SIMKL_IMDBAPI_BASE_URL": closed}  # fmt: skip
    result = run(tmp_path / "data", "import", str(MINI_PAGE), "--export", env=env)
    rows = written(result)
    assert "Der Pate" in {r["Title"] for r in rows}
    assert "No metadata service could be reached" in result.stderr
    assert "after 6 tries" not in result.stderr  # not one retry was waited out
