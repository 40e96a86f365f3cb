"""The headless Amazon session: sign-in with stored credentials and TOTP, live history fetch.

Sign-in is a loop over the page types Amazon shows (email, password — on one page or
two —, device picker, one-time code, account fix-up, captcha, phone approval), each
told by its form fields, never by position. The one-time code comes from pyotp with the
stored secret, or is asked for on the terminal. What a browser alone can pass (captcha,
approval) ends with a message naming ``pv2simkl login --browser``; an unknown page is
saved, secrets redacted, for diagnosis. Cookies persist in a file only the user can read.

The history is read from the ``getWatchHistorySettingsPage`` API page by page, on the
account's home site and region, and flattened by the same normaliser as the saved page.
"""

from __future__ import annotations

import functools
import html
import html.entities
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import LWPCookieJar
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

import mechanicalsoup
import requests

from pv2simkl.config import AmazonSettings
from pv2simkl.errors import Pv2SimklError
from pv2simkl.formats.bounded_json import BadJSON, read_json
from pv2simkl.formats.events import Unreadable
from pv2simkl.formats.history_json import events_from_sections, find_history_widget, read_widget
from pv2simkl.models import WatchEvent
from pv2simkl.net import Backoff, Retry, connect_timeout, retry_after, retrying

if TYPE_CHECKING:
    from pv2simkl.formats.history_json import HistoryPage

log = logging.getLogger(__name__)

SOURCE = "api"
UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
MAX_STEPS = 12
# Bounds of the history fetch: pages of one history (each holds weeks of watching; the
# largest real histories hold a few hundred), and rounds of recovery (another API path,
# another region, one more sign-in) before the fetch gives up with a sentence.
MAX_PAGES = 5000
MAX_ROUNDS = 12
BROWSER_HINT = "Sign in once with `pv2simkl login --browser`, then run this again."
# Requests to Amazon: five tries, 2, 4, 8, 16 s apart (a Retry-After is honoured up to a
# minute); a host that takes no connection at all is tried twice, not five times.
ATTEMPTS = 5
BACKOFF = Backoff(initial=2.0, maximum=60.0)


class LoginError(Pv2SimklError):
    """Signing in to Amazon failed; the message says why and what to do."""

    exit_code = 10


class CaptchaRequired(LoginError):
    """Amazon asks for a captcha, which only a browser can show."""


class ApprovalRequired(LoginError):
    """Amazon waits for the sign-in to be approved on a phone."""


class WrongPassword(LoginError):
    """The stored password was refused."""


class AccountLocked(LoginError):
    """Amazon has locked the account."""


class OtpRejected(LoginError):
    """The one-time code was refused (wrong secret, or a clock far off)."""


class SessionExpired(Pv2SimklError):
    """The session cookies no longer open the history, even after signing in again."""

    exit_code = 11


class FetchError(Pv2SimklError):
    """The history API answered something that cannot be read."""

    exit_code = 12


@dataclass
class Credentials:
    email: str
    password: str
    totp_secret: str = ""


