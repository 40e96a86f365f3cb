"""JSON text read within what a history can hold, and the one sentence when it cannot be.

Every JSON format (the history reply, a page's inline JSON, the console exporter's JSON) and
the Amazon session read JSON through :func:`read_json`: a number too long or nesting too deep
is a :class:`BadJSON`, never a bare ``ValueError`` or ``RecursionError``.
"""

from __future__ import annotations

import json
from typing import Any

from pv2simkl.errors import ParseError

# No number in a history (epoch ms, an index, a count) is longer; Python refuses to read
# ints over 4,300 digits with a ValueError, and a long one costs quadratic time before that.
MAX_NUMBER_CHARS = 40


class BadJSON(Exception):
    """Why a JSON text cannot be read; ``str()`` completes "the file is …".

    ``truncated`` says the text stops or breaks like a file cut short.
    """

    def __init__(self, what: str, *, truncated: bool = False) -> None:
        super().__init__(what)
        self.truncated = truncated


class _LongNumber(Exception):
    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _LongNumber(len(text))
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _LongNumber(len(text))
    return float(text)


def read_json(text: str) -> Any:
    """A JSON document whose numbers and nesting stay within what a history can hold.

    Raises :class:`BadJSON` for broken JSON, a number longer than
    :data:`MAX_NUMBER_CHARS` characters, or nesting deeper than Python's recursion limit
    (about 1,000 levels): never a bare ``ValueError`` or ``RecursionError``.
    """
    try:
        return json.loads(text, parse_int=_int, parse_float=_float)
    except _LongNumber as exc:
        raise BadJSON(
            f"JSON holding a number {exc.digits:,} characters long, which no history has"
        ) from None
    except json.JSONDecodeError as exc:
        raise BadJSON(
            f"broken JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", truncated=True
        ) from None
    except RecursionError:
        raise BadJSON("JSON nested deeper than any history (over about 1,000 levels)") from None


def json_error(exc: BadJSON, *, path: str, again: str) -> ParseError:
    """The one sentence for a JSON file that cannot be read; ``again`` says what to do
    (``"save the reply again"``)."""
    if exc.truncated:
        return ParseError(f"is {exc}; the file may be truncated: {again}", path=path)
    return ParseError(f"is {exc}; {again}", path=path)
