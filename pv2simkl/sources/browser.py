"""The optional real browser (extra ``[browser]``): Playwright driving the system Chromium.

Two jobs a script without JavaScript cannot do. ``login``: a visible window on Amazon's
sign-in page, where the user passes a captcha or a phone approval; once the watch
history shows, its cookies are saved for the headless session. ``scrape``: open the
watch-history page, scroll until the "more to load" marker is gone, expand every episode
list with real clicks, and hand the page to the saved-page importer.

Never ``playwright install``: the browser is the system's (``apt-get install chromium``),
reached through ``executable_path``.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any

from pv2simkl.errors import Pv2SimklError
from pv2simkl.net import Backoff, Retry, retrying
from pv2simkl.sources.amazon import CookieFile

log = logging.getLogger(__name__)

ARGS = [
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-gpu", "--disable-quic",
]  # fmt: skip
SENTINEL = 'div[data-automation-id="activity-history-items"] > div > noscript'
TRIGGER = '[data-automation-id="infinite-scroll-trigger"]'
TOGGLES = '[data-testid^="wh-episodes-watched-"]'
ROWS = '[data-testid^="wh-episode-"], [data-automation-id^="wh-episode-"]'


class BrowserError(Pv2SimklError):
    """The browser could not be started or did not reach the history."""

    exit_code = 13


def chromium_path(explicit: str | None = None) -> str:
    """The system Chromium (or Chrome) to drive."""
    for candidate in (explicit, os.environ.get("PV2SIMKL_CHROMIUM"), "chromium",
                      "chromium-browser", "google-chrome", "google-chrome-stable"):  # fmt: skip
        if candidate and (
            found := shutil.which(candidate) or (Path(candidate).is_file() and candidate)
        ):
            return str(found)
    raise BrowserError(
        "No Chromium found: install it (`apt-get install chromium`, or Google Chrome) or set "
        "PV2SIMKL_CHROMIUM to its path."
    )


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise BrowserError(
            "The browser extra is not installed: pip install 'pv2simkl[browser]'."
        ) from None
    return sync_playwright


def _context(p: Any, profile: Path, *, headless: bool, executable: str | None):
    profile.mkdir(parents=True, exist_ok=True)
    os.chmod(profile, 0o700)
    args = list(ARGS)
    if os.geteuid() == 0:  # Chromium refuses to run as root without it (containers, CI)
        args.append("--no-sandbox")
    return p.chromium.launch_persistent_context(
        str(profile), executable_path=chromium_path(executable), headless=headless, args=args
    )


GOTO_BACKOFF = Backoff(initial=1.0, maximum=2.0)  # 1 s, then 2 s between the tries


def _goto(
    page: Any, url: str, *, tries: int = 3, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Navigate, retrying on the same context (the cookies of the session are kept), through
    the program's one retry loop."""

    def attempt(_n: int) -> None:
        try:
            page.goto(url, wait_until="domcontentloaded", timeout=30_000)
        except Exception as exc:  # Playwright's errors share no useful base
            raise Retry(str(exc)) from None

    try:
        retrying(attempt, attempts=tries, backoff=GOTO_BACKOFF, sleep=sleep)
    except Retry as exc:
        raise BrowserError(f"The browser could not open {url} ({exc.reason}).") from None


def save_cookies(cookies: list[dict[str, Any]], cookie_path: Path) -> int:
    """Browser cookies into the headless session's jar (0600)."""
    jar = CookieFile(cookie_path)
    for c in cookies:
        domain = c.get("domain", "")
        jar.jar.set_cookie(
            Cookie(
                version=0, name=c["name"], value=c["value"], port=None, port_specified=False,
                domain=domain, domain_specified=bool(domain),
                domain_initial_dot=domain.startswith("."),
                path=c.get("path", "/"), path_specified=True, secure=bool(c.get("secure")),
                expires=int(c["expires"]) if c.get("expires", -1) > 0 else None,
                discard=c.get("expires", -1) <= 0, comment=None, comment_url=None,
                rest={"HttpOnly": ""} if c.get("httpOnly") else {},
            )
        )  # fmt: skip
    jar.save()
    return len(cookies)


