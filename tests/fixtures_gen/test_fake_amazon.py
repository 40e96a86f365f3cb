"""Tests of the fake Amazon (fixtures/fake_amazon/).

They check what the Amazon session tests will rely on: every sign-in mode walks (or
stops) as the reference describes, driven like a client does it, with mechanicalsoup
choosing forms by their fields and a real TOTP code; the history API serves the
generator's pages byte for byte, so paging to the end with a percent-encoded
``nextToken`` yields exactly ``expected_events``; every error mode answers as Amazon's
does; the catalog knows every episode but one; new events show on page 1; a 20,000-event
account pages to its end; shutdown is clean. How fast it answers is measured by
``bench/fake_amazon_pages.py``, not here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import mechanicalsoup
import pyotp
import pytest
import time_machine

from fixtures import generator as gen
from fixtures.fake_amazon import (
    API_MODES,
    MSG_APPROVE,
    MSG_BAD_CAPTCHA,
    MSG_BAD_CODE,
    MSG_BAD_PASSWORD,
    MSG_EXPIRED_FORM,
    MSG_LOCKED,
    MSG_NO_PHONE,
    MSG_TIMED_OUT,
    MSG_UNKNOWN_EMAIL,
    TEST_EMAIL,
    TEST_PASSWORD,
    TEST_TOTP_SECRET,
    FakeAmazon,
)
from pv2simkl.formats.history_json import events_from_sections, find_history_widget, read_widget

XRW = {"x-requested-with": "XMLHttpRequest"}
TOTP = pyotp.TOTP(TEST_TOTP_SECRET)
HISTORY = "getWatchHistorySettingsPage"


# ---------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> gen.History:
    """A small account: about ten pages of 20 sections, every mandatory case."""
    return gen.build_history(11, 150)


@pytest.fixture(scope="module")
def thousand() -> gen.History:
    return gen.build_history(3, 1000)


@pytest.fixture
def fake(small: gen.History) -> Iterator[FakeAmazon]:
    """A fresh fake per test (modes and faults are state), checked for handler errors."""
    with FakeAmazon(small) as server:
        yield server
    assert not server.errors


@pytest.fixture
def api(fake: FakeAmazon) -> Iterator[httpx.Client]:
    """An httpx client of ``fake`` with a valid session and the XHR header."""
    with httpx.Client(base_url=fake.url, cookies=fake.issue_session(), headers=XRW,
                      timeout=10.0) as client:  # fmt: skip
        yield client


def browser() -> mechanicalsoup.StatefulBrowser:
    return mechanicalsoup.StatefulBrowser(soup_config={"features": "lxml"}, raise_on_404=False)


def fill(b: mechanicalsoup.StatefulBrowser, field: str, **values: str) -> None:
    """Select the form holding input ``field`` (never by position), set values, submit."""
    b.select_form(f'form:has(input[name="{field}"])')
    for name, value in values.items():
        b[name] = value
    b.submit_selected()


def wait_for(condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` became true; gives up after 20 s, a guard against a hang."""
    pause = threading.Event()
    for _ in range(2000):
        if condition():
            return True
        pause.wait(0.01)
    return condition()


def error_text(b: mechanicalsoup.StatefulBrowser) -> str:
    """The message of the page's error box (without its "There was a problem" heading)."""
    box = b.page.select_one("#auth-error-message-box .a-alert-content")
    return " ".join(box.get_text(" ").split()) if box is not None else ""


def wrong_code() -> str:
    """A code no step from five minutes ago to a minute ahead gives."""
    now = time.time()
    near = {TOTP.at(now + 30 * k) for k in range(-12, 4)}
    return next(c for c in ("000000", "123456", "999999", "424242", "271828") if c not in near)


def old_code() -> str:
    """The code of a step 1.5–5 minutes ago (not also a currently valid one)."""
    now = time.time()
    valid = {TOTP.at(now + 30 * k) for k in range(-1, 3)}
    return next(c for k in range(3, 9) if (c := TOTP.at(now - 30 * k)) not in valid)


