"""Importers: one module per source, each turning bytes into :class:`WatchEvent`.

Formats are told from the content, never from the file name. A path may be a file, a
folder (every file in it, each its own import) or a ZIP (all its history files, one
import). Adding a source means adding one module with ``sniff`` and ``parse`` and
listing it in :data:`FORMATS`.

Input may be hostile, and whatever it holds ends in a :class:`ParseError` of that file
(exit 4 or 5), never in another exception: a ZIP is read member by member with caps on
what it may expand to (a bomb is refused before it fills the memory), JSON numbers and
nesting, titles and ids are bounded by the format modules, and file names that are not
UTF-8 or hold line breaks are shown escaped (:func:`display_name`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import lzma
import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from pv2simkl.errors import ParseError, UnknownFormatError
from pv2simkl.formats import console_csv, console_json, data_export, history_json, page
from pv2simkl.formats.history_json import Flattened

log = logging.getLogger(__name__)

FORMATS: tuple[ModuleType, ...] = (page, history_json, console_csv, console_json, data_export)
SNIFF_BYTES = 64 * 1024

# What a ZIP may expand to. Amazon's exports hold a few files of a few MB, compressed about
# 10:1; a ZIP bomb (4 MB that expand to 4 GB) is refused from its header, or after at most
# a few MB when its header lies.
ZIP_MAX_TOTAL = 512 * 1024 * 1024  # bytes read out of one ZIP, all members together
ZIP_MAX_RATIO = 200  # uncompressed : compressed, for a member over ZIP_RATIO_FROM
ZIP_RATIO_FROM = 1024 * 1024
ZIP_MAX_MEMBERS = 10_000
ZIP_CHUNK = 64 * 1024  # read size: the ratio is checked after each chunk
ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}  # what Amazon and every zip tool use
# Other methods by name, for the message (bzip2 and LZMA are read by Python but not bounded
# per chunk: a bomb of those would expand in one call).
_METHOD_NAMES = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "XZ", 98: "PPMd"}

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


class UnexpectedInputError(ParseError):
    """A file that made an importer fail in a way it does not foresee (a bug it met).

    Still a ParseError of that one file, so a folder import and the daemon go on and the
    CLI exits 4; the property tests and ``bench/fuzz.py`` count these as failures.
    """


def parse_with(module: ModuleType, data: bytes, name: str, locale: str | None = None) -> Flattened:
    """``module.parse``, with anything but a ParseError turned into one of this file."""
    try:
        return module.parse(data, name=name, locale=locale)
    except ParseError:
        raise
    except Exception as exc:  # the last net; the cause is in the debug log
        log.debug("reading %s as %s failed", name, module.NAME, exc_info=True)
        raise UnexpectedInputError(
            f"cannot be read as a {module.NAME} ({type(exc).__name__}: "
            f"{str(exc)[:120]}); check the file, or run with --debug and report it",
            path=name,
        ) from None


def parse_bytes(data: bytes, name: str, locale: str | None = None) -> tuple[str, Flattened]:
    """Parse one file's bytes; returns (format name, events)."""
    module = _format_of(data[:SNIFF_BYTES])
    if module is None:
        raise _unknown(name, data)
    flat = parse_with(module, data, name, locale)
    return module.NAME, flat


def _source_of(flat: Flattened, fallback: str) -> str:
    sources = sorted({e.source for e in flat.events})
    return ",".join(sources) if sources else fallback


class _CountingReader(io.BytesIO):
    """The ZIP's bytes, counting how many the archive has read (compressed bytes consumed:
    the ratio is judged by them, not by what a header claims)."""

    consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.consumed += len(data)
        return data


@dataclass
class _Budget:
    """What is left of :data:`ZIP_MAX_TOTAL` for the members still to read."""

    left: int = ZIP_MAX_TOTAL


def _zip_refused(name: str, what: str) -> ParseError:
    return ParseError(f"is a ZIP archive {what}; unzip it and import the files", path=name)


def _member_name(info: zipfile.ZipInfo) -> str:
    return display_name(info.filename)


