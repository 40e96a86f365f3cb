"""Importers: one module per source, each turning bytes into :class:`WatchEvent`.

Formats are told from the content, never from the file name. A path may be a file, a
folder (every file in it, each its own import) or a ZIP (all its history files, one
import). Adding a source means adding one module with ``sniff`` and ``parse`` and
listing it in :data:`FORMATS`.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from pv2simkl.errors import ParseError, UnknownFormatError
from pv2simkl.importers import console_csv, console_json, data_export, history_json, page
from pv2simkl.importers.history_json import Flattened

FORMATS: tuple[ModuleType, ...] = (page, history_json, console_csv, console_json, data_export)
SNIFF_BYTES = 64 * 1024

# Files a browser's "Save page as… complete" or an export folder puts beside the history.
_ASSET_SUFFIXES = {
    ".js",
    ".css",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".svg",
    ".webp",
    ".woff",
    ".woff2",
    ".ico",
    ".ttf",
    ".map",
    ".txt",
    ".pdf",
}


@dataclass
class Parsed:
    """The events of one import unit (a file, or a whole ZIP)."""

    name: str
    sha256: str
    source: str | None
    flat: Flattened = field(default_factory=Flattened)


def _format_of(head: bytes) -> ModuleType | None:
    for module in FORMATS:
        if module.sniff(head):
            return module
    return None


def _unknown(name: str, data: bytes) -> UnknownFormatError:
    if not data.strip():
        return UnknownFormatError(
            "is empty; give a saved page, an API reply or an export", path=name
        )
    head = data[:SNIFF_BYTES].lower()
    if b"<html" in head or b"<!doctype" in head:
        hint = "is an HTML page but not a Prime Video watch-history page"
    elif head.lstrip().startswith((b"{", b"[")) and _is_text(data[:SNIFF_BYTES]):
        hint = "is JSON but not a Prime Video watch-history reply"
    else:
        hint = "is not a Prime Video history file"
    return UnknownFormatError(
        f"{hint} (expected a saved watch-history page, a history JSON reply, a data-export "
        "CSV or ZIP, or the console exporter's CSV or JSON)",
        path=name,
    )


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # only a character cut at the end of the sample
    return True


def parse_bytes(data: bytes, name: str, locale: str | None = None) -> tuple[str, Flattened]:
    """Parse one file's bytes; returns (format name, events)."""
    module = _format_of(data[:SNIFF_BYTES])
    if module is None:
        raise _unknown(name, data)
    flat = module.parse(data, name=name, locale=locale)
    return module.NAME, flat


def _source_of(flat: Flattened, fallback: str) -> str:
    sources = sorted({e.source for e in flat.events})
    return ",".join(sources) if sources else fallback


def parse_zip(data: bytes, name: str, locale: str | None = None) -> Parsed:
    """Every history file inside a ZIP, as one unit. Unknown members are ignored."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = sorted(
            (i for i in archive.infolist() if not i.is_dir()), key=lambda i: i.filename
        )
        out = Flattened()
        found = 0
        for info in members:
            member_name = f"{name}!{info.filename}"
            if info.file_size == 0 or Path(info.filename).suffix.lower() in _ASSET_SUFFIXES:
                continue
            member = archive.read(info)
            module = _format_of(member[:SNIFF_BYTES])
            if module is None:
                continue
            found += 1
            out.merge(module.parse(member, name=member_name, locale=locale))
    except (
        zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, zlib.error,
    ) as exc:  # fmt: skip
        raise ParseError(
            f"is a broken ZIP archive ({exc}); download the export again", path=name
        ) from None
    if not found:
        raise UnknownFormatError(
            "is a ZIP without any Prime Video history file (no viewing-history CSV, "
            "saved page or history JSON inside)",
            path=name,
        )
    out.watchlist = data_export.current_watchlist(out.watchlist)
    return Parsed(name, hashlib.sha256(data).hexdigest(), _source_of(out, "zip"), out)


def read_file(path: Path) -> tuple[bytes, str]:
    """A file's bytes and their SHA-256 (the identity of an imported file)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot be read ({exc.strerror})", path=str(path)) from None
    return data, hashlib.sha256(data).hexdigest()


def parse_data(data: bytes, name: str, locale: str | None = None) -> Parsed:
    """Parse one file's bytes (a ZIP included)."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return parse_zip(data, name, locale)
    fmt, flat = parse_bytes(data, name, locale)
    flat.watchlist = data_export.current_watchlist(flat.watchlist)
    return Parsed(name, hashlib.sha256(data).hexdigest(), _source_of(flat, fmt), flat)


def parse_file(path: Path, locale: str | None = None) -> Parsed:
    """Read and parse one file (a ZIP included)."""
    return parse_data(read_file(path)[0], str(path), locale)


@dataclass
class Target:
    """One import unit found under the paths a user gave."""

    path: Path
    in_folder: bool


def expand(paths: list[Path]) -> Iterator[Target]:
    """Files as given; folders walked (hidden files, page assets and ``*_files`` skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if not child.is_file() or any(p.startswith(".") for p in rel):
                    continue
                if any(p.endswith("_files") for p in rel[:-1]):
                    continue
                if child.suffix.lower() in _ASSET_SUFFIXES:
                    continue
                if data_export.companion(child.name):
                    continue
                yield Target(child, in_folder=True)
        else:
            yield Target(path, in_folder=False)