def to_password(fake: FakeAmazon, b: mechanicalsoup.StatefulBrowser) -> None:
    b.open(fake.signin_url)
    fill(b, "email", email=TEST_EMAIL)


def to_otp(fake: FakeAmazon, b: mechanicalsoup.StatefulBrowser) -> None:
    to_password(fake, b)
    fill(b, "password", password=TEST_PASSWORD)


def history_url(args: dict[str, Any], path: str = "/region/na/api") -> str:
    """``encodeURIComponent(JSON.stringify(args))``: the whole JSON, token included."""
    return f"{path}/{HISTORY}?widgetArgs={quote(json.dumps(args), safe='')}"


def widget_content(r: httpx.Response) -> dict[str, Any]:
    widget = find_history_widget(r.json())
    assert widget is not None
    return widget["content"]["content"]


def page_all(client: httpx.Client, path: str = "/region/na/api") -> list[httpx.Response]:
    """Every history page, following ``nextToken`` to the end."""
    out, token = [], None
    while True:
        r = client.get(history_url({"nextToken": token} if token else {}, path))
        assert r.status_code == 200, r.text[:200]
        out.append(r)
        token = widget_content(r).get("nextToken")
        if not token:
            return out


def canon(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True, ensure_ascii=False) for row in rows)


# ---------------------------------------------------------------------------------------
# Sign-in
# ---------------------------------------------------------------------------------------


def test_two_step_sign_in_with_a_real_code(fake: FakeAmazon) -> None:
    b = browser()
    b.open(fake.signin_url)
    page = b.page
    assert page.title.get_text() == "Amazon Sign-In"
    assert page.select_one("form").get("id") == "ap-language-form"  # the decoy comes first
    assert page.select_one("input#ap_email[name=email]") and page.select_one("#continue")
    assert not page.select_one("input[type=password]")
    for hidden in ("appActionToken", "workflowState", "appAction", "openid.return_to"):
        assert page.select_one(f'form[name=signIn] input[type=hidden][name="{hidden}"]')
    fill(b, "email", email=TEST_EMAIL)

    page = b.page
    assert page.select_one("input#ap_password[name=password]")
    assert page.select_one("input#signInSubmit[type=submit]")
    assert page.select_one("input[type=hidden][name=email]")["value"] == TEST_EMAIL
    fill(b, "password", password=TEST_PASSWORD)

    page = b.page
    assert page.select_one("input#auth-mfa-otpcode[name=otpCode]")
    assert page.select_one("input#auth-signin-button[type=submit]")
    fill(b, "otpCode", otpCode=TOTP.now())

    assert b.url == f"{fake.url}/region/na/settings/watch-history"
    assert "watch-history" in b.url and "signin" not in b.url
    assert '<script type="text/template">' in str(b.page)
    jar = {c.name: c for c in b.session.cookies}
    assert {"session-id", "at-main", "session-token", "ubid-main"} <= set(jar)
    assert jar["at-main"].has_nonstandard_attr("HttpOnly")
    assert jar["session-token"].has_nonstandard_attr("HttpOnly")
    assert not jar["session-id"].has_nonstandard_attr("HttpOnly")
    assert fake.requests("signin", status=302)

    cookies = {name: c.value for name, c in jar.items()}
    with httpx.Client(base_url=fake.url, cookies=cookies, headers=XRW) as client:
        r = client.get(history_url({}))
    assert r.status_code == 200 and widget_content(r)["titles"]


def test_one_page_form(small: gen.History) -> None:
    with FakeAmazon(small, mode="one-page") as fake:
        b = browser()
        b.open(fake.signin_url)
        form = b.page.select_one("form:has(input[name=email])")
        assert form.select_one("input#ap_email") and form.select_one("input#ap_password")
        assert form.select_one("#signInSubmit") and not b.page.select_one("#continue")
        fill(b, "password", email=TEST_EMAIL, password=TEST_PASSWORD)
        assert b.url.endswith("/settings/watch-history")
        assert not fake.errors


