"""The real-browser fallback: headless system Chromium scrolls, expands and hands over the page.

Runs Debian's chromium through Playwright (``.ci/run`` installs both); the live page is the
generator's, with its lazy loading and episode lists served from the generated API pages.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest
from golden_support import SAMPLES, read_expected
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pv2simkl.formats import page
from pv2simkl.sources import browser
from tests.browser_support import require_chromium

require_chromium()


def serve_live_page(server: HTTPServer, folder: Path, api_path: str, page_path: str) -> str:
    tokens = json.loads((folder / "api" / "tokens.json").read_text())
    pages = {tok: i + 1 for i, tok in enumerate(tokens)}

    def api(request: Request) -> Response:
        if request.headers.get("x-requested-with") != "XMLHttpRequest":
            return Response("<html>full page</html>", 200, content_type="text/html")
        args = json.loads(unquote(request.args.get("widgetArgs", "{}")))
        number = pages.get(args.get("nextToken"))
        if number is None:
            return Response("bad token", 400)
        body = (folder / "api" / f"page-{number:04d}.json").read_bytes()
        return Response(body, 200, content_type="application/json")

    server.expect_request(f"{api_path}/getWatchHistorySettingsPage").respond_with_handler(api)
    html = (folder / "live-page.html").read_bytes()
    server.expect_request(page_path).respond_with_data(html, content_type="text/html")
    return server.url_for(page_path)


def test_scrape_scrolls_to_the_end_and_expands_every_list(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    folder = SAMPLES / "en-US"  # site amazon: /gp/video/…
    url = serve_live_page(httpserver, folder, "/gp/video/api", "/gp/video/settings/watch-history")
    html = browser.scrape(url, profile=tmp_path / "profile", pause_ms=150)
    flat = page.parse(html, name="scraped.html")
    got = {e.gti: e.to_public() for e in flat.events}
    want = [json.loads(k) for k in read_expected(folder / "saved-page-expanded.expected.jsonl")]
    assert len(got) == len(flat.events) == len(want)
    for row in want:
        if row["kind"] == "episode" and row["episode"] is None and row["episode_title"] is None:
            # The saved fixture has a season whose list had no rows; live, its rows render
            # on the click, so the scraped page knows more than the fixture.
            live = got[row["gti"]]
            assert live["episode"] is not None
            row = {**row, "episode": live["episode"], "episode_title": live["episode_title"]}
        assert got[row["gti"]] == row
    assert not flat.warnings
    assert oct((tmp_path / "profile").stat().st_mode & 0o777) == "0o700"


def test_browser_login_saves_the_cookies_for_the_headless_session(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/ap/signin").respond_with_response(
        Response(
            "",
            302,
            {
                "Location": "/settings/watch-history",
                "Set-Cookie": "at-main=token123; Path=/; HttpOnly",
            },
        )  # fmt: skip
    )
    httpserver.expect_request("/settings/watch-history").respond_with_data(
        "<html><title>Watch history</title></html>", content_type="text/html"
    )
    jar = tmp_path / "cookies.lwp"
    saved = browser.login(httpserver.url_for("/ap/signin"), cookie_path=jar,
                          profile=tmp_path / "p", headless=True, timeout=30)  # fmt: skip
    assert saved >= 1
    assert "at-main" in jar.read_text() and oct(jar.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 0.0, -5.0])
def test_login_refuses_a_timeout_that_is_not_seconds_before_asking_anyone(
    timeout: float, httpserver: HTTPServer, tmp_path: Path
) -> None:
    from pv2simkl import pipeline
    from pv2simkl.config import load_settings

    with pytest.raises(browser.BrowserError, match="must be a number of seconds"):
        browser.login(httpserver.url_for("/signin"), cookie_path=tmp_path / "c.lwp",
                      profile=tmp_path / "p", timeout=timeout)  # fmt: skip
    (tmp_path / "none.toml").write_text("")
    settings = load_settings(
        config_file=tmp_path / "none.toml",
        env={"PV2SIMKL_DATA_DIR": str(tmp_path / "d")},
        overrides={("amazon", "startup_config_url"): httpserver.url_for("/startup")},
    )
    ctx = pipeline.Context.create(settings)
    try:
        with pytest.raises(browser.BrowserError, match="must be a number of seconds"):
            pipeline.browser_login(ctx, timeout=timeout)
    finally:
        ctx.close()
    assert httpserver.log == []  # neither the browser nor Amazon's startup config was asked


def test_navigation_is_retried_through_the_one_retry_loop(tmp_path: Path) -> None:
    # A port nobody listens on: Chromium's navigation fails at once; each try is retried
    # after the shared backoff (1 s, then 2 s: slept on a fake sleep here), then one sentence.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/history"
    slept: list[float] = []
    with browser._playwright()() as p:
        context = browser._context(p, tmp_path / "profile", headless=True, executable=None)
        try:
            page_ = context.new_page()
            with pytest.raises(browser.BrowserError, match="could not open http://127.0.0.1"):
                browser._goto(page_, dead, sleep=slept.append)
            assert slept == [1.0, 2.0]
        finally:
            context.close()