def _check_member(info: zipfile.ZipInfo, budget: _Budget, name: str) -> None:
    """Refuse a member from its header: encrypted, an unusual compression, or sizes that
    say it is a bomb."""
    member = _member_name(info)
    if info.flag_bits & 0x1:
        raise _zip_refused(name, f"whose member {member} is encrypted")
    if info.compress_type not in ZIP_METHODS:
        method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        raise _zip_refused(
            name, f"whose member {member} is compressed with {method} (exports use deflate)"
        )
    if info.file_size > budget.left:
        raise _zip_refused(name, f"that expands to more than {ZIP_MAX_TOTAL >> 20} MB")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > ZIP_RATIO_FROM and ratio > ZIP_MAX_RATIO:
        raise _zip_refused(name, f"whose member {member} expands {ratio:,.0f} times (a ZIP bomb)")


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, raw: _CountingReader, budget: _Budget,
    name: str,
) -> bytes:  # fmt: skip
    """A member's bytes, streamed: refused as soon as they pass the budget or expand more
    than :data:`ZIP_MAX_RATIO` times the compressed bytes read so far, whatever its header
    says."""
    _check_member(info, budget, name)
    chunks: list[bytes] = []
    total = 0
    with archive.open(info) as member:
        start = raw.consumed
        while chunk := member.read(ZIP_CHUNK):
            total += len(chunk)
            if total > budget.left:
                raise _zip_refused(name, f"that expands to more than {ZIP_MAX_TOTAL >> 20} MB")
            consumed = max(raw.consumed - start, 1)
            if total > ZIP_RATIO_FROM and total > ZIP_MAX_RATIO * consumed:
                raise _zip_refused(
                    name,
                    f"whose member {_member_name(info)} expands over {ZIP_MAX_RATIO} times "
                    "(a ZIP bomb)",
                )
            chunks.append(chunk)
    budget.left -= total
    return b"".join(chunks)


# Everything zipfile and its decompressors (bz2: OSError) raise for a broken archive.
_ZIP_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError,
    zlib.error, lzma.LZMAError, OSError, ValueError, OverflowError, KeyError,
)  # fmt: skip


def parse_zip(data: bytes, name: str, locale: str | None = None) -> Parsed:
    """Every history file inside a ZIP, as one unit. Unknown members are ignored.

    Members are read streamed and bounded (:data:`ZIP_MAX_TOTAL`, :data:`ZIP_MAX_RATIO`);
    an encrypted member or one compressed other than stored or deflate refuses the ZIP.
    """
    raw = _CountingReader(data)
    budget = _Budget()
    out = Flattened()
    found = 0
    try:
        archive = zipfile.ZipFile(raw)
        members = sorted(
            (i for i in archive.infolist() if not i.is_dir()), key=lambda i: i.filename
        )
        if len(members) > ZIP_MAX_MEMBERS:
            raise _zip_refused(name, f"of {len(members):,} files (an export has a few)")
        for info in members:
            member_name = f"{name}!{_member_name(info)}"
            if info.file_size == 0 or Path(info.filename).suffix.lower() in _ASSET_SUFFIXES:
                continue
            member = _read_member(archive, info, raw, budget, name)
            module = _format_of(member[:SNIFF_BYTES])
            if module is None:
                continue
            found += 1
            out.merge(parse_with(module, member, member_name, locale))
            del member
    except ParseError:
        raise
    except _ZIP_ERRORS as exc:
        raise ParseError(
            f"is a broken ZIP archive ({str(exc)[:160]}); download the export again", path=name
        ) from None
    if not found:
        raise UnknownFormatError(
            "is a ZIP without any Prime Video history file (no viewing-history CSV, "
            "saved page or history JSON inside)",
            path=name,
        )
    out.watchlist = data_export.current_watchlist(out.watchlist)
    return Parsed(name, hashlib.sha256(data).hexdigest(), _source_of(out, "zip"), out)


def display_name(path: Path | str | bytes) -> str:
    """A file name as it may be printed, logged and stored: bytes that are not UTF-8 as
    ``\\xff`` escapes, line breaks and other control characters as ``\\n``-style escapes.

    File names are bytes on POSIX; Python hands the undecodable ones over as lone
    surrogates, which no terminal, log file or SQLite text can take.
    """
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def read_file(path: Path) -> tuple[bytes, str]:
    """A file's bytes and their SHA-256 (the identity of an imported file)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot be read ({exc.strerror})", path=display_name(path)) from None
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
    return parse_data(read_file(path)[0], display_name(path), locale)


@dataclass
class Target:
    """One import unit found under the paths a user gave."""

    path: Path
    in_folder: bool

    @property
    def name(self) -> str:
        """The path as it is printed and stored (see :func:`display_name`)."""
        return display_name(self.path)


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
