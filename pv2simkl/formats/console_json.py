"""The JSON output of the browser-console exporter (v3 with ``outputJson``).

A JSON array of objects ``dateWatched`` (epoch ms; a formatted ``YYYY-MM-DD hh:mm:ss.sss``
UTC string is read too), ``type``, ``title``, ``episodeTitle``, ``id``, ``episodeId``,
``path``, ``episodePath``, ``imageUrl``: the same rows as the exporter's CSV under
machine-readable names, so each entry goes through the CSV's own row reader. Its events
carry the CSV's source (``csv``, the console exporter): the same tool, the same data,
and the store and exporter need no new kind of source.
"""

from __future__ import annotations

from typing import Any

from pv2simkl.errors import ParseError
from pv2simkl.formats import console_csv
from pv2simkl.formats.bounded_json import BadJSON, json_error, read_json
from pv2simkl.formats.console_csv import Row, row_event
from pv2simkl.formats.events import Flattened

NAME = "console exporter JSON"
SOURCE = console_csv.SOURCE


def sniff(head: bytes) -> bool:
    """A JSON array whose first entries carry the exporter's ``dateWatched`` and ``title``."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return stripped.startswith(b"[") and b'"dateWatched"' in head and b'"title"' in head


def parse(data: bytes, *, name: str, locale: str | None = None) -> Flattened:
    """Every entry of the exporter's JSON as a watch event."""
    out = Flattened()
    for index, entry in enumerate(_entries(data, name), start=1):
        where = f"entry {index}"
        if not isinstance(entry, dict):
            out.skip("entry", "entries that are not objects could not be read", where)
            continue
        event = row_event(_row(entry, where), name=name, locale=locale, out=out)
        if event:
            out.events.append(event)
    return out


def _entries(data: bytes, name: str) -> list[Any]:
    try:
        doc = read_json(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"is not UTF-8 text (bad byte at offset {exc.start}); export it again", path=name
        ) from None
    except BadJSON as exc:
        raise json_error(exc, path=name, again="export it again") from None
    if not isinstance(doc, list):
        raise ParseError(
            "is JSON but not the console exporter's list of watches; export it again", path=name
        )
    return doc


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _row(entry: dict[str, Any], where: str) -> Row:
    when = entry.get("dateWatched")
    return Row(
        when if isinstance(when, str | int | float) else "",
        _text(entry.get("type")),
        _text(entry.get("title")),
        _text(entry.get("episodeTitle")),
        _text(entry.get("id")),
        _text(entry.get("episodeId")),
        where,
    )