def test_hidden_inputs_must_come_back(fake: FakeAmazon) -> None:
    b = browser()
    b.open(fake.signin_url)
    old_page = str(b.page)
    b.select_form("form:has(input[name=email])")
    b.form.form.select_one("input[name=appActionToken]").decompose()
    b["email"] = TEST_EMAIL
    b.submit_selected()
    assert MSG_EXPIRED_FORM in error_text(b)
    assert b.page.select_one("input#ap_email") and not b.page.select_one("input#ap_password")

    # A form whose token was already used (a stale page) is refused too.
    b.open(fake.signin_url)
    stale = str(b.page)
    fill(b, "email", email=TEST_EMAIL)
    b.open_fake_page(stale, url=fake.signin_url)
    fill(b, "email", email=TEST_EMAIL)
    assert MSG_EXPIRED_FORM in error_text(b)
    assert old_page != stale  # every page gets its own tokens


def test_unknown_email(fake: FakeAmazon) -> None:
    b = browser()
    b.open(fake.signin_url)
    fill(b, "email", email="bob@example.com")
    assert MSG_UNKNOWN_EMAIL in error_text(b)


def test_wrong_password(small: gen.History) -> None:
    with FakeAmazon(small) as fake:
        b = browser()
        to_password(fake, b)
        fill(b, "password", password="hunter2")
        assert MSG_BAD_PASSWORD in error_text(b)
        assert b.page.select_one("input#ap_password")
        fill(b, "password", password=TEST_PASSWORD)  # the same flow goes on
        assert b.page.select_one("input#auth-mfa-otpcode")

        fake.set_mode("wrong-password")  # the mode refuses even the right password
        to_password(fake, b)
        fill(b, "password", password=TEST_PASSWORD)
        assert "Your password is incorrect" in error_text(b)


def test_wrong_and_timed_out_codes(fake: FakeAmazon) -> None:
    # Time stands still ten seconds into a 30 s step: a code "one step back" cannot turn
    # two steps old on its way to the fake, however slowly the machine runs.
    with time_machine.travel(datetime(2026, 11, 29, 12, 0, 10, tzinfo=UTC), tick=False):
        check_wrong_and_timed_out_codes(fake)


def check_wrong_and_timed_out_codes(fake: FakeAmazon) -> None:
    b = browser()
    to_otp(fake, b)
    fill(b, "otpCode", otpCode=wrong_code())
    assert error_text(b) == MSG_BAD_CODE and "The code you entered is not valid" in MSG_BAD_CODE
    fill(b, "otpCode", otpCode=old_code())
    assert "timed out" in error_text(b) and error_text(b) == MSG_TIMED_OUT
    fill(b, "otpCode", otpCode=TOTP.at(time.time() - 30))  # one step back: still valid
    assert b.url.endswith("/region/na/settings/watch-history")


def test_device_picker(small: gen.History) -> None:
    with FakeAmazon(small, mode="picker") as fake:
        b = browser()
        to_otp(fake, b)
        radios = b.page.select("form input[type=radio][name=otpDeviceContext]")
        values = [r["value"] for r in radios]
        assert [v.rsplit(", ", 1)[1] for v in values] == ["SMS", "TOTP"]
        assert radios[0].has_attr("checked")  # a client has to choose, not take the default
        fill(b, "otpDeviceContext", otpDeviceContext=values[1])
        assert b.page.select_one("input#auth-mfa-otpcode")
        fill(b, "otpCode", otpCode=TOTP.now())
        assert b.url.endswith("/settings/watch-history")

        # The SMS device: the TOTP code is refused, the "sent" code works.
        b = browser()
        to_otp(fake, b)
        sms = b.page.select("input[name=otpDeviceContext]")[0]["value"]
        fill(b, "otpDeviceContext", otpDeviceContext=sms)
        assert "text message" in b.page.get_text()
        fill(b, "otpCode", otpCode=TOTP.now())
        assert error_text(b) == MSG_BAD_CODE
        fill(b, "otpCode", otpCode=fake.sms_codes[-1])
        assert b.url.endswith("/settings/watch-history")
        assert not fake.errors


