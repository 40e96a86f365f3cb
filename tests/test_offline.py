"""Offline is offline: with PV2SIMKL_OFFLINE=1 nothing tries the network, and network waits
are bounded.

"The network" here is a local socket (:class:`BlackHole`) that counts the connections it
is offered and never answers one, like a host behind a firewall that drops packets, and a
port nothing listens on (connection refused). Nothing reaches the internet, and no
assertion is about the wall clock: a bounded wait shows as a state ("unreachable"), a
count of tries, or the timeouts a client was given.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pv2simkl import net, pipeline, providers
from pv2simkl.config import PROVIDER_SECTIONS, load_settings
from pv2simkl.errors import OfflineError
from pv2simkl.net import CONNECT_TIMEOUT
from pv2simkl.providers import http
from pv2simkl.sinks.simkl_auth import push_client
from pv2simkl.sources.amazon import AmazonSession, FetchError
from tests.fake_clock import FakeClock

ROOT = Path(__file__).resolve().parents[1]


class BlackHole:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        for conn in self._held:
            conn.close()


def refused_url() -> str:
    """An address whose port takes no connection (bound, never listening)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def hole() -> Iterator[BlackHole]:
    h = BlackHole()
    yield h
    h.close()


def amazon_env(url: str, data: Path) -> dict[str, str]:
    return {
        "PV2SIMKL_DATA_DIR": str(data),
        "PV2SIMKL_AMAZON_SIGNIN_URL": f"{url}/ap/signin",
        "PV2SIMKL_AMAZON_STARTUP_CONFIG_URL": f"{url}/startup",
        "PV2SIMKL_AMAZON_VIDEO_WEBSITE": url,
        "PV2SIMKL_AMAZON_REGION": "na",
        "PV2SIMKL_AMAZON_EMAIL": "ana@example.com",
        "PV2SIMKL_AMAZON_PASSWORD": "pw-1",
    }


def all_services_at(url: str) -> dict[str, str]:
    env = {f"PV2SIMKL_{s.upper()}_BASE_URL": url for s in PROVIDER_SECTIONS}
    env.update({
        "PV2SIMKL_SIMKL_CLIENT_ID": "app-1", "PV2SIMKL_SIMKL_ACCESS_TOKEN": "tok-1",
        "PV2SIMKL_TMDB_TOKEN": "t", "PV2SIMKL_TVDB_API_KEY": "k", "PV2SIMKL_MAL_CLIENT_ID": "m",
        "PV2SIMKL_OMDB_API_KEY": "o",
    })  # fmt: skip
    return env


def context(env: dict[str, str]) -> pipeline.Context:
    return pipeline.Context.create(load_settings(env=env))


# ---- commands that need the network say so at once --------------------------------------


def test_fetch_offline_is_one_sentence_and_no_connection(tmp_path: Path, hole: BlackHole):
    ctx = context({**amazon_env(hole.url, tmp_path), "PV2SIMKL_OFFLINE": "1"})
    try:
        with pytest.raises(OfflineError) as info:
            pipeline.fetch(ctx)
    finally:
        ctx.close()
    message = str(info.value)
    assert info.value.exit_code == 20
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence
    assert "offline mode is on" in message and "pv2simkl import" in message
    assert hole.accepted == 0


@pytest.mark.parametrize(
    "step",
    [
        lambda ctx: pipeline.browser_login(ctx, timeout=60),
        lambda ctx: pipeline.browser_fetch(ctx),
        lambda ctx: pipeline.amazon_session(ctx),
        lambda ctx: pipeline.push(ctx),
        lambda ctx: push_client(ctx.settings),
    ],
    ids=["login --browser", "browser fetch", "amazon session", "push", "simkl api"],
)
def test_every_network_step_refuses_offline(tmp_path: Path, hole: BlackHole, step) -> None:
    env = {**amazon_env(hole.url, tmp_path), **all_services_at(hole.url), "PV2SIMKL_OFFLINE": "1"}
    ctx = context(env)
    try:
        with pytest.raises(OfflineError, match="offline mode is on"):
            step(ctx)
    finally:
        ctx.close()
    assert hole.accepted == 0


def test_simkl_login_refuses_offline_before_the_keyring(hole: BlackHole) -> None:
    from pv2simkl.sinks import simkl_auth

    settings = load_settings(env={**all_services_at(hole.url), "PV2SIMKL_OFFLINE": "1"})
    shown: list[str] = []
    with pytest.raises(OfflineError, match="Signing in to Simkl needs the network"):
        simkl_auth.sign_in(settings, show=lambda code, url: shown.append(code))
    assert shown == [] and hole.accepted == 0


