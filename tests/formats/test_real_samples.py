"""Every file in ../shared/real-samples is read (or, for Simkl's own sample, refused) as its
README says; the detailed golden tests live beside each format's tests."""

from __future__ import annotations

import pytest

from fixtures.real_samples import REAL_SAMPLES
from pv2simkl.errors import UnknownFormatError
from pv2simkl.sources.files import parse_file

REAL = REAL_SAMPLES
# file → (watches a correct reading holds, the format's source tag)
EXPECTED = {
    "export-a-it-real.csv": (822, "export-a"),
    "export-a-it-real.zip": (822, "export-a"),
    "console-v3.csv": (2, "csv"),
    "console-v3.json": (2, "csv"),
    "console-v3-epoch-ms.csv": (2, "csv"),
    "console-v2-en.csv": (6, "csv"),
    "console-v1-en.csv": (6, "csv"),
    "console-v2-de.csv": (2, "csv"),
    "console-v0.csv": (4, "csv"),
    "history-json-fr-2022.json": (8, "api"),
    "saved-page-es.html": (8, "page"),
}
NOT_INPUT = {"simkl-import-example.csv", "README.md"}


def test_every_real_sample_is_covered() -> None:
    on_disk = {p.name for p in REAL.iterdir() if p.is_file()}
    assert on_disk == set(EXPECTED) | NOT_INPUT


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_sample_reads_whole(name: str) -> None:
    count, source = EXPECTED[name]
    parsed = parse_file(REAL / name)
    assert len(parsed.flat.events) == count
    assert {e.source for e in parsed.flat.events} == {source}
    assert not parsed.flat.errors and not parsed.flat.unreadable


def test_simkls_own_sample_is_not_a_history_file() -> None:
    with pytest.raises(UnknownFormatError, match="not a Prime Video history file"):
        parse_file(REAL / "simkl-import-example.csv")
