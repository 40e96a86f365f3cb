"""The formats pv2simkl reads, and how a file's format is told: from its content, never
from its name.

:data:`FORMATS` is the registry. Each entry is one module with ``NAME`` (as messages and
the store say it), ``sniff(head: bytes) -> bool`` (does this start like one of mine?) and
``parse(data: bytes, *, name: str, locale: str | None) -> Flattened``. The first module
whose ``sniff`` answers yes reads the file. Adding a format is one module in this package,
one line here and its test under ``tests/formats/``.
"""

from __future__ import annotations

import logging
from types import ModuleType

from pv2simkl.errors import ParseError, UnknownFormatError
from pv2simkl.formats import console_csv, console_json, data_export, history_json, page
from pv2simkl.formats.events import Flattened

log = logging.getLogger(__name__)

FORMATS: tuple[ModuleType, ...] = (page, history_json, console_csv, console_json, data_export)
SNIFF_BYTES = 64 * 1024

# Files a browser's "Save page as… complete" or an export folder puts beside the history.
ASSET_SUFFIXES = {
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


def format_of(head: bytes) -> ModuleType | None:
    """The registered format whose ``sniff`` knows ``head``; None when none does."""
    for module in FORMATS:
        if module.sniff(head):
            return module
    return None


def unknown(name: str, data: bytes) -> UnknownFormatError:
    """The one sentence for a file no format knows, saying what it looks like instead."""
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


def source_of(flat: Flattened, fallback: str) -> str:
    """The sources of a file's events as stored (``"page"``, ``"api,page"``); ``fallback``
    when it holds none."""
    sources = sorted({e.source for e in flat.events})
    return ",".join(sources) if sources else fallback
