"""``enrich`` end to end: a real store, the CLI's pipeline, the mock services over HTTP."""

from __future__ import annotations

import csv
import logging
import os
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from fixtures.generator import build_history
from fixtures.services import DEFAULT_KEYS, MockServices
from fixtures.services.catalog import Catalog, catalog_from_history, fold
from pv2simkl import net, pipeline
from pv2simkl.config import load_settings

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
KEYS = {
    "PV2SIMKL_SIMKL_CLIENT_ID": DEFAULT_KEYS["simkl"],
    "PV2SIMKL_TMDB_TOKEN": DEFAULT_KEYS["tmdb"],
    "PV2SIMKL_TVDB_API_KEY": DEFAULT_KEYS["tvdb"],
    "PV2SIMKL_MAL_CLIENT_ID": DEFAULT_KEYS["mal"],
    "PV2SIMKL_OMDB_API_KEY": DEFAULT_KEYS["omdb"],
}


# Limits are proven in tests/providers/test_http.py; here the mock and the client agree on
# generous ones so the suite stays quick, and backoff sleeps are off (attempts unchanged).
FAST = {s: [(200, 1.0)] for s in ("simkl", "tmdb", "tvdb", "mal", "jikan", "imdbapi", "omdb")}


def consistent_with(catalog: Catalog, history) -> Catalog:
    """The catalog as the world is: nothing came out after it was first watched.

    The generated history watches some titles on random days (REACHER in 2019) and the
    catalog gives others random years; the resolver rightly refuses a title released
    after its first watch, so each work's year and release date are moved to on or before
    the first watch of any title it stands for.
    """
    first: dict[str, date] = {}
    for leaf in history.events:
        key = fold(leaf.title)
        first[key] = min(first.get(key, leaf.day), leaf.day)
    for work in catalog:
        watched = [first[k] for k in map(fold, work.all_titles()) if k in first]
        if watched and work.release_date > min(watched):
            day = min(watched) - timedelta(days=30)
            work.released, work.year = day.isoformat(), day.year
    return catalog


@pytest.fixture(scope="module")
def services():
    history = build_history(7, 60, "en-US")
    catalog = consistent_with(catalog_from_history(history), history)
    with MockServices(catalog, limits=FAST) as mock:
        yield mock


@pytest.fixture(autouse=True)
def _no_backoff():
    with net.no_backoff():
        yield


def make_ctx(tmp_path: Path, services: MockServices, **extra: str) -> pipeline.Context:
    env = {"PV2SIMKL_DATA_DIR": str(tmp_path), "PV2SIMKL_EXPORT_TIMEZONE": "UTC", **KEYS}
    env.update({f"PV2SIMKL_{s.upper()}_BASE_URL": url for s, url in services.base_urls.items()})
    env.update({f"PV2SIMKL_{s.upper()}_LIMITS": "150/1" for s in FAST})
    env.update(extra)
    return pipeline.Context.create(load_settings(env=env))


def imported(tmp_path: Path, services: MockServices, **extra: str) -> pipeline.Context:
    ctx = make_ctx(tmp_path, services, **extra)
    folder = SAMPLES / "en-US"
    pipeline.import_paths(ctx, [folder / "export-c.zip", folder / "saved-page-expanded.html"])
    return ctx


def rows(result) -> dict[str, dict[str, str]]:
    out = {}
    for path in result.files:
        with open(path, encoding="utf-8", newline="") as fh:
            out.update({r["Title"]: r for r in csv.DictReader(fh)})
    return out


def test_enrich_then_export_carries_the_ids(tmp_path: Path, services: MockServices) -> None:
    services.reset_log()
    ctx = imported(tmp_path, services)
    report = pipeline.enrich(ctx)
    assert report.works == 34 and report.matched >= 30
    assert sum(report.throttled.values()) == 0 or not any("throttled" in e for e in report.errors)
    csv_rows = rows(pipeline.export(ctx))
    assert csv_rows["Der Pate"]["TMDB"] == "238" and csv_rows["Der Pate"]["IMDB_ID"] == "tt0068646"
    assert csv_rows["Der Pate"]["Year"] == "1972"
    tiger = csv_rows["Crouching Tiger, Hidden Dragon"]
    # The request plan may match a movie at imdbapi.dev instead of Simkl (issue 10): its
    # IMDb id is then the row's id and no Simkl request is spent on a Simkl id.
    assert (tiger["simkl_id"] or tiger["IMDB_ID"] == "tt0190332") and tiger["Type"] == "movie"
    boot = csv_rows["Das Boot"]
    assert boot["Type"] == "tv" and boot["TVDB_ID"] and boot["LastEpWatched"] == "s2e2"
    # A remake with no year to tell them apart is left for the user, with its candidates.
    assert csv_rows["Ocean's Eleven"]["simkl_id"] == ""
    (ocean,) = [w for w in pipeline.unmatched(ctx) if w["title"] == "Ocean's Eleven"]
    assert {c["year"] for c in ocean["candidates"]} == {1960, 2001}
    ctx.close()


