"""The headless Amazon session against a fake Amazon on 127.0.0.1: sign-in, fetch, catalog."""

from __future__ import annotations

import html
import json
import logging
import os
import re
import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote_plus

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.fake_amazon import TEST_EMAIL, TEST_PASSWORD, TEST_TOTP_SECRET, FakeAmazon
from fixtures.generator import build_history
from pv2simkl import pipeline
from pv2simkl.config import AmazonSettings, load_settings
from pv2simkl.sources import amazon
from pv2simkl.sources.amazon import AmazonSession, Credentials
from pv2simkl.titles import identity_key
from tests.fake_clock import FakeClock


def settings_for(fake: FakeAmazon) -> AmazonSettings:
    return AmazonSettings(
        signin_url=fake.signin_url, startup_config_url=fake.startup_config_url,
        catalog_url=fake.url, timeout=10,
    )  # fmt: skip


def session(fake: FakeAmazon, tmp_path: Path, **creds: str) -> AmazonSession:
    """A session on ``fake``; the two share a fake wall clock that moves only when the
    session waits (for the next one-time code, a Retry-After), so no test waits."""
    values = {"email": TEST_EMAIL, "password": TEST_PASSWORD, "totp_secret": TEST_TOTP_SECRET}
    values.update(creds)
    s = AmazonSession(
        settings_for(fake), cookie_path=tmp_path / "cookies.lwp", state_dir=tmp_path / "state",
        credentials=Credentials(**values),
    )  # fmt: skip
    clock = FakeClock(start=time.time())
    s.clock, s.sleep, fake.clock = clock, clock.sleep, clock
    return s


def public(events) -> set[str]:
    return {json.dumps(e.to_public(), sort_keys=True, ensure_ascii=False) for e in events}


def expected(fake: FakeAmazon) -> set[str]:
    return {json.dumps(r, sort_keys=True, ensure_ascii=False) for r in fake.expected_events}


@pytest.fixture(scope="module")
def history():
    return build_history(21, 300, "en-US")


@pytest.mark.parametrize(
    "mode", ["password+otp", "one-page", "password+picker", "password+otp+fixup", "password"]
)
def test_sign_in_paths_then_fetch_everything(history, tmp_path: Path, mode: str) -> None:
    with FakeAmazon(history, page_sections=10, mode=mode) as fake:
        s = session(fake, tmp_path)
        result = s.fetch()
        assert result.signed_in
        assert public(result.events) == expected(fake)
        assert result.pages == fake.page_count
        s.close()


@pytest.mark.parametrize(
    ("mode", "error", "phrase"),
    [
        ("password+captcha", amazon.CaptchaRequired, "login --browser"),
        ("password+approval", amazon.ApprovalRequired, "login --browser"),
        ("password+wrong-password", amazon.WrongPassword, "password is incorrect"),
        ("password+locked", amazon.AccountLocked, "locked"),
    ],
)
def test_sign_in_failures_have_their_own_sentence(
    history, tmp_path: Path, mode: str, error: type, phrase: str
) -> None:
    with FakeAmazon(history, mode=mode) as fake:
        s = session(fake, tmp_path)
        with pytest.raises(error, match=phrase) as info:
            s.sign_in()
        assert TEST_PASSWORD not in str(info.value) and TEST_TOTP_SECRET not in str(info.value)
        s.close()


