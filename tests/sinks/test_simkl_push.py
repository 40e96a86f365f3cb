"""``pv2simkl push`` (issue 11) through the CLI against the mock Simkl: the plan, each
watch sent once with its own date, anime as their MAL/Simkl entries, not_found kept and
sent again after ``match``, a revoked token, the sync's push step and ``status``."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixtures.generator import build_history
from fixtures.services import DEFAULT_KEYS, MockServices
from fixtures.services.catalog import catalog_from_history
from pv2simkl.models import WatchEvent
from pv2simkl.sinks import simkl_push as pusher
from pv2simkl.store import Store

FAST = {"simkl": [(200, 1.0)], "simkl_post": [(200, 1.0)]}


def run(data: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``pv2simkl --data-dir DATA ARGS`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pv2simkl", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=180,
    )


def ep(title: str, season: int | None, episode: int | None, day: int, *, movie: bool = False):
    return WatchEvent(
        kind="movie" if movie else "episode",
        title=title,
        season=season,
        episode=episode,
        episode_title=None if episode is None else f"E{episode}",
        watched_at=datetime(2024, 4, day, 21, tzinfo=UTC),
        source="page",
    )


HISTORY = [
    ep("The Godfather", None, None, 1, movie=True),
    ep("Das Boot", 1, 1, 2),
    ep("Das Boot", 1, 2, 3),
    ep("Das Boot", 2, 1, 5),
    ep("Das Boot", 1, 1, 20),  # a rewatch: a play of its own
    ep("Money Heist", None, None, 6),  # no number: never sent as a whole show
    ep("Attack on Titan", 1, 25, 7),
    ep("Attack on Titan", 2, 1, 8),
    ep("Detective Kakeru", 2, 1, 9),  # one entry over three seasons: entry episode 27
    ep("千と千尋の神隠し", None, None, 10, movie=True),  # an anime film Simkl names otherwise
]
# (season, mal, simkl, title, episodes, offset) as store/metadata.py writes anime_entries
AOT = [(1, 16498, 39687, "Attack on Titan", 25, 0),
       (2, 25777, 512251, "Attack on Titan Season 2", 12, 0)]  # fmt: skip
KAKERU = [(1, 50001, 41501, "Detective Kakeru", 70, 0),
          (2, 50001, 41501, "Detective Kakeru", 70, 26)]  # fmt: skip
# What the mock must hold after one push: (title, season, episode, watched_at).
EXPECTED = Counter(
    [
        ("The Godfather", None, None, "2024-04-01T21:00:00Z"),
        ("Das Boot", 1, 1, "2024-04-02T21:00:00Z"),
        ("Das Boot", 1, 2, "2024-04-03T21:00:00Z"),
        ("Das Boot", 2, 1, "2024-04-05T21:00:00Z"),
        ("Das Boot", 1, 1, "2024-04-20T21:00:00Z"),
        ("Attack on Titan", 1, 25, "2024-04-07T21:00:00Z"),
        ("Attack on Titan Season 2", 1, 1, "2024-04-08T21:00:00Z"),
        ("Detective Kakeru", 1, 27, "2024-04-09T21:00:00Z"),
        ("Spirited Away", None, None, "2024-04-10T21:00:00Z"),
    ]
)


def sql(data: Path, statement: str, params: tuple = ()) -> None:
    db = sqlite3.connect(data / "pv2simkl.sqlite3")
    with db:
        db.execute(statement, params)
    db.close()


def anime(data: Path, title: str, entries: list[tuple]) -> None:
    """Make ``title`` an anime with these entries, as ``enrich`` leaves it."""
    sql(data, "UPDATE works SET media_type = 'anime' WHERE title = ?", (title,))
    for season, mal, simkl, name, episodes, offset in entries:
        sql(
            data,
            "INSERT INTO anime_entries (work_id, season, mal_id, simkl_id, title, episodes,"
            ' "offset") SELECT id, ?, ?, ?, ?, ?, ? FROM works WHERE title = ?',
            (season, mal, simkl, name, episodes, offset, title),
        )


def stored(data: Path, events: list[WatchEvent] = HISTORY) -> Path:
    data.mkdir(parents=True, exist_ok=True)
    store = Store(data / "pv2simkl.sqlite3")
    store.add_import(events, path="f", sha256=str(len(events)), source="page")
    store.close()
    anime(data, "Attack on Titan", AOT)
    anime(data, "Detective Kakeru", KAKERU)
    return data


def plays(services: MockServices) -> Counter:
    return Counter((p.title, p.season, p.episode, p.watched_at) for p in services.simkl_plays)


@pytest.fixture
def services():
    catalog = catalog_from_history(build_history(7, 60, "en-US"))
    with MockServices(catalog, limits=FAST) as mock:
        yield mock


def simkl_env(services: MockServices, **extra: str) -> dict[str, str]:
    return {
        "PV2SIMKL_SIMKL_BASE_URL": services.base_urls["simkl"],
        "PV2SIMKL_SIMKL_CLIENT_ID": DEFAULT_KEYS["simkl"],
        "PV2SIMKL_SIMKL_ACCESS_TOKEN": services.keys["simkl_token"],
        # Online, so that the push is sent (to the mock); no metadata service is asked.
        "PV2SIMKL_OFFLINE": "0",
        **{f"PV2SIMKL_{s}_ENABLED": "0" for s in ("SIMKL", "JIKAN", "IMDBAPI")},
        **extra,
    }


# ---- the plan ---------------------------------------------------------------------------


def test_dry_run_prints_the_plan_per_show_and_sends_nothing(tmp_path, services):
    data = stored(tmp_path / "data")
    result = run(data, "push", "--dry-run", env=simkl_env(services))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "movie The Godfather [no ids: title and year]: watched 2024-04-01T21:00:00Z" in out
    assert "show Das Boot [no ids: title and year]: 4 episodes" in out
    assert "  S1E1 2024-04-02T21:00:00Z\n  S1E1 2024-04-20T21:00:00Z\n  S1E2" in out
    assert "show Attack on Titan Season 2 [simkl 512251, mal 25777]: 1 episode" in out
    assert "show Detective Kakeru [simkl 41501, mal 50001]: 1 episode\n  S1E27 " in out
    assert "Would send 9 watches of 6 titles; nothing was sent (--dry-run)." in out
    assert "1 episode of Money Heist has no number: run `pv2simkl enrich`" in result.stderr
    assert services.simkl_plays == [] and services.synced == []


def test_batches_cut_shows_at_the_play_limit_and_never_send_a_show_without_episodes(tmp_path):
    store = Store(stored(tmp_path / "data") / "pv2simkl.sqlite3")
    plan = pusher.build_plan(store)
    cut = list(pusher.batches(plan.items, max_items=50, max_plays=3))
    assert [sum(len(p) for _, p in b) for b in cut] == [3, 3, 3]
    for batch in cut:
        for show in pusher.body_of(batch).get("shows", []):
            assert show["seasons"] and all(s["episodes"] for s in show["seasons"])
    assert sorted(p.event_id for b in cut for _, ps in b for p in ps) == sorted(
        p.event_id for i in plan.items for p in i.plays
    )
    store.close()


# ---- sending ----------------------------------------------------------------------------


def test_push_sends_each_watch_once_with_its_own_date_and_a_second_push_nothing(tmp_path, services):
    data = stored(tmp_path / "data")
    env = simkl_env(services)
    first = run(data, "push", env=env)
    assert first.returncode == 0, first.stderr
    assert "Pushed 9 watches to Simkl in 1 request." in first.stdout
    assert plays(services) == EXPECTED
    shows = services.synced[0]["shows"]
    assert all(s["seasons"] and all(x["episodes"] for x in s["seasons"]) for s in shows)

    second = run(data, "push", env=env)
    assert second.returncode == 0, second.stderr
    assert "Nothing new to push." in second.stdout
    assert len(services.synced) == 1 and plays(services) == EXPECTED

    status = run(data, "status", env=env)
    assert "simkl push: last " in status.stdout
    assert "(9 added, 0 not found); 1 watch not pushed yet" in status.stdout


def test_push_all_sends_the_whole_history_again(tmp_path, services):
    data = stored(tmp_path / "data")
    env = simkl_env(services)
    assert run(data, "push", env=env).returncode == 0
    again = run(data, "push", "--all", env=env)
    assert again.returncode == 0, again.stderr
    assert "Pushed 9 watches" in again.stdout
    assert plays(services) == EXPECTED + EXPECTED


def test_not_found_is_kept_listed_and_sent_again_after_match(tmp_path, services):
    data = stored(tmp_path / "data")
    env = simkl_env(services)
    services.simkl_not_found = {"the godfather"}
    first = run(data, "push", env=env)
    assert first.returncode == 0, first.stderr
    assert "Pushed 8 watches to Simkl in 1 request; 1 not found." in first.stdout
    assert "not found at Simkl: The Godfather, 1 watch:" in first.stdout
    assert ("The Godfather", None, None, "2024-04-01T21:00:00Z") not in plays(services)

    # Sent under the same ids, Simkl would only refuse it again: held back, still listed.
    second = run(data, "push", env=env)
    assert "Nothing new to push." in second.stdout
    assert "not found at Simkl: The Godfather" in second.stdout
    assert len(services.synced) == 1

    services.simkl_not_found = set()
    assert run(data, "match", "The Godfather", "--simkl", "53532").returncode == 0
    third = run(data, "push", env=env)
    assert third.returncode == 0, third.stderr
    assert "Pushed 1 watch to Simkl in 1 request." in third.stdout
    assert "not found at Simkl" not in third.stdout
    assert services.synced[-1]["movies"][0]["ids"] == {"simkl": 53532}
    assert plays(services) == EXPECTED


def test_revoked_token_is_one_sentence_and_its_exit_code(tmp_path, services):
    data = stored(tmp_path / "data")
    env = simkl_env(services)
    services.revoke_simkl_token()
    result = run(data, "push", env=env)
    assert result.returncode == 18, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "pv2simkl simkl login" in lines[0] and "Traceback" not in result.stderr
    assert services.simkl_plays == []
    # Nothing was marked pushed: after signing in again everything goes.
    again = run(
        data, "push", env={**env, "PV2SIMKL_SIMKL_ACCESS_TOKEN": services.keys["simkl_token"]}
    )
    assert again.returncode == 0, again.stderr
    assert plays(services) == EXPECTED


def test_push_without_a_token_says_how_to_sign_in(tmp_path, services):
    data = stored(tmp_path / "data")
    env = {**simkl_env(services), "PV2SIMKL_SIMKL_ACCESS_TOKEN": ""}
    result = run(data, "push", env=env)
    assert result.returncode == 3
    assert "pv2simkl simkl login" in result.stderr


def test_sync_pushes_after_export_and_csv_off_writes_none(tmp_path, services):
    data = stored(tmp_path / "data")
    out = tmp_path / "out"
    env = simkl_env(
        services,
        PV2SIMKL_SIMKL_PUSH="1",
        PV2SIMKL_EXPORT_CSV="0",
        PV2SIMKL_EXPORT_DIR=str(out),
        PV2SIMKL_DAEMON_FETCH="0",
    )
    result = run(data, "sync", env=env)
    assert result.returncode == 0, result.stderr
    assert "pushed to Simkl: 9 watches" in result.stdout
    assert "Wrote " not in result.stdout and not list(out.glob("simkl-*.csv"))
    assert plays(services) == EXPECTED
    status = run(data, "status", env=env)
    assert "each sync pushes" in status.stdout


# ---- exactly once across a crash (in process; test_simkl_push_crash.py kills processes) ---


class _Crash(BaseException):
    """Stands for a SIGKILL at one instant of a push."""


def _api(services: MockServices):
    from pv2simkl.sinks.simkl_api import SimklApi

    return SimklApi(services.base_urls["simkl"], DEFAULT_KEYS["simkl"],
                    services.keys["simkl_token"])  # fmt: skip


@pytest.mark.parametrize("landed", [False, True], ids=["before-post", "after-post"])
def test_a_batch_in_flight_is_checked_against_simkl_before_it_is_sent_again(
    tmp_path, services, landed
):
    store = Store(stored(tmp_path / "data") / "pv2simkl.sqlite3")
    api = _api(services)

    def die(push_id: int) -> None:
        if "千と千尋の神隠し" not in str(store.in_flight_pushes()[0]["body"]):
            return  # crash at the batch whose film Simkl lists under another title
        if landed:  # the POST reached Simkl, the reply never reached the store
            batch = store.in_flight_pushes()[0]
            api.add_history(batch["body"])
        raise _Crash

    with pytest.raises(_Crash):
        pusher.push(store, api, max_plays=3, after_record=die)
    assert store.push_counts()["in_flight"] == 1
    report = pusher.push(store, api, max_plays=3)
    assert report.recovered and store.push_counts()["in_flight"] == 0
    assert plays(services) == EXPECTED
    assert pusher.push(store, api).posts == 0
    api.close()
    store.close()