def test_second_run_sends_no_request(tmp_path: Path, services: MockServices) -> None:
    ctx = imported(tmp_path, services)
    pipeline.enrich(ctx)
    services.reset_log()
    again = pipeline.enrich(ctx)
    assert len(services.log) == 0 and sum(again.requests.values()) == 0
    ctx.close()


def test_offline_sends_nothing(tmp_path: Path, services: MockServices) -> None:
    ctx = imported(tmp_path, services, PV2SIMKL_OFFLINE="1")
    services.reset_log()
    report = pipeline.enrich(ctx)
    assert len(services.log) == 0 and report.matched == 0
    ctx.close()


def test_pinned_ids_survive_later_runs(tmp_path: Path, services: MockServices) -> None:
    ctx = imported(tmp_path, services)
    pipeline.enrich(ctx)
    assert pipeline.pin(ctx, "Ocean's Eleven", {"tmdb": 161}, "movie") == ["Ocean's Eleven"]
    pipeline.enrich(ctx)
    pipeline.enrich(ctx)
    row = rows(pipeline.export(ctx, all_history=True))["Ocean's Eleven"]
    assert row["TMDB"] == "161" and row["IMDB_ID"]  # the rest filled from the pinned id
    assert "Ocean's Eleven" not in [w["title"] for w in pipeline.unmatched(ctx)]
    ctx.close()


def test_a_provider_down_is_isolated(tmp_path: Path, services: MockServices) -> None:
    ctx = imported(tmp_path, services)
    services.fault("simkl", "503", times=10_000)
    try:
        report = pipeline.enrich(ctx)
    finally:
        services.clear_faults()
    assert report.matched >= 25  # TMDB and the others carried on
    assert any("simkl" in e for e in report.errors)
    ctx.close()


def test_bad_key_disables_only_that_provider(tmp_path: Path, services: MockServices) -> None:
    ctx = imported(tmp_path, services, PV2SIMKL_TMDB_TOKEN="wrong-token")
    states = {name: state for name, state, _ in pipeline.doctor(ctx)}
    assert states["tmdb"] == "bad key" and states["simkl"] == "ok"
    ctx.close()


def test_doctor_states(tmp_path: Path, services: MockServices) -> None:
    ctx = make_ctx(tmp_path, services, PV2SIMKL_SIMKL_CLIENT_ID="", PV2SIMKL_OMDB_ENABLED="0",
                   PV2SIMKL_IMDBAPI_BASE_URL="http://127.0.0.1:9")  # fmt: skip
    states = {name: (state, detail) for name, state, detail in pipeline.doctor(ctx)}
    assert states["simkl"] == ("no key", "set client_id")
    assert states["omdb"][0] == "disabled"
    assert states["imdbapi"][0] == "unreachable"
    assert states["jikan"][0] == "ok"
    ctx.close()