def check_timeout(timeout: float) -> None:
    """Refuse a sign-in timeout that is not a positive number of seconds (NaN or inf
    would wait for ever)."""
    if not math.isfinite(timeout) or timeout <= 0:
        raise BrowserError(f"The sign-in timeout must be a number of seconds, not {timeout}.")


def login(
    signin_url: str, *, cookie_path: Path, profile: Path, headless: bool = False,
    executable: str | None = None, timeout: float = 600.0,
    done: Callable[[str], bool] | None = None,
) -> int:  # fmt: skip
    """Open the sign-in page; wait until the user reaches the watch history; save cookies.

    Returns the number of cookies saved.
    """
    check_timeout(timeout)
    reached = done or (lambda url: "watch-history" in url and "signin" not in url)
    sync_playwright = _playwright()
    with sync_playwright() as p:
        context = _context(p, profile, headless=headless, executable=executable)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            _goto(page, signin_url)
            deadline = time.monotonic() + timeout
            while not reached(page.url):
                if time.monotonic() > deadline:
                    raise BrowserError(
                        "The watch history was not reached in time; run `pv2simkl login "
                        "--browser` again and finish the sign-in in the window."
                    )
                page.wait_for_timeout(500)
            return save_cookies(context.cookies(), cookie_path)
        finally:
            context.close()


def scrape(
    url: str, *, profile: Path, cookie_path: Path | None = None, headless: bool = True,
    executable: str | None = None, max_rounds: int = 2000, pause_ms: int = 250,
) -> bytes:  # fmt: skip
    """The fully loaded watch-history page (every section, every episode list expanded)."""
    sync_playwright = _playwright()
    with sync_playwright() as p:
        context = _context(p, profile, headless=headless, executable=executable)
        try:
            if cookie_path and cookie_path.exists():
                jar = CookieFile(cookie_path).jar
                context.add_cookies([
                    {"name": c.name, "value": c.value, "domain": c.domain, "path": c.path}
                    for c in jar
                ])  # fmt: skip
            page = context.pages[0] if context.pages else context.new_page()
            _goto(page, url)
            _scroll_to_end(page, max_rounds, pause_ms)
            expanded = _expand_all(page)
            log.info("expanded %d episode lists", expanded)
            return page.content().encode("utf-8")
        finally:
            context.close()


def _scroll_to_end(page: Any, max_rounds: int, pause_ms: int) -> None:
    """Scroll until the sentinel is gone; never stop at a count of items."""
    for _ in range(max_rounds):
        if page.locator(SENTINEL).count() == 0:
            return
        trigger = page.locator(TRIGGER)
        if trigger.count():
            trigger.first.scroll_into_view_if_needed()
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_timeout(pause_ms)
    raise BrowserError("The history kept loading after every scroll; the page may be stuck.")


def _expand_all(page: Any) -> int:
    """Click every 'Episodes watched' checkbox once and wait for its rows.

    The label shares the checkbox's id, so clicking the label can toggle twice: only the
    checkbox is clicked, with a real click, and the rows are awaited before moving on.
    """
    count = 0
    toggles = page.locator(TOGGLES)
    for i in range(toggles.count()):
        toggle = toggles.nth(i)
        item = toggle.locator("xpath=ancestor::li[1]")
        if item.locator(ROWS).count():
            continue
        box = toggle.locator("input[type=checkbox]")
        toggle.scroll_into_view_if_needed()
        box.first.click()
        try:
            item.locator(ROWS).first.wait_for(state="attached", timeout=3000)
            count += 1
        except Exception:  # a season without rows: its gtis still come from the delete form
            log.info("an episode list showed no rows after 3 s")
    return count
