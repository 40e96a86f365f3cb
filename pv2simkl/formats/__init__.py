"""Formats: pure readers, bytes in, :class:`~pv2simkl.formats.events.WatchEvent` s out.

One module per format (:mod:`page`, :mod:`history_json`, :mod:`console_csv`,
:mod:`console_json`, :mod:`data_export`), listed in :data:`registry.FORMATS`; the format is
told from the content, never from the file name. :mod:`events` is where every format's rows
become events (the checks a row must pass, :class:`Flattened`); :mod:`bounded_json` reads
JSON within a history's bounds; :mod:`archive` reads a ZIP as one unit; :mod:`export_titles`
holds the data export's title readings. Nothing here touches the disk, the network or the
store: files and folders are :mod:`pv2simkl.sources.files`' business.

Input may be hostile, and whatever it holds ends in a :class:`ParseError` of that file
(exit 4 or 5), never in another exception: JSON numbers and nesting, titles and ids are
bounded by the format modules, a ZIP by :mod:`archive`.
"""

from __future__ import annotations

import hashlib

from pv2simkl.formats import data_export
from pv2simkl.formats.archive import ZIP_MAX_TOTAL, parse_zip
from pv2simkl.formats.events import Flattened, Parsed
from pv2simkl.formats.registry import (
    FORMATS,
    SNIFF_BYTES,
    UnexpectedInputError,
    format_of,
    parse_with,
    source_of,
    unknown,
)

__all__ = [
    "FORMATS", "SNIFF_BYTES", "ZIP_MAX_TOTAL", "Flattened", "Parsed", "UnexpectedInputError",
    "parse_bytes", "parse_data", "parse_with", "parse_zip",
]  # fmt: skip


def parse_bytes(data: bytes, name: str, locale: str | None = None) -> tuple[str, Flattened]:
    """Parse one file's bytes; returns (format name, events)."""
    module = format_of(data[:SNIFF_BYTES])
    if module is None:
        raise unknown(name, data)
    flat = parse_with(module, data, name, locale)
    return module.NAME, flat


def parse_data(data: bytes, name: str, locale: str | None = None) -> Parsed:
    """Parse one file's bytes (a ZIP included)."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return parse_zip(data, name, locale)
    fmt, flat = parse_bytes(data, name, locale)
    flat.watchlist = data_export.current_watchlist(flat.watchlist)
    return Parsed(name, hashlib.sha256(data).hexdigest(), source_of(flat, fmt), flat)
