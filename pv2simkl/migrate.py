"""``pv2simkl config migrate OLD``: the old exporter's settings into pv2simkl's.

``migrate`` reads the old exporter's settings, either its ``config.js`` (a JavaScript
object literal after ``module.exports =`` or ``export default``, read by json5) or its
later ``config.json`` in either of its two shapes, and writes pv2simkl's ``config.toml``.
Secrets (API keys, client ids, the Amazon account) go to the system keyring through
``store_secret`` and never into the file; client secrets are dropped, as pv2simkl has no
use for them. The file is edited with tomlkit so an existing file keeps its comments and
other keys, and a key the user already set differently is left alone unless ``force``.
The report names what went where, never a value.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json5
import tomlkit
from tomlkit.exceptions import TOMLKitError

from pv2simkl import credentials
from pv2simkl.config import (
    SECRET_KEYS,
    SECTIONS,
    check_staged,
    provider_names,
    stage_private,
)
from pv2simkl.errors import ConfigError

StoreSecret = Callable[[str, dict[str, str]], object]

# ---------------------------------------------------------------- the old exporter's names

# Old field names, lower-cased without separators, nesting joined: ``simklClientId``,
# ``api_keys.simkl_client_id`` and ``simkl.client_id`` all become ``simklclientid``.
# Containers that only group keys vanish from the joined name, or get a shorter one.
_CONTAINERS = {
    "apikeys": "",
    "keys": "",
    "credentials": "",
    "secrets": "",
    "metadata": "",
    "settings": "",
    "amazoncredentials": "amazon",
    "amazonaccount": "amazon",
}
_RATE_CONTAINERS = {"ratelimit", "ratelimits", "ratelimiting"}

_TARGETS: dict[str, tuple[str, str]] = {
    **dict.fromkeys(["simklclientid", "simkl", "simklapikey"], ("simkl", "client_id")),
    **dict.fromkeys(["tmdbapikey", "tmdbkey", "tmdb", "tmdbv3key"], ("tmdb", "api_key")),
    **dict.fromkeys(
        ["tmdbaccesstoken", "tmdbtoken", "tmdbreadaccesstoken", "tmdbbearertoken", "tmdbv4token"],
        ("tmdb", "token"),
    ),
    **dict.fromkeys(["tvdbapikey", "tvdbkey", "tvdb"], ("tvdb", "api_key")),
    "tvdbpin": ("tvdb", "pin"),
    **dict.fromkeys(["malclientid", "mal", "myanimelistclientid"], ("mal", "client_id")),
    **dict.fromkeys(["omdbapikey", "omdbkey", "omdb"], ("omdb", "api_key")),
    **dict.fromkeys(["amazonemail", "amazonusername", "amazonlogin"], ("amazon", "email")),
    "amazonpassword": ("amazon", "password"),
    **dict.fromkeys(
        ["amazontotpsecret", "amazontotp", "amazonotpsecret", "amazonmfasecret"],
        ("amazon", "totp_secret"),
    ),
    **dict.fromkeys(["outputpath", "outputfile", "output"], ("paths", "export_dir")),
    **dict.fromkeys(["outputdir", "outputdirectory", "exportdir"], ("paths", "export_dir")),
    **dict.fromkeys(["priorityorder", "providerorder", "order"], ("metadata", "order")),
}
_FILE_PATHS = {"outputpath", "outputfile", "output"}  # name a CSV file: its folder is meant
_CLIENT_SECRETS = {"simklclientsecret", "malclientsecret", "tmdbclientsecret"}
_IGNORED = {
    "useoriginaltitles": "pv2simkl has no such switch; titles are matched as Amazon shows them",
    "imdbapikey": "the old exporter never used it",
    "browserdriverpath": "the old exporter never used it; pv2simkl drives the system Chromium",
}
_PROVIDER_NAMES = {
    "imdb": "imdbapi",
    "imdbapidev": "imdbapi",
    "themoviedb": "tmdb",
    "thetvdb": "tvdb",
    "myanimelist": "mal",
    **{name: name for name in provider_names()},
}
# The old exporter's defaults: not the user's choice, so pv2simkl's own defaults stay.
_OLD_DEFAULT_ORDER = ["simkl", "tmdb", "tvdb", "imdb", "mal"]
_OLD_DEFAULT_LIMITS = {"simkl": (30, 10), "tmdb": (40, 10), "tvdb": (100, 60)}
_OLD_DEFAULT_LIMITS |= {"imdb": (5, 10), "mal": (2, 1)}
_OLD_DEFAULT_OUTPUTS = {"./export.csv", "export.csv"}
_PLACEHOLDER = re.compile(
    r"^(your[\s_-]|<.*>$|\$\{|x{4,}$|\*{4,}$|\.\.\.$|change[\s_-]?me|placeholder|replace|todo$)",
    re.IGNORECASE,
)


def _norm(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


# ---------------------------------------------------------------- reading the old file


# ``module.exports =``, ``exports.default =`` or ``export default`` at the start of a line
# (or after a ``;``): a line that is a comment starts with ``//`` or ``*`` instead.
_EXPORT = re.compile(
    r"(?:^|;)[ \t]*(?:module\.exports\s*=|exports\.default\s*=|export\s+default\b)\s*",
    re.MULTILINE,
)
_BARE = re.compile(r"\s*(?:(?://[^\n]*|/\*.*?\*/)\s*)*\{", re.DOTALL)  # comments, then {


def _literal_start(text: str, path: Path) -> int:
    """Where the exported object literal of a ``config.js`` starts (its ``{``).

    Handles ``module.exports = {…};``, ``export default {…}`` and the two-step
    ``const config = {…}; module.exports = config;``.
    """
    found = _EXPORT.search(text)
    if not found:
        raise ConfigError(
            f"{path} does not look like the old exporter's config.js: "
            "no `module.exports = { … }` or `export default { … }` in it."
        )
    start = found.end()
    if text[start : start + 1] == "{":
        return start
    name = re.match(r"[A-Za-z_$][\w$]*", text[start:])
    decl = name and re.search(
        rf"(?:^|;)[ \t]*(?:const|let|var)\s+{re.escape(name[0])}\s*=\s*(?=\{{)", text, re.MULTILINE
    )
    if not decl:
        raise ConfigError(
            f"{path}: the exported value is not an object literal `{{ … }}`; "
            "simplify the file to `module.exports = { … };`."
        )
    return decl.end()


def _error_position(message: str) -> tuple[int, int] | None:
    """json5 says ``<string>:LINE Unexpected "x" at column COL``."""
    found = re.search(r":(\d+)\b.*?column (\d+)", message)
    return (int(found[1]), int(found[2])) if found else None


def _offset(text: str, line: int, column: int) -> int:
    """The index in ``text`` of a 1-based line and column."""
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[: line - 1]) + column - 1


def _parse(text: str, start: int) -> Any:
    """json5 of the value that starts at ``start``, whatever follows it (``;``, more
    code). What comes before is blanked, newlines kept, so that json5's line and column
    are the file's."""
    source = re.sub(r"[^\n]", " ", text[:start]) + text[start:]
    try:
        return json5.loads(source)
    except ValueError as exc:
        where = _error_position(str(exc))
        if where is None or start == 0:
            raise
        end = _offset(source, *where)  # the value may have ended just before what failed
        try:
            return json5.loads(source[:end])
        except ValueError:
            raise exc from None


def read_old_config(path: Path) -> dict[str, Any]:
    """The old exporter's settings as a dict, from ``config.js`` or ``config.json``.

    A value json5 cannot read (``process.env.X``, ``'a' + 'b'``, a template string)
    raises :class:`ConfigError` with its line and column and the key's name, never the
    text of the line, which may hold a secret.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist; name the old exporter's config.js.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path} ({type(exc).__name__}).") from None
    javascript = path.suffix.lower() in {".js", ".cjs", ".mjs"}
    bare = not _EXPORT.search(text) and (not javascript or _BARE.match(text))
    try:
        data = _parse(text, 0 if bare else _literal_start(text, path))
    except (ValueError, RecursionError) as exc:
        where = _error_position(str(exc))
        if not where:
            raise ConfigError(
                f"{path} cannot be read as a JavaScript object; simplify it to plain "
                "`key: 'value'` lines and run again."
            ) from None
        line, column = where
        lines = text.splitlines()
        at = lines[line - 1] if 0 < line <= len(lines) else ""
        key = re.match(r"\s*['\"]?([A-Za-z_$][\w$-]*)['\"]?\s*:", at)
        what = f" (the value of `{key[1]}`)" if key else ""
        raise ConfigError(
            f"{path}, line {line}, column {column}{what}: pv2simkl reads plain values only, "
            "not code such as process.env.X, 'a' + 'b' or `template` strings. Simplify that "
            "line to a quoted value, or delete it and set the value later, then run again."
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} holds no settings object (a {type(data).__name__} instead).")
    return data


# ---------------------------------------------------------------- mapping


@dataclass(frozen=True)
class _Entry:
    old: str  # the old name, dotted (``rateLimit.tmdb``)
    section: str
    key: str
    value: Any

    @property
    def target(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def secret(self) -> bool:
        return self.key in SECRET_KEYS


@dataclass
class _Found:
    entries: list[_Entry] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)

    def add(self, entry: _Entry) -> None:
        for other in self.entries:
            if other.target == entry.target:
                if other.value != entry.value:
                    self.ignored.append((entry.old, f"{other.old} already gives {entry.target}"))
                return
        self.entries.append(entry)


def _leaves(data: Mapping[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple, Any]]:
    for key, value in data.items():
        here = (*path, str(key))
        if isinstance(value, Mapping) and _norm(key) not in _RATE_CONTAINERS:
            yield from _leaves(value, here)
        else:
            yield here, value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0 < number < float("inf") else None


def _first(named: Mapping[str, Any], *names: str) -> Any:
    return next((named[n] for n in names if n in named), None)


def _rate(value: Any) -> tuple[int, float] | None:
    """``{calls, perSeconds}`` (or ``per_seconds``, ``seconds``, ``period``) or ``"30/10"``."""
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*/\s*[\d.]+\s*", value):
        calls_text, seconds_text = value.split("/")
        calls, seconds = _number(calls_text), _number(seconds_text)
    elif isinstance(value, Mapping):
        named = {_norm(k): v for k, v in value.items()}
        calls = _number(_first(named, "calls", "requests", "max"))
        seconds = _number(_first(named, "perseconds", "persecond", "seconds", "period", "per"))
    else:
        return None
    if calls is None or seconds is None or calls != int(calls):
        return None
    return int(calls), seconds


def _rates(old: str, value: Any, found: _Found) -> None:
    if not isinstance(value, Mapping):
        found.ignored.append((old, "not a table of providers"))
        return
    for name, rate in value.items():
        where = f"{old}.{name}"
        provider = _PROVIDER_NAMES.get(_norm(name))
        parsed = _rate(rate)
        if provider is None:
            found.ignored.append((where, "no such provider in pv2simkl"))
        elif parsed is None:
            found.ignored.append((where, "not a rate of whole calls per seconds"))
        elif parsed == _OLD_DEFAULT_LIMITS.get(_norm(name)):
            found.ignored.append((where, "the old exporter's default; pv2simkl's own applies"))
        else:
            calls, seconds = parsed
            text = f"{calls}/{int(seconds) if seconds == int(seconds) else seconds}"
            found.add(_Entry(where, provider, "limits", text))


def _order(old: str, value: Any, found: _Found) -> None:
    items = value if isinstance(value, list) else str(value).split(",")
    names = [str(i).strip() for i in items if str(i).strip()]
    if [n.lower() for n in names] == _OLD_DEFAULT_ORDER:
        found.ignored.append((old, "the old exporter's default; pv2simkl's own order applies"))
        return
    order: list[str] = []
    for name in names:
        provider = _PROVIDER_NAMES.get(_norm(name))
        if provider is None:
            found.ignored.append((f"{old}: {name}", "no such provider in pv2simkl"))
        elif provider not in order:
            order.append(provider)
    if order:
        found.add(_Entry(old, "metadata", "order", order))
        left = [n for n in provider_names() if n not in order]
        if left:
            why = "those providers stay off; add them to [metadata] order to use them"
            found.ignored.append((f"{old} (without {', '.join(left)})", why))


def _export_dir(old: str, name: str, value: Any, base: Path, found: _Found) -> None:
    text = str(value).strip()
    if not isinstance(value, str) or not text:
        found.ignored.append((old, "not a path"))
        return
    if name in _FILE_PATHS and text in _OLD_DEFAULT_OUTPUTS:
        found.ignored.append((old, "the old exporter's default; pv2simkl's exports folder applies"))
        return
    path = Path(text).expanduser()
    path = (path if path.is_absolute() else base / path).resolve()
    if name in _FILE_PATHS and not text.endswith(("/", os.sep)) and not path.is_dir():
        path = path.parent
    found.add(_Entry(old, "paths", "export_dir", str(path)))


def _collect(data: Mapping[str, Any], base: Path) -> tuple[list[_Entry], list[tuple[str, str]]]:
    """Map the old settings onto pv2simkl's: (entries, ignored as (old name, why)).

    ``base`` is the old file's folder, for relative paths.
    """
    found = _Found()
    for path, value in _leaves(data):
        old = ".".join(path)
        name = "".join(_CONTAINERS.get(_norm(p), _norm(p)) for p in path)
        if _norm(path[-1]) in _RATE_CONTAINERS:
            _rates(old, value, found)
        elif name in _CLIENT_SECRETS:
            found.ignored.append((old, "client secrets are not used by pv2simkl; dropped"))
        elif name in _IGNORED:
            found.ignored.append((old, _IGNORED[name]))
        elif name not in _TARGETS:
            found.ignored.append((old, "no pv2simkl setting of that name"))
        elif value is None or value == "" or value == []:
            found.ignored.append((old, "empty"))
        elif _TARGETS[name] == ("metadata", "order"):
            _order(old, value, found)
        elif _TARGETS[name] == ("paths", "export_dir"):
            _export_dir(old, name, value, base, found)
        else:
            section, key = _TARGETS[name]
            if isinstance(value, bool) or not isinstance(value, str | int):
                found.ignored.append((old, "not text"))
                continue
            text = str(value).strip()
            if _PLACEHOLDER.match(text):
                found.ignored.append((old, "a placeholder from the template, not a real value"))
                continue
            if (section, key) == ("tmdb", "api_key") and text.startswith("eyJ"):
                key = "token"  # a v4 read access token (a JWT), not a v3 key
            found.add(_Entry(old, section, key, text))
    return found.entries, found.ignored


# ---------------------------------------------------------------- config.toml


@dataclass
class MigrationReport:
    """What ``migrate`` did, by name only: never a value.

    ``settings``, ``unchanged`` and ``secrets`` pair an old name with the new one
    (``("outputPath", "paths.export_dir")``); ``ignored`` pairs an old name with why.
    ``moved_out`` names secrets that were in ``config.toml`` and now live only in the
    keyring. ``written`` says whether ``config.toml`` was (re)written.
    """

    source: Path
    config_path: Path
    settings: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    secrets: list[tuple[str, str]] = field(default_factory=list)
    moved_out: list[str] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    written: bool = False

    def lines(self) -> list[str]:
        """The report as sentences for the terminal."""
        out = [f"Read {self.source}."]
        if self.written:
            out.append(f"Wrote {self.config_path}:")
            out += [f"  [{_section(new)}] {_key(new)} (from {old})" for old, new in self.settings]
        elif self.config_path.exists():
            out.append(f"Nothing to change in {self.config_path}.")
        else:
            out.append(f"No settings to write; {self.config_path} was not created.")
        out += [
            f"  already set: [{_section(new)}] {_key(new)} (from {old})"
            for old, new in self.unchanged
        ]
        if self.secrets:
            out.append("Stored in the system keyring:")
            out += [f"  {new} (from {old})" for old, new in self.secrets]
        if self.moved_out:
            out.append(
                f"Removed from {self.config_path.name} (kept in the keyring only): "
                + ", ".join(self.moved_out)
            )
        if self.ignored:
            out.append("Not migrated:")
            out += [f"  {old}: {why}" for old, why in self.ignored]
        out.append("Check the result with `pv2simkl doctor` and `pv2simkl credentials show`.")
        return out


def _section(target: str) -> str:
    return target.split(".", 1)[0]


def _key(target: str) -> str:
    return target.split(".", 1)[1]


def _load_document(path: Path) -> tomlkit.TOMLDocument | None:
    if not path.exists():
        return None
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (TOMLKitError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or remove it first.") from None


def _current(doc: tomlkit.TOMLDocument, section: str, key: str) -> Any:
    table = doc.get(section)
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{section}] in config.toml is not a table; fix that first.")
    value = table.get(key)
    return value.unwrap() if hasattr(value, "unwrap") else value


def _default(entry: _Entry, current: Any) -> bool:
    """Whether ``current`` is the setting's default (as `config init` writes it): not a
    choice of the user's, so migrating over it is no conflict."""
    cls = SECTIONS.get(entry.section)
    names = {f.name for f in dataclasses.fields(cls)} if cls else set()
    return entry.key in names and getattr(cls(), entry.key) == current


def migrate(
    old_path: Path,
    config_path: Path,
    *,
    force: bool = False,
    store_secret: StoreSecret = credentials.store,
) -> MigrationReport:
    """Turn the old exporter's ``config.js``/``config.json`` into ``config.toml`` + keyring.

    Nothing changes when the old file cannot be read, when ``config.toml`` already sets a
    key differently (unless ``force``; a key at its default counts as unset), or when the
    result would not load. Secrets are handed to ``store_secret(section, {key: value})``
    once per section, before the file is replaced; a secret that ``config.toml`` itself
    holds is removed from it (the file would otherwise win over the keyring). The file is
    written atomically with mode 0600.
    """
    old_path, config_path = Path(old_path), Path(config_path)
    entries, ignored = _collect(read_old_config(old_path), old_path.resolve().parent)
    report = MigrationReport(old_path, config_path, ignored=ignored)
    existing = _load_document(config_path)
    doc = existing if existing is not None else tomlkit.document()
    conflicts, sets, removes = [], [], []
    for entry in entries:
        current = _current(doc, entry.section, entry.key)
        if entry.secret:
            report.secrets.append((entry.old, entry.target))
            if current in (None, ""):
                continue
            if current != entry.value and not force:
                conflicts.append(f"{entry.target} (a secret in the file)")
            else:
                removes.append(entry)
        elif current is None or (current != entry.value and (force or _default(entry, current))):
            sets.append(entry)
            report.settings.append((entry.old, entry.target))
        elif current == entry.value:
            report.unchanged.append((entry.old, entry.target))
        else:
            conflicts.append(entry.target)
    if conflicts:
        raise ConfigError(
            f"{config_path} already sets {', '.join(conflicts)} differently; nothing was "
            f"changed. Edit those keys yourself, or run `pv2simkl config migrate {old_path} "
            "--force` to replace them."
        )
    if existing is None and sets:
        doc.add(tomlkit.comment(f"pv2simkl settings, migrated from {old_path.name}."))
        doc.add(tomlkit.comment("Secrets are in the system keyring: `pv2simkl credentials show`."))
        doc.add(tomlkit.nl())
    for entry in sets:
        if entry.section not in doc:
            doc.add(entry.section, tomlkit.table())
        doc[entry.section][entry.key] = entry.value  # type: ignore[index]
    for entry in removes:
        del doc[entry.section][entry.key]  # type: ignore[union-attr]
        report.moved_out.append(entry.target)
    tmp = None
    if sets or removes:
        tmp = stage_private(config_path, tomlkit.dumps(doc))
        check_staged(tmp, config_path)
    try:
        by_section: dict[str, dict[str, str]] = {}
        for entry in entries:
            if entry.secret:
                by_section.setdefault(entry.section, {})[entry.key] = entry.value
        for section, values in by_section.items():
            store_secret(section, values)
    except BaseException:
        if tmp:
            tmp.unlink(missing_ok=True)
        raise
    if tmp:
        os.replace(tmp, config_path)
        report.written = True
    return report