def test_secrets_never_in_logs_errors_or_csv(
    tmp_path: Path, services: MockServices, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = imported(tmp_path, services)
    services.fault("omdb", "quota", times=3)
    report = pipeline.enrich(ctx)
    result = pipeline.export(ctx)
    text = "\n".join(r.getMessage() for r in caplog.records) + "\n".join(report.errors)
    text += "".join(p.read_text(encoding="utf-8") for p in result.files)
    for secret in KEYS.values():
        assert secret not in text
    ctx.close()


def test_no_bearer_token_or_key_in_the_response_cache(
    tmp_path: Path, services: MockServices
) -> None:
    services.reset_log()
    ctx = imported(tmp_path, services)
    pipeline.enrich(ctx)
    ctx.close()
    assert services.count("tvdb", path_prefix="/login") == 1  # TheTVDB was asked, once
    with sqlite3.connect(ctx.paths.db) as db:
        cached = db.execute("SELECT provider, key, body FROM http_cache").fetchall()
    assert {"tvdb", "tmdb", "simkl"} <= {provider for provider, _, _ in cached}
    text = "\n".join(key + body for _, key, body in cached)
    assert "mock-tvdb." not in text and '"token"' not in text  # TheTVDB's bearer token
    for secret in KEYS.values():
        assert secret not in text


def test_episodes_known_by_title_get_their_numbers(tmp_path: Path, services: MockServices) -> None:
    ctx = make_ctx(tmp_path, services)
    pipeline.import_paths(ctx, [SAMPLES / "en-US" / "export-c.zip"])  # titles, no numbers
    report = pipeline.enrich(ctx)
    assert report.episodes_numbered > 0
    numbered = [e for e in ctx.store.iter_events() if e.kind == "episode" and e.episode]
    assert len(numbered) == report.episodes_numbered
    ctx.close()


def test_single_x_dash_y_row_becomes_an_episode_once_a_service_knows_the_show(
    tmp_path: Path,
) -> None:
    from fixtures.services.catalog import catalog_from_titles

    show = "Marvel\u2019s Cloak & Dagger"
    catalog = catalog_from_titles(
        11, ["Jin-Roh - Uomini e lupi"], [(show, {1: ["First Light", "Suicide Sprints"]})]
    )
    export = tmp_path / "Digital.PrimeVideo.Viewinghistory.csv"
    head = "Playback Hour,Entitlement Type,Video Type,Title\n"
    export.write_text(
        head + "06/08/2019 21:00:00,PRIME_SUBSCRIPTION,Feature,First Light-" + show + "\n"
        "06/09/2019 21:00:00,PRIME_SUBSCRIPTION,Feature,Jin-Roh - Uomini e lupi\n"
    )
    with MockServices(catalog, limits=FAST) as mock:
        ctx = make_ctx(tmp_path, mock)
        pipeline.import_paths(ctx, [export])
        assert {e.kind for e in pipeline.history(ctx)} == {"movie"}  # ambiguous: as written
        report = pipeline.enrich(ctx)
        got = {(e.kind, e.title, e.episode_title) for e in pipeline.history(ctx)}
        csv_rows = rows(pipeline.export(ctx))
        ctx.close()
    assert report.refiled == 1
    assert got == {("episode", show, "First Light"), ("movie", "Jin-Roh - Uomini e lupi", None)}
    assert csv_rows[show]["Type"] == "tv" and csv_rows[show]["TMDB"]
    assert "First Light-" + show not in csv_rows


def cli(tmp_path: Path, services: MockServices, *args: str) -> subprocess.CompletedProcess:
    """``pv2simkl ARGS`` in its own process, against the mock services."""
    env = {**os.environ, "PV2SIMKL_DATA_DIR": str(tmp_path), "PV2SIMKL_OFFLINE": "0", **KEYS}
    env.update({f"PV2SIMKL_{s.upper()}_BASE_URL": url for s, url in services.base_urls.items()})
    env.update({f"PV2SIMKL_{s.upper()}_LIMITS": "150/1" for s in FAST})
    return subprocess.run([sys.executable, "-m", "pv2simkl", *args], env=env, text=True,
                          capture_output=True, timeout=120, check=True)  # fmt: skip


def test_watch_dates_decide_and_unmatched_explains_why(
    tmp_path: Path, services: MockServices
) -> None:
    """A 2027 remake cannot be what was watched in 2025, nor Dune (2021) what was watched
    in 1990; ``unmatched`` names the adjustments that left a remake open."""
    export = tmp_path / "Digital.PrimeVideo.Viewinghistory.csv"
    export.write_text(
        "Playback Hour,Entitlement Type,Video Type,Title\n"
        "05/01/2025 21:00:00,PRIME_SUBSCRIPTION,Feature,Glass Harbor\n"
        "03/02/1990 21:00:00,PRIME_SUBSCRIPTION,Feature,Dune\n"
        "06/09/2019 21:00:00,PRIME_SUBSCRIPTION,Feature,Ocean's Eleven\n"
    )
    cli(tmp_path, services, "import", str(export))
    cli(tmp_path, services, "enrich")
    with sqlite3.connect(tmp_path / "pv2simkl.sqlite3") as db:
        found = dict(db.execute("SELECT title, tmdb_id FROM works").fetchall())
    assert found["Glass Harbor"] == 619001  # the 2019 film, not the more popular 2027 remake
    assert found["Dune"] == 841  # 1984: the 2021 film came out after the 1990 watch
    assert found["Ocean's Eleven"] is None
    shown = cli(tmp_path, services, "unmatched").stdout
    assert "Ocean's Eleven (movie)" in shown
    assert "title 100.0, type +5, watch year -4" in shown  # the 1960 film, watched in 2019
    assert "title 100.0, type +5\n" in shown  # the 2001 film: nothing against it