REDACTED = "[redacted]"
# What may stand before an escape, itself escaped once more: `&` as `&amp;` or `\u0026`,
# `%` as `%25`, a backslash doubled or percent-encoded. Runs of backslashes are bounded (JSON
# in JSON in JSON needs 4) so that a page full of them cannot make the search quadratic.
# Everywhere the longer form comes first: the match must not stop inside an escape.
_AMP = r"(?:&amp;|&#0*38;?|&#[xX]0*26;?|%26|\\{1,8}u0026|\\{1,8}x26|&)"
_PCT = r"(?:%25|&#0*37;?|&#[xX]0*25;?|\\{1,8}u0025|%)"
_BSL = r"(?:\\{1,8}|%5[cC]|&#0*92;?|&#[xX]0*5[cC];?|&bsol;)"
_JSON_SHORT = {"\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
_SECRET_FIELD = re.compile(r"""\bname\s*=\s*["']?(?:password|otpCode|email)\b""", re.I)
_INPUT = re.compile(r"<input\b[^>]*>", re.I)
_VALUE = re.compile(r"""(\bvalue\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.I)


@functools.cache
def _entity_names() -> dict[str, list[str]]:
    """Character → its HTML5 entity names (``amp;``, ``amp``, ``AMP;`` …)."""
    names: dict[str, list[str]] = {}
    for name, value in html.entities.html5.items():
        if len(value) == 1:
            names.setdefault(value, []).append(name)
    return names


def _hex(value: int, width: int) -> str:
    return f"(?i:0*{value:0{width}x})"


@functools.cache
def _char_pattern(char: str, *, fold: bool) -> str:
    """Every way one character of a secret may be written in a saved page: as it is;
    HTML-escaped (named, decimal, hex entity); URL-encoded (each UTF-8 byte, ``+`` for a
    space); JSON- or JS-escaped (``\\u00e9``, a surrogate pair, ``\\x41``, ``\\"``, ``\\n``),
    with the escape's own lead character escaped once more (``&amp;#39;``, ``\\u0026amp;``,
    ``%5C%22``). ``fold``: either case of a letter, in each of these forms."""
    if fold and char.lower() != char.upper():
        cases = [_char_pattern(c, fold=False) for c in {char.lower(), char.upper()}]
        return "(?:" + "|".join(sorted(cases)) + ")"
    code = ord(char)
    names = sorted(_entity_names().get(char, []), key=len, reverse=True)
    plain = [_AMP + re.escape(name) for name in names]
    plain += [f"{_AMP}#0*{code};?", f"{_AMP}#[xX]{_hex(code, 1)};?"]
    plain.append("".join(_PCT + _hex(byte, 2) for byte in char.encode("utf-8")))
    if char == " ":
        plain.append(r"\+")
    plain.append(re.escape(char))  # last: "%" must not take the "%" of "%25"
    units = char.encode("utf-16-be")
    escaped = ["".join(_BSL + "u" + _hex(int.from_bytes(units[i:i + 2]), 4)
                       for i in range(0, len(units), 2))]  # fmt: skip
    if code < 256:
        escaped.append(_BSL + "x" + _hex(code, 2))
    if char in _JSON_SHORT:
        escaped.append(_BSL + _JSON_SHORT[char])
    elif not char.isalnum():
        escaped.append(_BSL + f"(?:{'|'.join(plain)})")
    return "(?:" + "|".join(escaped + plain) + ")"


def _secret_pattern(secret: str, *, fold: bool = False) -> re.Pattern[str]:
    return re.compile("".join(_char_pattern(c, fold=fold) for c in secret))


def _redact(text: str, secrets: list[str], *, email: str = "") -> str:
    """``text`` with every secret, and the email address, replaced by ``[redacted]`` in
    every encoding a page may hold it in (see :func:`_char_pattern`; the email matched
    without regard to case), and the values of password, code and email fields blanked."""
    wanted = [(s, False) for s in secrets if s] + ([(email, True)] if email else [])
    for secret, fold in sorted(wanted, key=lambda w: -len(w[0])):
        text = _secret_pattern(secret, fold=fold).sub(REDACTED, text)

    def blank(tag: re.Match[str]) -> str:
        found = tag.group(0)
        return _VALUE.sub(rf'\1"{REDACTED}"', found) if _SECRET_FIELD.search(found) else found

    return _INPUT.sub(blank, text)


class CookieFile:
    """An LWP cookie jar in a file only the user can read (0600); refused if others can."""

    def __init__(self, path: Path):
        self.path = path
        self.jar = LWPCookieJar(str(path))
        if path.exists():
            if os.name == "posix" and path.stat().st_mode & 0o077:
                raise LoginError(f"{path} can be read by other users; delete it or `chmod 600` it.")
            self.jar.load(ignore_discard=True, ignore_expires=True)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        os.chmod(self.path, 0o600)
        self.jar.save(ignore_discard=True, ignore_expires=True)


@dataclass
class FetchResult:
    """What one fetch read, and (filled in by :func:`pv2simkl.pipeline.fetch`) what the
    store made of it: ``fetch``'s report."""

    events: list[WatchEvent] = field(default_factory=list)
    pages: int = 0
    stopped_early: bool = False
    signed_in: bool = False
    host: str = ""
    api_path: str = ""
    warnings: list[str] = field(default_factory=list)
    # Rows of the API's pages that could not be read, by kind (as a file's): the fetch
    # stores the rest and says which were skipped.
    unreadable: dict[str, Unreadable] = field(default_factory=dict)
    added: int = 0  # events new to the store
    numbered: int = 0  # stored episodes numbered from Amazon's catalog

    @property
    def read(self) -> int:
        """Events read from the history pages."""
        return len(self.events)


class AmazonSession:
    """One account: its cookies, its sign-in, its history API."""

    def __init__(
        self, settings: AmazonSettings, *, cookie_path: Path, state_dir: Path,
        credentials: Credentials | None = None, ask_code: Callable[[], str] | None = None,
        locale: str | None = None,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.credentials = credentials
        self.ask_code = ask_code
        self.state_dir = state_dir
        self.locale = locale
        self.cookies = CookieFile(cookie_path)
        self.browser = mechanicalsoup.StatefulBrowser(
            soup_config={"features": "lxml"}, user_agent=UA, raise_on_404=False
        )
        self.browser.session.cookies = self.cookies.jar  # type: ignore[assignment]
        # (connect, read): a host that takes no connection is given up on in seconds.
        self.timeout = (connect_timeout(settings.timeout), settings.timeout)
        self._last_code: str | None = None
        # The wall clock the one-time codes are computed at, and how the session waits
        # (for the next code, a Retry-After): a test gives a fake pair, and no test waits.
        self.clock: Callable[[], float] = time.time
        self.sleep: Callable[[float], None] = time.sleep

    @property
    def http(self) -> requests.Session:
        return self.browser.session

    def close(self) -> None:
        self.browser.close()

    # ---- sign-in ------------------------------------------------------------------------

    def sign_in(self) -> None:
        """Walk Amazon's sign-in pages until signed in, or raise a LoginError that says why."""
        if self.credentials is None or not (self.credentials.email and self.credentials.password):
            raise LoginError(
                "No Amazon credentials are stored: run `pv2simkl credentials set amazon` "
                "(or set PV2SIMKL_AMAZON_EMAIL and PV2SIMKL_AMAZON_PASSWORD)."
            )
        self.browser.open(self.settings.signin_url, timeout=self.timeout)
        for _ in range(MAX_STEPS):
            page = self.browser.page
            url = self.browser.url or ""
            if page is None:
                raise LoginError(f"Amazon's sign-in answered no page at {url}.")
            if self._signed_in(url, page):
                self.cookies.save()
                log.info("signed in to Amazon")
                return
            self._step(page)
        self._save_unknown("too-many-steps")
        raise LoginError(f"Signing in did not finish after {MAX_STEPS} pages. {BROWSER_HINT}")

    def _signed_in(self, url: str, page: Any) -> bool:
        if "watch-history" in url and "signin" not in url and "/ap/" not in url:
            return True
        title = page.title.get_text(strip=True).lower() if page.title else ""
        has_form = page.select_one("form input[name=email], form input[type=password]")
        return "watch history" in title and not has_form

    def _text(self, page: Any) -> str:
        return " ".join(page.get_text(" ").split()).lower()

    def _step(self, page: Any) -> None:
        """Recognise one page and act on it; raise on the pages no script can pass."""
        text = self._text(page)
        error = page.select_one(
            "#auth-error-message-box, .a-alert-error, #auth-warning-message-box"
        )
        error_text = " ".join(error.get_text(" ").split()).lower() if error else ""
        if page.select_one("input[name=cvf_captcha_input], img[src*=captcha], #captchacharacters"):
            raise CaptchaRequired(f"Amazon asks for a captcha. {BROWSER_HINT}")
        if "approve" in text and "notification" in text and not page.select_one("form input"):
            raise ApprovalRequired(
                "Amazon waits for you to approve this sign-in on your phone. " + BROWSER_HINT
            )
        if "password is incorrect" in error_text or "password was incorrect" in error_text:
            raise WrongPassword(
                "Amazon says the stored password is incorrect; store the right one with "
                "`pv2simkl credentials set amazon`."
            )
        if "locked" in error_text or ("account" in text and "is locked" in text):
            raise AccountLocked(
                "Amazon has locked the account; unlock it on amazon.com, then run this again."
            )
        if page.select_one("form input[name=otpCode]"):
            if error_text and ("not valid" in error_text or "invalid" in error_text):
                raise OtpRejected(
                    "Amazon refused the one-time code; check the stored TOTP secret "
                    "(`pv2simkl credentials set amazon`) and this computer's clock."
                )
            if "timed out" in error_text or "expired" in error_text:
                raise OtpRejected(
                    "Amazon says the one-time code timed out; check this computer's clock."
                )
            return self._submit_code()
        if page.select_one("form input[name=otpDeviceContext]"):
            return self._pick_device(page)
        if page.select_one("form input[type=password]"):
            return self._submit_password(page)
        if page.select_one("form input[name=email]"):
            return self._submit_email()
        skip = page.select_one("#ap-account-fixup-phone-skip-link, a[id*=skip]")
        if skip is not None and skip.get("href"):
            self.browser.open(urljoin(self.browser.url, skip["href"]), timeout=self.timeout)
            return None
        if skip is not None:
            form = skip.find_parent("form")
            if form is not None:
                self.browser.select_form(form)
                self.browser.submit_selected(timeout=self.timeout)
                return None
        path = self._save_unknown("unknown")
        raise LoginError(f"Amazon showed a page this tool does not know (saved to {path}). "
                         + BROWSER_HINT)  # fmt: skip

    def _submit_email(self) -> None:
        self.browser.select_form("form:has(input[name=email])")
        self.browser["email"] = self.credentials.email
        self.browser.submit_selected(timeout=self.timeout)

    def _submit_password(self, page: Any) -> None:
        self.browser.select_form("form:has(input[type=password])")
        form = self.browser.form.form
        if form.select_one("input[name=email]"):
            self.browser["email"] = self.credentials.email
        name = form.select_one("input[type=password]").get("name") or "password"
        self.browser[name] = self.credentials.password
        remember = form.select_one("input[name=rememberMe]")
        if remember is not None:
            remember["checked"] = "checked"
        self.browser.submit_selected(timeout=self.timeout)

    def _pick_device(self, page: Any) -> None:
        self.browser.select_form("form:has(input[name=otpDeviceContext])")
        options = [i.get("value", "") for i in page.select("input[name=otpDeviceContext]")]
        choice = next((o for o in options if "TOTP" in o.upper()), options[0] if options else "")
        self.browser["otpDeviceContext"] = choice
        self.browser.submit_selected(timeout=self.timeout)

    def _code(self) -> str:
        secret = self.credentials.totp_secret if self.credentials else ""
        if secret:
            from pv2simkl.credentials import make_totp, normalise_totp_secret

            totp = make_totp(normalise_totp_secret(secret, "The stored Amazon TOTP secret"))
            left = totp.interval - self.clock() % totp.interval
            if left < 3:  # at the window's edge the code may die on the way: take the next
                self.sleep(left + 0.2)
            code = totp.at(self.clock())
            if code == self._last_code:  # never submit one code twice
                self.sleep(totp.interval - self.clock() % totp.interval + 0.2)
                code = totp.at(self.clock())
            self._last_code = code
            return code
        if self.ask_code is None:
            raise OtpRejected(
                "Amazon asks for a one-time code and no TOTP secret is stored; store it with "
                "`pv2simkl credentials set amazon`, or run this on a terminal to type the code."
            )
        return self.ask_code().strip()

    def _submit_code(self) -> None:
        self.browser.select_form("form:has(input[name=otpCode])")
        self.browser["otpCode"] = self._code()
        form = self.browser.form.form
        if form.select_one("input[name=rememberDevice]"):
            self.browser["rememberDevice"] = True
        self.browser.submit_selected(timeout=self.timeout)

    def _save_unknown(self, reason: str) -> Path:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = self.state_dir / f"amazon-{reason}-{stamp}.html"
        creds = self.credentials
        secrets = [creds.password, creds.totp_secret] if creds else []
        page = str(self.browser.page) if self.browser.page is not None else ""
        url = (self.browser.url or "").replace("--", "%2D%2D")  # never ends the comment
        text = _redact(f"<!-- {url} -->\n{page}", secrets, email=creds.email if creds else "")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return path

    # ---- catalog --------------------------------------------------------------------------

    def catalog_url(self, host: str, region: str) -> str:
        """``atv-ps[-<region>].<site>``: the catalog host Amazon's own players use."""
        if self.settings.catalog_url:
            return self.settings.catalog_url.rstrip("/")
        netloc = urlsplit(host).netloc.removeprefix("www.")
        prefix = "atv-ps" if region in ("", "na") else f"atv-ps-{region}"
        return f"https://{prefix}.{netloc}"

    def episode_numbers(
        self, base: str, gtis: list[str]
    ) -> dict[str, tuple[int | None, int | None]]:
        """gti → (season, episode) from ``GetPlaybackResources``; titles it does not know
        (a title that left the catalog answers 404) are left out."""
        out: dict[str, tuple[int | None, int | None]] = {}
        for gti in gtis:
            params = {
                "asin": gti, "consumptionType": "Streaming",
                "desiredResources": "CatalogMetadata", "deviceID": "pv2simkl",
                "deviceTypeID": "AOAGZA014O5RE", "firmware": "1", "gascEnabled": "true",
                "resourceUsage": "CacheResources", "videoMaterialType": "Feature",
                "titleDecorationScheme": "primary-content", "uxLocale": "en_US",
            }  # fmt: skip
            r = self._get(f"{base}/cdp/catalog/GetPlaybackResources", xhr=False, params=params)
            if r.status_code != 200:
                continue
            try:
                meta = r.json()["catalogMetadata"]
                episode = meta["catalog"].get("episodeNumber")
                ancestors = meta.get("family", {}).get("tvAncestors") or [{}]
                season = ancestors[0].get("catalog", {}).get("seasonNumber")
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            if isinstance(episode, int) or isinstance(season, int):
                out[gti] = (season if isinstance(season, int) else None,
                            episode if isinstance(episode, int) else None)  # fmt: skip
        return out

    # ---- history API --------------------------------------------------------------------

    def startup(self) -> tuple[str, str]:
        """(home site, region) from the startup config, unless set in config."""
        host, region = self.settings.video_website, self.settings.region
        if host and region:
            return host.rstrip("/"), region.lower()
        r = self._get(self.settings.startup_config_url, xhr=False)
        try:
            data = r.json()
            host = host or data["territoryConfig"]["defaultVideoWebsite"]
            region = region or data["customerConfig"]["homeRegion"]
        except (ValueError, KeyError, TypeError):
            raise FetchError(
                "Amazon's startup config could not be read; set [amazon] video_website and "
                "region by hand."
            ) from None
        return str(host).rstrip("/"), str(region).lower()

    @staticmethod
    def api_paths(host: str, region: str) -> list[str]:
        """The API path variants, the one Amazon's rule names first."""
        netloc = urlsplit(host).netloc
        if re.match(r"^(www\.)?amazon\.", netloc):
            return ["/gp/video/api", f"/region/{region}/api", "/api"]
        return [f"/region/{region}/api", "/api", "/gp/video/api"]

    def _get(self, url: str, *, xhr: bool = True, params: dict | None = None) -> requests.Response:
        headers = {"x-requested-with": "XMLHttpRequest"} if xhr else {}

        def attempt(num: int) -> requests.Response:
            try:
                r = self.http.get(url, headers=headers, params=params, timeout=self.timeout,
                                  allow_redirects=True)  # fmt: skip
            except requests.RequestException as exc:
                # No connection at all (no network, a name that does not resolve): one more
                # try, not five; a read that timed out or broke gets all five.
                refused = isinstance(exc, (requests.ConnectionError, requests.ConnectTimeout))
                refused = refused and not isinstance(exc, requests.ReadTimeout)
                if refused and num > 1:
                    raise _unreachable(type(exc).__name__) from None
                raise Retry(type(exc).__name__) from None
            if r.status_code in (429, 503):
                wait = retry_after(r.headers.get("Retry-After"))
                wait = None if wait is None else min(wait, BACKOFF.maximum)
                raise Retry(f"HTTP {r.status_code}", wait=wait, status=r.status_code, answer=r)
            return r

        try:
            return retrying(attempt, attempts=ATTEMPTS, backoff=BACKOFF, sleep=self.sleep)
        except Retry as exc:
            if exc.answer is not None:  # still throttled: the caller reads the answer
                return exc.answer
            raise _unreachable(exc.reason) from None

    def history_pages(self, host: str, path: str) -> Iterator[HistoryPage]:
        """Every history page from the first on, as its widget reads.

        Bounded: a token Amazon already sent (it would page in a circle) or more than
        MAX_PAGES pages end the fetch with a FetchError."""
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            args = json.dumps({"nextToken": token} if token else {}, separators=(",", ":"))
            # The whole JSON is percent-encoded, token included (`+`, `/`, `=`).
            url = f"{host}{path}/getWatchHistorySettingsPage?widgetArgs={quote(args, safe='')}"
            page = self._page(self._get(url))
            yield page
            token = page.next_token
            if not token:
                return
            if token in seen:
                raise FetchError(
                    f"The history API sent a page token it had sent before (after {len(seen) + 1}"
                    " pages): it would go round in circles. Try again later."
                )
            seen.add(token)
        raise FetchError(
            f"The history API kept sending more pages after {MAX_PAGES}; the fetch stops there."
        )

    def _page(self, r: requests.Response) -> HistoryPage:
        """The history page one answer of the API holds; why not, as an exception."""
        body = r.text
        if r.status_code == 403:
            raise _WrongPath("403")
        if "<title>Amazon Sign-In</title>" in body or "/ap/signin" in (r.url or ""):
            raise _NeedsSignIn()
        if r.status_code != 200:
            raise FetchError(f"The history API answered HTTP {r.status_code}.")
        if body.lstrip().startswith("<"):
            raise _NeedsSignIn()
        try:
            doc = read_json(body)  # the same bounds as a saved JSON file (depth, numbers)
        except BadJSON as exc:
            raise FetchError(
                f"The history API answered JSON that cannot be read ({exc}); try again later."
            ) from None
        if isinstance(doc, dict) and doc.get("error") == "wrong_region":
            raise _WrongRegion(str(doc.get("customer_home_region") or ""))
        widget = find_history_widget(doc)
        if widget is None:
            raise FetchError("The history API answer holds no watch-history widget.")
        return read_widget(widget, "history API")

    def fetch(
        self, *, known: Callable[[WatchEvent], bool] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> FetchResult:  # fmt: skip
        """Read the history, newest first, until its end — or, with ``known``, until pages
        hold only events already stored (``[amazon] overlap`` pages past the first such)."""
        result = FetchResult()
        host, region = self.startup()
        paths = self.api_paths(host, region)
        regions_tried: set[str] = set()  # regions Amazon sent us to: each is tried once
        for _ in range(MAX_ROUNDS):  # each way out below is bounded too: this is the backstop
            try:
                return self._read(host, paths, known, progress, result)
            except _WrongPath:
                paths = paths[1:]
                if not paths:
                    self._sign_in_again(
                        result, "The history API refuses this session on every path"
                    )
                    paths = self.api_paths(host, region)
            except _WrongRegion as exc:
                region = _next_region(exc.region.lower() or region, regions_tried)
                paths = [f"/region/{region}/api", "/api"]
            except _NeedsSignIn:
                self._sign_in_again(result, "Amazon keeps asking to sign in")
        raise FetchError(
            f"The history could not be read after {MAX_ROUNDS} tries of other paths, regions "
            "and sign-ins; set [amazon] video_website and region by hand and try again."
        )

    def _sign_in_again(self, result: FetchResult, why: str) -> None:
        """Sign in once more in the middle of a fetch; a second time, the session is not
        what fails: SessionExpired, saying ``why``."""
        if result.signed_in:
            raise SessionExpired(f"{why}; {BROWSER_HINT}") from None
        self.sign_in()
        result.signed_in = True

    def _read(
        self, host: str, paths: list[str], known: Callable[[WatchEvent], bool] | None,
        progress: Callable[[int], None] | None, result: FetchResult,
    ) -> FetchResult:  # fmt: skip
        path = paths[0]
        result.events.clear()
        result.unreadable.clear()
        result.pages = 0
        known_pages = 0
        for page in self.history_pages(host, path):
            flat = events_from_sections(page.sections, source=SOURCE, locale=self.locale,
                                        where=f"history page {result.pages + 1}")  # fmt: skip
            result.pages += 1
            result.events.extend(flat.events)
            result.warnings.extend(flat.errors)
            for kind, problem in flat.unreadable.items():
                result.unreadable.setdefault(kind, Unreadable(problem.reason)).where.extend(
                    problem.where
                )
            if progress:
                progress(len(flat.events))
            if known is not None and page.sections:
                if flat.events and all(known(e) for e in flat.events):
                    known_pages += 1
                    if known_pages >= max(1, self.settings.overlap):
                        result.stopped_early = True
                        break
                else:
                    known_pages = 0
        result.host, result.api_path = host, path
        self.cookies.save()
        return result


def _unreachable(error: str) -> FetchError:
    return FetchError(
        f"Amazon could not be reached ({error}); check the network and run this again."
    )


def _next_region(region: str, tried: set[str]) -> str:
    """The region Amazon's ``wrong_region`` answer names, unless it was tried already (it
    would send us round forever: the same region again, or back and forth)."""
    if region in tried:
        raise FetchError(
            f"Amazon's history API names {region.upper()} as the account's home region again "
            f"after refusing it there (regions tried: {', '.join(sorted(tried)).upper()}); "
            "set [amazon] region (na, eu or fe) and video_website by hand and try again."
        )
    tried.add(region)
    return region


class _WrongPath(Exception):
    pass


class _NeedsSignIn(Exception):
    pass


class _WrongRegion(Exception):
    def __init__(self, region: str):
        super().__init__(region)
        self.region = region