def test_wrong_totp_secret_is_rejected(history, tmp_path: Path) -> None:
    with FakeAmazon(history) as fake:
        s = session(fake, tmp_path, totp_secret="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        with pytest.raises(amazon.OtpRejected, match="clock"):
            s.sign_in()
        s.close()


def test_no_secret_asks_for_the_code(history, tmp_path: Path) -> None:
    import pyotp

    with FakeAmazon(history) as fake:
        s = session(fake, tmp_path, totp_secret="")
        with pytest.raises(amazon.OtpRejected, match="no TOTP secret"):
            s.sign_in()
        s.close()
        asked = []
        s = session(fake, tmp_path, totp_secret="")
        s.ask_code = lambda: asked.append(1) or pyotp.TOTP(TEST_TOTP_SECRET).now()
        s.sign_in()
        assert asked == [1]
        s.close()


def test_cookies_reused_across_runs_and_file_modes(history, tmp_path: Path) -> None:
    with FakeAmazon(history) as fake:
        first = session(fake, tmp_path)
        first.fetch()
        first.close()
        jar = tmp_path / "cookies.lwp"
        assert stat.S_IMODE(jar.stat().st_mode) == 0o600
        fake.reset_log()
        second = session(fake, tmp_path, password="not the password")  # must not be needed
        result = second.fetch()
        assert not result.signed_in
        assert not [e for e in fake.log if e.path.startswith("/ap/")]
        second.close()
        jar.chmod(0o644)
        with pytest.raises(amazon.LoginError, match="other users"):
            session(fake, tmp_path)


def test_stale_session_signs_in_once_more(history, tmp_path: Path) -> None:
    with FakeAmazon(history) as fake:
        s = session(fake, tmp_path)
        s.fetch()
        first_code = s._last_code
        fake.expire_session()
        result = s.fetch()
        assert result.signed_in and public(result.events) == expected(fake)
        # The second sign-in waited for the next code (on the fake clock), never sent one twice.
        assert s._last_code != first_code and s.clock.sleeps
        s.close()


@pytest.mark.parametrize("mode", ["stale", "wrong-region", "flaky", "throttle"])
def test_api_error_modes_recover(history, tmp_path: Path, mode: str) -> None:
    with FakeAmazon(history, page_sections=10) as fake:
        s = session(fake, tmp_path)
        s.sign_in()
        fake.fault(mode, times=1)
        result = s.fetch()
        assert public(result.events) == expected(fake)
        s.close()


def test_amazon_site_uses_the_gp_video_path(history, tmp_path: Path) -> None:
    with FakeAmazon(history, site="amazon") as fake:
        s = session(fake, tmp_path)
        result = s.fetch()
        assert result.api_path == "/gp/video/api" and public(result.events) == expected(fake)
        s.close()


def test_empty_account(tmp_path: Path, history) -> None:
    with FakeAmazon(history, mode="password+otp") as fake:
        fake.set_mode("empty-account")
        s = session(fake, tmp_path)
        assert s.fetch().events == []
        s.close()


def env_for(fake: FakeAmazon, data: Path) -> dict[str, str]:
    return {
        "PV2SIMKL_DATA_DIR": str(data), "PV2SIMKL_AMAZON_SIGNIN_URL": fake.signin_url,
        "PV2SIMKL_AMAZON_STARTUP_CONFIG_URL": fake.startup_config_url,
        "PV2SIMKL_AMAZON_CATALOG_URL": fake.url, "PV2SIMKL_AMAZON_EMAIL": TEST_EMAIL,
        "PV2SIMKL_AMAZON_PASSWORD": TEST_PASSWORD, "PV2SIMKL_AMAZON_TOTP_SECRET": TEST_TOTP_SECRET,
    }  # fmt: skip


def test_full_fetch_of_20000_events_then_incremental(tmp_path: Path) -> None:
    with FakeAmazon(build_history(4, 20000, "en-US")) as fake:
        ctx = pipeline.Context.create(load_settings(env=env_for(fake, tmp_path)))
        report = pipeline.fetch(ctx)
        assert report.read == len(fake.expected_events) and report.pages == fake.page_count

        # The store knows "Pablo's Island" and "Pablo’s Island" as one title (the first
        # spelling it met): compare titles by the store's own identity form.
        # Episodes whose label has no number ("Pilot") get theirs from the catalog call.
        def norm(rows) -> set[str]:
            return {json.dumps({**r, "title": identity_key(r["title"]),
                                "episode": r["episode"] if r["gti"] not in unnumbered else 0},
                               sort_keys=True) for r in rows}  # fmt: skip

        unnumbered = {r["gti"] for r in fake.expected_events
                      if r["kind"] == "episode" and r["episode"] is None}  # fmt: skip
        assert report.numbered == len(unnumbered) - (fake.gone_gti in unnumbered)

        stored = [e.to_public() for e in ctx.store.iter_events()]
        assert len(stored) == len(fake.expected_events)
        assert norm(stored) == norm(fake.expected_events)
        new_rows = fake.add_events(5)
        fake.reset_log()
        again = pipeline.fetch(ctx)
        pages = [e for e in fake.log if e.route == "getWatchHistorySettingsPage"]
        assert len(pages) <= 2 and again.stopped_early
        assert again.added == 5 == len(new_rows)
        ctx.close()


def test_catalog_numbers_episodes_stored_without_them(tmp_path: Path) -> None:
    from fixtures.generator import PageOptions, write_saved_page

    history = build_history(9, 200, "en-US")
    page = tmp_path / "collapsed.html"
    write_saved_page(history, page, variant="collapsed",
                     options=PageOptions("primevideo", "na", 20, "current-dom", False))  # fmt: skip
    with FakeAmazon(history) as fake:
        ctx = pipeline.Context.create(load_settings(env=env_for(fake, tmp_path / "d")))
        pipeline.import_paths(ctx, [page])
        before = len(ctx.store.gtis_without_numbers())
        report = pipeline.fetch(ctx)
        assert before > 0 and report.numbered >= before - 2  # one title left the catalog
        ctx.close()


def test_secrets_never_in_logs_errors_or_files(history, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeAmazon(history, mode="password+otp") as fake:
        ctx = pipeline.Context.create(load_settings(env=env_for(fake, tmp_path)))
        pipeline.fetch(ctx)
        pipeline.export(ctx)
        fake.set_mode("password+captcha")
        fake.expire_session()
        with pytest.raises(amazon.CaptchaRequired) as info:
            pipeline.fetch(ctx)
        ctx.close()
    text = caplog.text + str(info.value)
    for root, _, files in os.walk(tmp_path):
        for name in files:
            text += Path(root, name).read_bytes().decode("utf-8", "replace")
    assert TEST_PASSWORD not in text and TEST_TOTP_SECRET not in text


def test_unknown_page_is_saved_redacted(httpserver, tmp_path: Path) -> None:
    page = (
        "<html><head><title>Something new</title></head><body><form method='post'>"
        f"<input name='mystery' value='{TEST_EMAIL}'><input name='other' value='{TEST_PASSWORD}'>"
        "</form><p>Amazon changed its pages again</p></body></html>"
    )
    httpserver.expect_request("/ap/signin").respond_with_data(page, content_type="text/html")
    settings = AmazonSettings(signin_url=httpserver.url_for("/ap/signin"), timeout=10)
    creds = Credentials(TEST_EMAIL, TEST_PASSWORD, TEST_TOTP_SECRET)
    s = AmazonSession(settings, cookie_path=tmp_path / "c.lwp", state_dir=tmp_path / "state",
                      credentials=creds)  # fmt: skip
    with pytest.raises(amazon.LoginError, match="login --browser") as info:
        s.sign_in()
    (dump,) = (tmp_path / "state").glob("amazon-unknown-*.html")
    assert str(dump) in str(info.value)
    text = dump.read_text()
    assert "Amazon changed its pages again" in text
    assert TEST_PASSWORD not in text and TEST_EMAIL not in text
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    s.close()


# ---- every loop has a bound -------------------------------------------------------------


def test_wrong_region_naming_the_region_in_use_ends_with_a_sentence(
    history, tmp_path: Path
) -> None:
    """Regression: Amazon answering wrong_region with the region already asked looped forever."""
    # The startup config says FE; the history API serves NA only and keeps naming FE.
    with FakeAmazon(history, region="na", home_region="FE") as fake:
        s = session(fake, tmp_path)
        with pytest.raises(amazon.FetchError, match="names FE as the account's home") as info:
            s.fetch()
        assert info.value.exit_code == 12 and "set [amazon] region" in str(info.value)
        asked = [e for e in fake.log if e.route == "getWatchHistorySettingsPage"]
        assert len(asked) <= 4  # signed out, then FE once more: never round and round
        s.close()


def test_wrong_region_back_and_forth_tries_each_region_once(history, tmp_path: Path) -> None:
    with FakeAmazon(history, page_sections=10) as fake:
        s = session(fake, tmp_path)
        s.sign_in()
        fake.fault("wrong-region", times=1000)  # NA says FE; FE says NA; NA says FE again …
        with pytest.raises(amazon.FetchError, match="regions tried: FE, NA"):
            s.fetch()
        asked = [e for e in fake.log if e.route == "getWatchHistorySettingsPage"]
        assert len(asked) <= 4 and fake.pending_faults() > 990
        s.close()


@pytest.fixture(scope="module")
def first_api_page(history, tmp_path_factory) -> str:
    """Page 1 of the history API, as Amazon sends it (with a ``nextToken``)."""
    from fixtures.generator import PageOptions, write_api_pages

    folder = tmp_path_factory.mktemp("api")
    pages = write_api_pages(
        history, folder, PageOptions("primevideo", "na", 10, "current-dom", False)
    )
    text = pages[0].read_text(encoding="utf-8")
    assert '"nextToken":"' in text
    return text


def _api_server(httpserver, body) -> AmazonSettings:
    httpserver.expect_request("/region/na/api/getWatchHistorySettingsPage").respond_with_handler(
        body
    )
    return AmazonSettings(video_website=httpserver.url_for("/").rstrip("/"), region="na",
                          timeout=10)  # fmt: skip


def test_a_page_token_sent_twice_ends_the_fetch(
    httpserver, first_api_page: str, tmp_path: Path
) -> None:
    from werkzeug import Response

    def same_page(request) -> Response:
        return Response(first_api_page, content_type="application/json")

    s = AmazonSession(_api_server(httpserver, same_page), cookie_path=tmp_path / "c.lwp",
                      state_dir=tmp_path / "state")  # fmt: skip
    with pytest.raises(amazon.FetchError, match="page token it had sent before"):
        s.fetch()
    assert len(httpserver.log) == 2
    s.close()


def test_pages_beyond_the_bound_end_the_fetch(
    httpserver, first_api_page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from werkzeug import Response

    monkeypatch.setattr(amazon, "MAX_PAGES", 7)
    served = []

    def ever_more(request) -> Response:
        served.append(1)
        body = re.sub(r'"nextToken":"[^"]*"', f'"nextToken":"t{len(served)}"', first_api_page)
        return Response(body, content_type="application/json")

    s = AmazonSession(_api_server(httpserver, ever_more), cookie_path=tmp_path / "c.lwp",
                      state_dir=tmp_path / "state")  # fmt: skip
    with pytest.raises(amazon.FetchError, match="more pages after 7"):
        s.fetch()
    assert len(served) == 7
    s.close()


# ---- redaction of a saved page ------------------------------------------------------------

# How a secret may sit in a page: content only (JSON's quotes are not part of it).
ENCODINGS = {
    "literal": lambda s: s,
    "html": html.escape,
    "html, quotes kept": lambda s: html.escape(s, quote=False),
    "html twice": lambda s: html.escape(html.escape(s)),
    "decimal entities": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "hex entities": lambda s: "".join(f"&#x{ord(c):x};" for c in s),
    "HEX entities": lambda s: "".join(f"&#X{ord(c):X};" for c in s),
    "quote": lambda s: quote(s, safe=""),
    "quote, lower-case hex": lambda s: re.sub(
        r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(s, safe="")
    ),  # fmt: skip
    "quote, / kept": quote,
    "quote_plus": quote_plus,
    "json": lambda s: json.dumps(s)[1:-1],
    "json, utf-8": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "json in json": lambda s: json.dumps(json.dumps(s))[3:-3],
    "json in html": lambda s: html.escape(json.dumps(s)[1:-1]),
    "html in json": lambda s: json.dumps(html.escape(s))[1:-1],
    "json in a url": lambda s: quote(json.dumps(s)[1:-1], safe=""),
    "js hex escapes": lambda s: "".join(f"\\x{ord(c):02x}" if ord(c) < 256 else c for c in s),
}
HARD_PASSWORD = "p&ss'w\"o rd+\u00e9/\\<>%\U0001f600;\n"
EMAIL = "Ana.Lima+pv@example.com"


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_redaction_covers_every_encoding_of_every_secret_and_the_email(encoding: str) -> None:
    encode = ENCODINGS[encoding]
    secrets = [HARD_PASSWORD, TEST_PASSWORD, TEST_TOTP_SECRET]
    for value in [*secrets, EMAIL, EMAIL.upper(), EMAIL.lower()]:
        text = f"§{encode(value)}§"
        assert amazon._redact(text, secrets, email=EMAIL) == "§[redacted]§", text
    page = "<p>Sign in again, 100% &amp; safe: \\u0026 %26 &#39;</p>"
    assert amazon._redact(page, secrets, email=EMAIL) == page  # nothing else is touched


@given(
    secret=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="§"),
                   min_size=4, max_size=20),
    encoding=st.sampled_from(sorted(ENCODINGS)),
)  # fmt: skip
@settings(max_examples=100, deadline=None)  # each example compiles a large pattern: ~50 ms
def test_redaction_of_any_password_in_any_encoding(secret: str, encoding: str) -> None:
    text = f"§{ENCODINGS[encoding](secret)}§"
    assert amazon._redact(text, [secret]) == "§[redacted]§"


def test_unknown_sign_in_page_is_saved_without_any_form_of_a_secret(
    httpserver, tmp_path: Path
) -> None:
    password, email = HARD_PASSWORD, EMAIL
    page = f"""<html><head><title>Something new</title>
<script>var ctx = {{"user": {json.dumps(email)}, "p": {json.dumps(json.dumps(password))}}};</script>
</head><body><form method='post'>
<input name='mystery' value='{html.escape(email)}'>
<input name='other' value='{"".join(f"&#x{ord(c):x};" for c in password)}'>
<input name='password' value='whatever was typed'>
</form>
<a href='/ap/next?email={quote_plus(email)}&amp;p={quote(password, safe="")}'>next</a>
<p data-x="{html.escape(json.dumps(password))}">Amazon changed its pages again, {email.upper()}</p>
</body></html>"""
    httpserver.expect_request("/ap/signin").respond_with_data(page, content_type="text/html")
    signin = httpserver.url_for("/ap/signin") + f"?email={quote(email, safe='')}"
    settings_ = AmazonSettings(signin_url=signin, timeout=10)
    s = AmazonSession(settings_, cookie_path=tmp_path / "c.lwp", state_dir=tmp_path / "state",
                      credentials=Credentials(email, password, TEST_TOTP_SECRET))  # fmt: skip
    with pytest.raises(amazon.LoginError, match="does not know"):
        s.sign_in()
    s.close()
    (dump,) = (tmp_path / "state").glob("amazon-unknown-*.html")
    text = dump.read_text(encoding="utf-8")
    assert "Amazon changed its pages again" in text and text.count("[redacted]") >= 8
    assert "whatever was typed" not in text
    unescaped = text.encode("ascii", "backslashreplace").decode("unicode_escape", "replace")
    decoded = [text, html.unescape(text), unquote_plus(text), html.unescape(unquote_plus(text)),
               unescaped]  # fmt: skip
    for form in decoded:
        assert password not in form and email.lower() not in form.lower()
    for encode in ENCODINGS.values():
        assert encode(password) not in text and encode(email) not in text


def test_api_reply_nested_too_deep_is_a_fetch_error_not_a_crash(httpserver, tmp_path: Path) -> None:
    from werkzeug import Response

    def nested(request) -> Response:
        return Response("[" * 100_000 + "]" * 100_000, content_type="application/json")

    s = AmazonSession(_api_server(httpserver, nested), cookie_path=tmp_path / "c.lwp",
                      state_dir=tmp_path / "state")  # fmt: skip
    with pytest.raises(amazon.FetchError, match="JSON that cannot be read .*nested deeper"):
        s.fetch()
    s.close()


def test_api_rows_that_cannot_be_read_are_skipped_and_told(
    httpserver, first_api_page: str, tmp_path: Path
) -> None:
    # The last page of the API, one item dated 1970: the rest is read and stored, the
    # fetch says which row was skipped, and the import is recorded as partial.
    from werkzeug import Response

    body = re.sub(r',?"nextToken":"[^"]*"', "", first_api_page)
    body = re.sub(r'"time":\d+', '"time":86400000', body, count=1)

    def last_page(request) -> Response:
        return Response(body, content_type="application/json")

    settings = _api_server(httpserver, last_page)
    s = AmazonSession(settings, cookie_path=tmp_path / "c.lwp", state_dir=tmp_path / "state")
    result = s.fetch()
    s.close()
    assert result.events and len(result.unreadable) == 1
    (problem,) = result.unreadable.values()
    assert len(problem.where) >= 1 and "1970" in problem.reason

    env = {"PV2SIMKL_DATA_DIR": str(tmp_path / "d"), "PV2SIMKL_CONFIG": str(tmp_path / "c.toml"),
           "PV2SIMKL_OFFLINE": "0"}  # fmt: skip
    (tmp_path / "c.toml").write_text(
        f'[amazon]\nvideo_website = "{settings.video_website}"\nregion = "na"\n', "utf-8"
    )
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        ctx = pipeline.Context.create(load_settings())
        try:
            report = pipeline.fetch(ctx, full=True)
            assert report.added == len(result.events)
            assert any("skipped" in w and "1970" in w for w in report.warnings)
            (status,) = [r["status"] for r in ctx.store.db.query("SELECT status FROM imports")]
            assert status == "partial"
        finally:
            ctx.close()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---- waits Amazon asks for --------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [
        ("Sun, 29 Nov 2026 12:00:30 GMT", 30.0),  # an HTTP date, 30 s from now
        ("7", 7.0),
        ("Sun, 29 Nov 2026 13:00:00 GMT", 60.0),  # an hour away: a minute at most
        ("soon", 2.0),  # unreadable: the backoff's first step
    ],
)
def test_a_throttled_request_waits_as_long_as_amazon_asks(
    httpserver, tmp_path: Path, retry_after: str, wait: float
) -> None:
    from werkzeug import Response

    answers = iter([Response("", 429, {"Retry-After": retry_after}), Response("{}", 200)])
    httpserver.expect_request("/x").respond_with_handler(lambda request: next(answers))
    s = AmazonSession(AmazonSettings(timeout=10), cookie_path=tmp_path / "c.lwp",
                      state_dir=tmp_path / "state")  # fmt: skip
    clock = FakeClock()
    s.sleep = clock.sleep
    try:
        with time_machine.travel(datetime(2026, 11, 29, 12, 0, tzinfo=UTC), tick=False):
            assert s._get(httpserver.url_for("/x")).status_code == 200
    finally:
        s.close()
    assert clock.sleeps == [pytest.approx(wait)]


def test_still_throttled_after_five_tries_hands_on_the_last_answer(
    httpserver, tmp_path: Path
) -> None:
    httpserver.expect_request("/x").respond_with_data("", status=503)
    s = AmazonSession(AmazonSettings(timeout=10), cookie_path=tmp_path / "c.lwp",
                      state_dir=tmp_path / "state")  # fmt: skip
    clock = FakeClock()
    s.sleep = clock.sleep
    try:
        assert s._get(httpserver.url_for("/x")).status_code == 503
    finally:
        s.close()
    assert len(httpserver.log) == 5 and clock.sleeps == [2.0, 4.0, 8.0, 16.0]
