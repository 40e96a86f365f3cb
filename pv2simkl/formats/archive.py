"""ZIP archives (Amazon's "Request your data" export, or any ZIP of history files):
every history file inside, read as one import unit.

The archive may be hostile: it is read member by member with caps on what it may expand to
(a bomb is refused from its header, or after a few MB when its header lies), and whatever it
holds ends in a :class:`ParseError` of that file, never in another exception.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from pv2simkl.errors import ParseError, UnknownFormatError
from pv2simkl.formats import data_export
from pv2simkl.formats.events import Flattened, Parsed
from pv2simkl.formats.registry import ASSET_SUFFIXES, SNIFF_BYTES, format_of, parse_with, source_of
from pv2simkl.words import display_name

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
            if info.file_size == 0 or Path(info.filename).suffix.lower() in ASSET_SUFFIXES:
                continue
            member = _read_member(archive, info, raw, budget, name)
            module = format_of(member[:SNIFF_BYTES])
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
    return Parsed(name, hashlib.sha256(data).hexdigest(), source_of(out, "zip"), out)