def test_captcha(small: gen.History) -> None:
    with FakeAmazon(small, mode="captcha") as fake:
        b = browser()
        to_otp(fake, b)
        img = b.page.select_one("form img[src*=captcha]")
        assert img is not None and b.page.select_one("form input[name=cvf_captcha_input]")
        r = b.session.get(fake.url + img["src"])
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/gif"
        fill(b, "cvf_captcha_input", cvf_captcha_input="WRONG1")
        assert error_text(b) == MSG_BAD_CAPTCHA
        fill(b, "cvf_captcha_input", cvf_captcha_input=fake.captcha_answer.lower())
        assert b.url.endswith("/settings/watch-history")  # a person solved it
        assert not fake.errors


def test_approval_has_no_form(small: gen.History) -> None:
    with FakeAmazon(small, mode="password+otp+approval") as fake:
        b = browser()
        to_otp(fake, b)
        assert MSG_APPROVE in b.page.get_text()
        assert b.page.select("form") == [] and not b.page.select("form input")
        assert "signin" in b.url


def test_locked(small: gen.History) -> None:
    with FakeAmazon(small, mode="locked") as fake:
        b = browser()
        to_otp(fake, b)
        assert MSG_LOCKED in error_text(b)
        assert not b.page.select("form input[type=password], form input[name=otpCode]")


@pytest.mark.parametrize("how", ["link", "form"])
def test_account_fixup_not_now(small: gen.History, how: str) -> None:
    with FakeAmazon(small, mode="password+otp+fixup") as fake:
        b = browser()
        to_otp(fake, b)
        fill(b, "otpCode", otpCode=TOTP.now())
        assert "Add mobile number" in b.page.get_text()
        fill(b, "cvf_phone_num", cvf_phone_num="+1 555 0100")
        assert error_text(b) == MSG_NO_PHONE
        assert not b.session.cookies.get("at-main")  # not signed in before the interstitial
        if how == "link":
            link = b.page.select_one("a#ap-account-fixup-phone-skip-link")
            assert link.get_text() == "Not now"
            b.follow_link(link)
        else:
            b.select_form("form:has(input[name=skip])")
            b.submit_selected()
        assert b.url.endswith("/region/na/settings/watch-history")
        assert b.session.cookies.get("at-main")
        assert not fake.errors


def test_modes_are_validated(fake: FakeAmazon) -> None:
    with pytest.raises(ValueError):
        fake.set_mode("password+sms")
    with pytest.raises(ValueError):
        fake.fault("locked")
    with pytest.raises(ValueError):
        FakeAmazon(mode="nope")
    fake.set_mode("locked")
    b = browser()
    to_otp(fake, b)
    assert MSG_LOCKED in error_text(b)


def test_return_to_and_signed_out_page(fake: FakeAmazon) -> None:
    with httpx.Client(base_url=fake.url) as client:
        r = client.get("/settings/watch-history")
    assert r.status_code == 302 and "/ap/signin?openid.return_to=" in r.headers["Location"]
    b = browser()
    b.open(fake.url + "/settings/watch-history/ref=atv_set_watch-history")
    fill(b, "email", email=TEST_EMAIL)
    fill(b, "password", password=TEST_PASSWORD)
    fill(b, "otpCode", otpCode=TOTP.now())
    assert b.url == fake.url + "/settings/watch-history/ref=atv_set_watch-history"