def test_push_dry_run_works_offline(tmp_path: Path) -> None:
    ctx = context({"PV2SIMKL_DATA_DIR": str(tmp_path), "PV2SIMKL_OFFLINE": "1"})
    try:
        report = pipeline.push(ctx, dry_run=True)
    finally:
        ctx.close()
    assert report is not None


def test_cli_fetch_offline_exits_20_with_one_line(tmp_path: Path, hole: BlackHole) -> None:
    env = {**os.environ, **amazon_env(hole.url, tmp_path / "d"), "PV2SIMKL_OFFLINE": "1",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    r = subprocess.run([sys.executable, "-m", "pv2simkl", "fetch"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 20, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "offline mode is on" in r.stderr
    assert "Traceback" not in r.stderr and hole.accepted == 0


# ---- sync and enrich keep working, quietly -----------------------------------------------


def test_sync_offline_skips_fetch_and_push_with_a_note(tmp_path: Path, hole: BlackHole) -> None:
    env = {**amazon_env(hole.url, tmp_path), **all_services_at(hole.url),
           "PV2SIMKL_OFFLINE": "1", "PV2SIMKL_SIMKL_PUSH": "1"}  # fmt: skip
    ctx = context(env)
    try:
        report = pipeline.sync(ctx, settle=0)
    finally:
        ctx.close()
    assert report.errors == []
    assert report.notes == [
        "offline mode is on: nothing was fetched from Amazon",
        "offline mode is on: nothing was pushed to Simkl",
    ]
    assert report.fetched is None and report.pushed is None and hole.accepted == 0


def test_sync_offline_without_amazon_says_nothing_of_it(tmp_path: Path) -> None:
    ctx = context({"PV2SIMKL_DATA_DIR": str(tmp_path), "PV2SIMKL_OFFLINE": "1"})
    try:
        report = pipeline.sync(ctx, settle=0)
    finally:
        ctx.close()
    assert report.errors == [] and report.notes == []


def test_doctor_offline_asks_nobody(tmp_path: Path, hole: BlackHole) -> None:
    ctx = context({"PV2SIMKL_DATA_DIR": str(tmp_path), "PV2SIMKL_OFFLINE": "1",
                   **all_services_at(hole.url)})  # fmt: skip
    try:
        lines = pipeline.doctor(ctx)
    finally:
        ctx.close()
    states = {name: state for name, state, _ in lines}
    assert set(states.values()) == {"offline"} and hole.accepted == 0


# ---- bounded waits -----------------------------------------------------------------------


def test_doctor_with_a_silent_network_says_unreachable(tmp_path: Path, hole: BlackHole) -> None:
    """Every service behind a host that takes the connection and never answers: doctor
    gives each one try with a short timeout, all at once, and says 'unreachable'."""
    ctx = context({"PV2SIMKL_DATA_DIR": str(tmp_path), "PV2SIMKL_OFFLINE": "0",
                   **all_services_at(hole.url)})  # fmt: skip
    try:
        lines = pipeline.doctor(ctx, seconds=0.3)
    finally:
        ctx.close()
    states = {name: state for name, state, _ in lines}
    assert states == {**{s: "unreachable" for s in PROVIDER_SECTIONS},
                      "simkl-login": "unreachable"}  # fmt: skip
    # One try each (TVDB's is its login), never the six of a normal run.
    assert hole.accepted <= len(PROVIDER_SECTIONS) + 1


def test_doctor_with_ports_that_refuse(tmp_path: Path) -> None:
    url = refused_url()
    ctx = context({"PV2SIMKL_DATA_DIR": str(tmp_path), "PV2SIMKL_OFFLINE": "0",
                   **all_services_at(url)})  # fmt: skip
    try:
        lines = pipeline.doctor(ctx, seconds=0.3)
    finally:
        ctx.close()
    assert {state for _, state, _ in lines} == {"unreachable"}


def test_every_client_connects_within_a_few_seconds() -> None:
    from pv2simkl.sinks.simkl_api import SimklApi

    assert 3.0 <= CONNECT_TIMEOUT <= 5.0
    client = http.HttpClient("tmdb", "http://127.0.0.1:9", limits=[], timeout=20.0)
    api = SimklApi("http://127.0.0.1:9", "app", "tok", timeout=30.0)
    try:
        assert client._client.timeout.connect == CONNECT_TIMEOUT
        assert client._client.timeout.read == 20.0
        assert api._client.timeout.connect == CONNECT_TIMEOUT
    finally:
        client.close()
        api.close()
    settings = load_settings(env={})
    session = AmazonSession(settings.amazon, cookie_path=Path("/nonexistent/c.lwp"),
                            state_dir=Path("/nonexistent"))  # fmt: skip
    try:
        assert session.timeout == (CONNECT_TIMEOUT, settings.amazon.timeout)
    finally:
        session.close()


def test_amazon_unreachable_gives_up_after_one_retry(tmp_path: Path) -> None:
    settings = load_settings(env=amazon_env(refused_url(), tmp_path)).amazon
    s = AmazonSession(settings, cookie_path=tmp_path / "c.lwp", state_dir=tmp_path / "state")
    clock = FakeClock()
    s.sleep = clock.sleep
    try:
        with pytest.raises(FetchError, match="could not be reached"):
            s._get(settings.startup_config_url, xhr=False)
    finally:
        s.close()
    assert clock.sleeps == [2.0]  # one retry, not four waits of 2, 4, 8 and 16 s


def test_enrich_skips_a_silent_host_in_one_bounded_check(tmp_path: Path, hole: BlackHole):
    states = [providers.ProviderState("tmdb", "ok", [],
              providers.provider_class("tmdb")(load_settings(env={}).tmdb,
              http.HttpClient("tmdb", refused_url(), limits=[])))]  # fmt: skip
    out = providers.drop_unreachable(states, timeout=0.5)
    assert [s.state for s in out] == ["unreachable"]
    states[0].provider.client.close()


# ---- one pool for every client -----------------------------------------------------------


def test_clients_share_one_pool_and_closing_one_keeps_it(httpserver) -> None:
    from pv2simkl.sinks.simkl_api import SimklApi

    httpserver.expect_request("/ping").respond_with_json({"ok": 1})
    a = http.HttpClient("tmdb", httpserver.url_for(""), limits=[])
    b = http.HttpClient("omdb", httpserver.url_for(""), limits=[])
    api = SimklApi(httpserver.url_for(""), "app", "tok")
    try:
        assert a._client._transport is b._client._transport is api._client._transport
        assert a._client._transport is net.shared_transport()
        a.close()
        assert b.get("/ping", cache=False).data == {"ok": 1}
    finally:
        b.close()
        api.close()


def test_tls_context_is_built_once() -> None:
    assert net.tls_context() is net.tls_context()


# ---- the keyring only when a secret is missing -------------------------------------------


def _modules_after(code: str, env: dict[str, str]) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    full = {k: v for k, v in os.environ.items() if not k.startswith("PV2SIMKL_")}
    r = subprocess.run([sys.executable, "-c", probe], env={**full, **env, "PYTHONPATH": str(ROOT)},
                       cwd=ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


def test_keys_in_the_environment_leave_the_keyring_alone(tmp_path: Path) -> None:
    code = (
        "from pv2simkl import providers\nfrom pv2simkl.config import load_settings\n"
        "states, cache = providers.build(load_settings(), None)\n"
        "assert [s.state for s in states].count('ok') == 7, [(s.name, s.state) for s in states]"
    )
    env = {**all_services_at("http://127.0.0.1:9"), "PV2SIMKL_DATA_DIR": str(tmp_path)}
    assert "keyring" not in _modules_after(code, env)


def test_a_missing_key_is_looked_up_in_the_keyring(tmp_path: Path) -> None:
    code = (
        "from pv2simkl import providers\nfrom pv2simkl.config import load_settings\n"
        "states, cache = providers.build(load_settings(), None)\n"
        "assert {s.name: s.state for s in states}['tmdb'] == 'ok'"
    )
    (tmp_path / "k.json").write_text('{"pv2simkl/tmdb.token": "from-keyring"}')
    env = {
        **all_services_at("http://127.0.0.1:9"), "PV2SIMKL_TMDB_TOKEN": "",
        "PYTHON_KEYRING_BACKEND": "fixtures.test_keyring.FileKeyring",
        "PV2SIMKL_TEST_KEYRING_FILE": str(tmp_path / "k.json"),
    }  # fmt: skip
    assert "keyring" in _modules_after(code, env)


def test_status_and_import_never_touch_the_keyring(tmp_path: Path) -> None:
    page = str(ROOT / "tests" / "data" / "mini-page.html")
    code = (
        "from pathlib import Path\nfrom pv2simkl import pipeline\n"
        "ctx = pipeline.Context.create()\n"
        f"pipeline.import_paths(ctx, [Path({page!r})])\npipeline.status(ctx)\n"
        "pipeline.export(ctx)\nctx.close()"
    )
    env = {"PV2SIMKL_DATA_DIR": str(tmp_path), "PV2SIMKL_OFFLINE": "1"}
    loaded = _modules_after(code, env)
    assert "keyring" not in loaded and "httpx" not in loaded