# ---------------------------------------------------------------------------------------
# Startup config, sessions
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("home", ["NA", "EU"])
def test_startup_config_needs_no_cookie(small: gen.History, home: str) -> None:
    with FakeAmazon(small, home_region=home) as fake, httpx.Client() as client:
        assert "deviceTypeID=AOAGZA014O5RE" in fake.startup_config_url
        r = client.get(fake.startup_config_url)
    data = r.json()
    assert r.status_code == 200 and data["customerConfig"]["homeRegion"] == home
    territory = data["territoryConfig"]
    assert territory["defaultVideoWebsite"] == fake.url
    assert territory["avMarketplace"] == ("ATVPDKIKX0DER" if home == "NA" else "A1PA6795UKMFR9")
    assert {"defaultPrimeMarketplace", "primeSignupBaseUrl", "expiresAt"} <= set(territory)


def test_no_or_stale_cookie_gives_the_sign_in_page(fake: FakeAmazon, api: httpx.Client) -> None:
    assert api.get("/region/na/api/getProfiles").json()["profiles"][0]["isSelected"] is True
    with httpx.Client(base_url=fake.url, headers=XRW) as anonymous:
        r = anonymous.get(history_url({}))
    assert r.status_code == 200 and "<title>Amazon Sign-In</title>" in r.text
    fake.expire_session()
    for route in ("getProfiles", HISTORY):
        r = api.get(f"/region/na/api/{route}")
        assert r.status_code == 200 and "<title>Amazon Sign-In</title>" in r.text
    assert api.get("/region/na/settings/watch-history").status_code == 302
    with httpx.Client(base_url=fake.url, cookies=fake.issue_session(), headers=XRW) as fresh:
        assert fresh.get(history_url({})).status_code == 200


def test_missing_xrw_header_gives_the_full_page(
    fake: FakeAmazon, small: gen.History, tmp_path: Path
) -> None:
    with httpx.Client(base_url=fake.url, cookies=fake.issue_session()) as client:
        r = client.get(history_url({}))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    gen.write_live_page(small, tmp_path / "live.html")
    assert r.content == (tmp_path / "live.html").read_bytes()
    assert fake.log[-1].fault == "no-xrw" and "x-requested-with" not in fake.log[-1].headers


# ---------------------------------------------------------------------------------------
# History API
# ---------------------------------------------------------------------------------------


def test_paging_1000_events_to_the_end(thousand: gen.History, tmp_path: Path) -> None:
    with (
        FakeAmazon(thousand) as fake,
        httpx.Client(base_url=fake.url, cookies=fake.issue_session(), headers=XRW) as client,
    ):
        replies = page_all(client)
        # Byte for byte the generator's files, and its expected events.
        gen.write_api_pages(thousand, tmp_path / "api")
        files = sorted((tmp_path / "api").glob("page-*.json"))
        assert [r.content for r in replies] == [f.read_bytes() for f in files]
        assert fake.tokens == json.loads((tmp_path / "api" / "tokens.json").read_text())
        lines = (tmp_path / "api.expected.jsonl").read_text(encoding="utf-8").splitlines()
        assert canon(fake.expected_events) == canon([json.loads(x) for x in lines])

        contents = [widget_content(r) for r in replies]
        tokens = [c.get("nextToken") for c in contents]
        assert tokens == [*fake.tokens[1:], None] and len(replies) == fake.page_count
        assert "+" in tokens[0] and "/" in tokens[0]  # the encoding trap is on page 1
        empty = [i for i, c in enumerate(contents) if c["titles"] == []]
        assert empty == [fake.empty_page - 1] and 0 < empty[0] < len(replies) - 1
        assert "nextToken" in contents[empty[0]]
        assert [e.page for e in fake.requests(HISTORY)] == list(range(1, len(replies) + 1))

        sections = []
        for r in replies:
            sections += read_widget(find_history_widget(r.json()), "page").sections
        flat = events_from_sections(sections, source="api", locale="en-US", where="fake")
        assert not flat.errors
        got = [e.to_public() for e in flat.events]
        assert len(got) == len(fake.expected_events) == 999  # C6's hidden rewatch is not on it
        assert canon(got) == canon(fake.expected_events)
        assert {row["source"] for row in got} == {"api"}
    assert not fake.errors


def test_token_with_plus_turned_into_space_is_400(fake: FakeAmazon, api: httpx.Client) -> None:
    token = fake.tokens[1]
    assert token is not None and "+" in token
    # Hand-built the way one tool did it: the raw token inside an encoded JSON.
    r = api.get(f"/region/na/api/{HISTORY}?widgetArgs=%7B%22nextToken%22%3A%22{token}%22%7D")
    assert r.status_code == 400 and "+" in r.json()["message"]
    r = api.get(history_url({"nextToken": token}))
    assert r.status_code == 200 and fake.log[-1].page == 2
    assert api.get(history_url({"nextToken": "bm9wZQ=="})).status_code == 400
    assert api.get(f"/region/na/api/{HISTORY}?widgetArgs=%7Bnope").status_code == 400


def test_api_path_variants(small: gen.History) -> None:
    with (
        FakeAmazon(small) as pv,
        httpx.Client(base_url=pv.url, cookies=pv.issue_session(), headers=XRW) as client,
    ):
        for path in ("/region/na/api", "/api"):
            assert widget_content(client.get(history_url({}, path)))["titles"]
            assert len(client.get(f"{path}/getProfiles").json()["profiles"]) == 2
        r = client.get(history_url({}, "/gp/video/api"))
        assert r.status_code == 403 and "Page introuvable" in r.text
        r = client.get(history_url({}, "/region/eu/api"))
        assert r.json() == {"error": "wrong_region", "customer_home_region": "NA"}
    with (
        FakeAmazon(small, site="amazon") as amzn,
        httpx.Client(base_url=amzn.url, cookies=amzn.issue_session(), headers=XRW) as client,
    ):
        content = widget_content(client.get(history_url({}, "/gp/video/api")))
        assert content["titles"][0]["titles"][0]["title"]["href"].startswith("/gp/video/detail/")
        for path in ("/region/na/api", "/api"):
            assert client.get(history_url({}, path)).status_code == 403


def test_stale_session(fake: FakeAmazon, api: httpx.Client) -> None:
    fake.fault("stale")
    assert api.get("/region/na/api/getProfiles").status_code == 200  # profiles still answer
    r = api.get(history_url({}))
    assert r.status_code == 403 and "Page introuvable" in r.text
    assert api.get(history_url({})).status_code == 200  # the fault was used up
    fake.set_mode("stale")
    assert [api.get(history_url({})).status_code for _ in range(2)] == [403, 403]
    assert api.get("/api/getProfiles").status_code == 200
    fake.set_mode("normal")
    assert api.get(history_url({})).status_code == 200


def test_wrong_region(fake: FakeAmazon, api: httpx.Client) -> None:
    fake.fault("wrong-region")
    r = api.get(history_url({}))
    assert r.status_code == 200
    assert r.json() == {"error": "wrong_region", "customer_home_region": "FE"}
    assert api.get(history_url({})).status_code == 200
    fake.fault("wrong-region", route="GetPlaybackResources")
    r = api.get("/cdp/catalog/GetPlaybackResources", params={"asin": fake.history.events[0].gti})
    assert r.status_code == 404 and r.json()["error"] == "wrong_region"


def test_throttle(fake: FakeAmazon, api: httpx.Client) -> None:
    fake.fault("throttle", times=2)
    replies = [api.get(history_url({})) for _ in range(3)]
    assert [r.status_code for r in replies] == [429, 429, 200]
    assert replies[0].headers["Retry-After"] == "2"
    assert fake.pending_faults() == 0
    fake.set_mode("throttle")
    assert api.get("/api/getProfiles").status_code == 429
    r = api.get("/cdp/catalog/GetPlaybackResources", params={"asin": fake.history.events[0].gti})
    assert r.status_code == 429
    fake.set_mode("normal")
    assert api.get("/api/getProfiles").status_code == 200


def test_flaky_page_three(fake: FakeAmazon, api: httpx.Client) -> None:
    fake.fault("flaky")
    assert api.get(history_url({"nextToken": fake.tokens[1]})).status_code == 200
    url3 = history_url({"nextToken": fake.tokens[2]})
    assert [api.get(url3).status_code for _ in range(2)] == [503, 200]
    fake.set_mode("flaky")  # once per pass: each page-1 request starts a pass
    for _ in range(2):
        assert api.get(history_url({})).status_code == 200
        assert [api.get(url3).status_code for _ in range(2)] == [503, 200]


def test_empty_account(fake: FakeAmazon, api: httpx.Client) -> None:
    fake.fault("empty-account")
    content = widget_content(api.get(history_url({})))
    assert set(content) == {"header", "message"}
    assert read_widget(find_history_widget({"widgets": [{"widgetType": "watch-history",
                       "content": {"content": content}}]}), "x").empty_message  # fmt: skip
    assert widget_content(api.get(history_url({})))["titles"]
    with (
        FakeAmazon(gen.empty_history(4)) as empty,
        httpx.Client(base_url=empty.url, cookies=empty.issue_session(), headers=XRW) as client,
    ):
        assert set(widget_content(client.get(history_url({})))) == {"header", "message"}
        assert empty.expected_events == [] and empty.page_count == 1


def test_every_fault_is_known() -> None:
    assert set(API_MODES) == {"stale", "wrong-region", "throttle", "flaky", "empty-account"}


def test_catalog(fake: FakeAmazon, api: httpx.Client) -> None:
    history = fake.history

    def meta(gti: str) -> httpx.Response:
        return api.get("/cdp/catalog/GetPlaybackResources", params={
            "asin": gti, "desiredResources": "CatalogMetadata", "deviceTypeID": "AOAGZA014O5RE",
            "uxLocale": "en_US"})  # fmt: skip

    episodes = [lf for lf in history.events if lf.kind == "episode" and lf.gti != fake.gone_gti]
    for leaf in episodes[:25]:
        data = meta(leaf.gti).json()["catalogMetadata"]
        assert data["catalog"]["id"] == leaf.gti and data["catalog"]["entityType"] == "TV Show"
        if leaf.episode is not None:
            assert data["catalog"]["episodeNumber"] == leaf.episode
        ancestors = data["family"]["tvAncestors"]
        assert ancestors[0]["catalog"]["seasonNumber"] == leaf.season
        assert ancestors[1]["catalog"]["title"] == leaf.title
    pilot = next(lf for lf in history.events if lf.text == "Pilot")  # C12: no number in label
    assert meta(pilot.gti).json()["catalogMetadata"]["catalog"]["episodeNumber"] == 1
    movie = next(lf for lf in history.events if lf.kind == "movie")
    assert meta(movie.gti).json()["catalogMetadata"]["catalog"]["entityType"] == "Movie"
    trailer = next(lf for lf in history.extras if lf.extra == "trailer")
    assert meta(trailer.gti).json()["catalogMetadata"]["catalog"]["entityType"] == "Trailer"
    assert fake.gone_gti in {lf.gti for lf in history.events}
    assert meta(fake.gone_gti).status_code == 404
    assert meta("amzn1.dv.gti.00000000-0000-0000-0000-000000000000").status_code == 404
    with httpx.Client(base_url=fake.url) as anonymous:  # no session needed
        r = anonymous.get("/cdp/catalog/GetPlaybackResources", params={"asin": movie.gti})
        assert r.status_code == 200


def test_enrich_progress(fake: FakeAmazon, api: httpx.Client) -> None:
    gtis = [lf.gti for lf in fake.history.events[:40]]
    r = api.get("/region/na/api/enrichItemMetadata", params={
        "metadataToEnrich": json.dumps({"playback": True}),
        "titleIDsToEnrich": json.dumps(gtis)})  # fmt: skip
    enrichments = r.json()["enrichments"]
    assert 0 < len(enrichments) < len(set(gtis))  # some ids come back without one
    assert all(0 <= e["progress"]["percentage"] <= 100 for e in enrichments.values())


def test_add_events_shows_on_page_one(fake: FakeAmazon, api: httpx.Client) -> None:
    before = fake.expected_events
    old_first = widget_content(api.get(history_url({})))["titles"][0]
    rows = fake.add_events(5)
    assert len(rows) == 5 and len(set(r["gti"] for r in rows)) == 5
    assert [r["watched_at"] for r in rows] == sorted((r["watched_at"] for r in rows), reverse=True)
    assert min(r["watched_at"] for r in rows) > max(r["watched_at"] for r in before)
    assert canon(fake.expected_events) == canon([*rows, *before])
    assert {r["kind"] for r in rows} == {"movie", "episode"}

    sections = widget_content(api.get(history_url({})))["titles"]
    assert sections[0] != old_first
    flat = events_from_sections(sections, source="api", locale="en-US", where="page 1")
    first = [e.to_public() for e in flat.events[:5]]
    assert canon(first) == canon(rows)
    replies = page_all(api)
    assert sum(
        len(events_from_sections(widget_content(r)["titles"], source="api", locale="en-US",
                                 where="p").events)
        for r in replies
    ) == len(before) + 5  # fmt: skip
    assert len(fake.add_events(1)) == 1 and len(fake.expected_events) == len(before) + 6


@pytest.mark.slow
def test_20000_events_every_page_to_the_end() -> None:
    history = gen.build_history(8, 20_000)
    with (
        FakeAmazon(history) as fake,
        httpx.Client(base_url=fake.url, cookies=fake.issue_session(), headers=XRW) as client,
    ):
        leaves, token, pages = 0, None, 0
        while True:
            r = client.get(history_url({"nextToken": token} if token else {}, "/api"))
            pages += 1
            content = widget_content(r)
            for section in content["titles"]:
                for item in section["titles"]:
                    if item["titleType"] in ("movie", "season"):
                        leaves += len(item["children"]) or (item["titleType"] == "movie")
            token = content.get("nextToken")
            if not token or pages > len(fake.tokens):
                break
        assert pages == len(fake.tokens) and not token
        trailers_and_bonus = len(history.extras)
        assert leaves - trailers_and_bonus == len(fake.expected_events) > 19_000


def test_log_concurrency_and_clean_shutdown(small: gen.History) -> None:
    fake = FakeAmazon(small)
    cookies = fake.issue_session()
    with httpx.Client(base_url=fake.url, cookies=cookies, headers=XRW) as client:

        def get(_: int) -> int:
            return client.get(history_url({})).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            assert set(pool.map(get, range(48))) == {200}
        entry = fake.log[-1]
        assert entry.method == "GET" and entry.path == f"/region/na/api/{HISTORY}"
        assert entry.query == {"widgetArgs": "{}"} and entry.status == 200 and entry.page == 1
        assert entry.headers["x-requested-with"] == "XMLHttpRequest"
        assert entry.cookies == tuple(sorted(cookies)) and entry.t > 0
        assert len(fake.requests(HISTORY, status=200)) == 48
        # A kept-alive connection is open while closing: close cuts it rather than leave
        # its handler waiting out the 60 s idle timeout.
        fake.close()
        assert wait_for(lambda: not fake._server.connections)
        fake.close()  # idempotent
    with pytest.raises(httpx.TransportError), httpx.Client() as client:
        client.get(fake.url + "/api/getProfiles", timeout=2)
    server_thread = f"fake-amazon-{fake.url.rsplit(':', 1)[1]}"
    assert not any(t.name == server_thread and t.is_alive() for t in threading.enumerate())
    assert not fake.errors
