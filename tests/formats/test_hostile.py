"""Hostile input is refused cleanly: a ParseError of that file (exit 4/5), never a crash.

ZIP bombs and archives of other methods, JSON nested or numbered past reason, exotic and
bogus ``meta charset``, dates no watch can have (refused per row), titles of megabytes,
and file names that are not UTF-8 or hold a line break. Real samples are the carriers
wherever one fits; no test times anything (memory is measured with tracemalloc).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from bench.fuzz import zip_bomb, zip_of, zip_raw
from fixtures.real_samples import REAL_SAMPLES
from pv2simkl import pipeline
from pv2simkl.config import load_settings
from pv2simkl.errors import ParseError, PartialReadError
from pv2simkl.formats import ZIP_MAX_TOTAL, UnexpectedInputError, events, page, parse_data
from pv2simkl.sources.files import expand, parse_file
from pv2simkl.words import display_name

ROOT = Path(__file__).resolve().parents[2]
REAL = REAL_SAMPLES
SAMPLES = ROOT / "fixtures" / "samples"
ES_PAGE = (REAL / "saved-page-es.html").read_bytes()
CONSOLE_V3 = (REAL / "console-v3.csv").read_bytes()
FR_REPLY = (REAL / "history-json-fr-2022.json").read_bytes()
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)  # the year after: 2027


def refused(data: bytes, name: str = "input") -> ParseError:
    """The ParseError ``data`` raises (and proof that it is not the last-resort net's)."""
    with pytest.raises(ParseError) as caught:
        parse_data(data, name)
    assert not isinstance(caught.value, UnexpectedInputError), caught.value
    return caught.value


def peak_bytes(action) -> int:
    """Peak Python memory while ``action`` runs."""
    tracemalloc.start()
    try:
        action()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def cli(*args: str | bytes, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pv2simkl", "--data-dir", str(data_dir), *args],
        cwd=ROOT, env={**os.environ, "PV2SIMKL_OFFLINE": "1"}, capture_output=True,
        text=True, errors="replace", timeout=120,
    )  # fmt: skip


# --- ZIP ----------------------------------------------------------------------------------


def test_zip_bomb_4mb_to_4gb_is_refused_from_its_header_in_little_memory() -> None:
    bomb = zip_bomb(4000)
    assert len(bomb) < 5 * 1024 * 1024
    holder: list[ParseError] = []

    def attempt() -> None:
        with pytest.raises(ParseError) as caught:
            parse_data(bomb, "bomb.zip")
        holder.append(caught.value)

    assert peak_bytes(attempt) < 20 * 1024 * 1024
    assert f"expands to more than {ZIP_MAX_TOTAL >> 20} MB" in str(holder[0])


@pytest.mark.parametrize(
    ("claimed", "message"),
    [(100 << 20, "expands over 200 times (a ZIP bomb)"), (2 << 20, "broken ZIP archive")],
)
def test_zip_bomb_whose_header_lies_is_stopped_by_the_bytes_read(
    claimed: int, message: str
) -> None:
    """A header that claims a modest size (600 KB of deflate said to hold 100 MB or 2 MB)
    passes the header check: the stream is cut off once it expands more than 200 times the
    compressed bytes read so far, or at the claimed size (then its checksum is wrong)."""
    bomb = zip_bomb(600, claimed=claimed)
    holder: list[ParseError] = []

    def attempt() -> None:
        with pytest.raises(ParseError) as caught:
            parse_data(bomb, "liar.zip")
        holder.append(caught.value)

    assert peak_bytes(attempt) < 40 * 1024 * 1024
    assert message in str(holder[0])


def test_zip_member_longer_than_its_header_says_is_a_broken_zip() -> None:
    data = (REAL / "export-a-it-real.csv").read_bytes()
    payload = zipfile_deflate(data)
    liar = zip_raw("Viewing History.csv", payload, len(data), claimed=100)
    assert "broken ZIP" in str(refused(liar, "liar.zip"))


def zipfile_deflate(data: bytes) -> bytes:
    import zlib

    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush()


@pytest.mark.parametrize(
    ("method", "named"), [(zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "LZMA")]
)
def test_zip_of_bzip2_or_lzma_members_is_refused_by_name(method: int, named: str) -> None:
    archive = zip_of(
        [("Viewing History.csv", (REAL / "export-a-it-real.csv").read_bytes())], method
    )
    error = refused(archive, "other.zip")
    assert f"compressed with {named}" in str(error) and "unzip it" in str(error)


def test_zip_of_an_unsupported_method_is_refused() -> None:
    archive = zip_raw("a.csv", CONSOLE_V3, len(CONSOLE_V3), method=9)  # Deflate64
    assert "compressed with Deflate64" in str(refused(archive, "d64.zip"))


def test_encrypted_zip_member_is_refused() -> None:
    plain = bytearray(zip_of([("Viewing History.csv", CONSOLE_V3)], zipfile.ZIP_STORED))
    plain[6] |= 1  # the encryption flag, in the local and the central header
    plain[plain.find(b"PK\x01\x02") + 8] |= 1
    assert "is encrypted" in str(refused(bytes(plain), "locked.zip"))


def test_zip_of_too_many_members_is_refused() -> None:
    archive = zip_of([(f"f{i}.csv", b"") for i in range(10_001)], zipfile.ZIP_STORED)
    assert "of 10,001 files" in str(refused(archive, "many.zip"))


def test_zip_member_name_that_is_not_utf8_is_a_broken_zip() -> None:
    # The UTF-8 flag set on a name that is not UTF-8: zipfile raises UnicodeDecodeError.
    archive = zip_raw("bad\udcff.csv", CONSOLE_V3[:0], 0, flags=0x800)
    assert "broken ZIP" in str(refused(archive, "names.zip"))


def test_real_zip_still_reads_whole() -> None:
    parsed = parse_file(REAL / "export-a-it-real.zip")
    assert len(parsed.flat.events) == 822 and not parsed.flat.unreadable


# --- JSON ---------------------------------------------------------------------------------


def _reply_with(value: str) -> bytes:
    """The real French reply with its first section's time replaced by ``value``."""
    doc = json.loads(FR_REPLY)
    text = json.dumps(doc)
    first = text.index('"time": ') + len('"time": ')
    end = first + len(text[first:].split(",", 1)[0].split("}", 1)[0])
    return (text[:first] + value + text[end:]).encode()


@pytest.mark.parametrize("digits", [41, 4_400, 5_000])
def test_json_number_of_thousands_of_digits_is_a_parse_error(digits: int) -> None:
    error = refused(_reply_with("9" * digits), "long.json")
    assert f"number {digits:,} characters long" in str(error)


def test_json_nested_ten_thousand_deep_is_a_parse_error() -> None:
    deep = "[" * 10_000 + "]" * 10_000
    assert "nested deeper than any history" in str(refused(_reply_with(deep), "deep.json"))


def test_console_json_nested_and_long_numbers_are_parse_errors() -> None:
    doc = (REAL / "console-v3.json").read_text(encoding="utf-8")
    nested = doc.replace("[", "[" + "[" * 5000 + "]" * 5000 + ",", 1)
    assert "nested deeper than any history" in str(refused(nested.encode(), "deep.json"))
    stamp = re.search(r'"dateWatched": ?(\d+)', doc)
    assert stamp is not None
    longer = doc.replace(stamp.group(1), "1" * 5000).encode()
    assert "5,000 characters long" in str(refused(longer, "long.json"))


def test_page_template_nested_too_deep_is_a_parse_error_not_a_crash() -> None:
    doc = ES_PAGE.decode()
    template = (
        '<script type="text/template">{"props":{"widgets":[{"widgetType":"watch-history",'
        '"content":' + "[" * 5000 + "]" * 5000 + "}]}}</script>"
    )
    data = doc.replace("</body>", template + "</body>").encode()
    assert "history template that is JSON nested deeper" in str(refused(data, "deep.html"))


def test_decoy_template_nested_too_deep_is_ignored() -> None:
    decoy = '<script type="text/template">' + "[" * 5000 + "]" * 5000 + "</script>"
    data = ES_PAGE.decode().replace("</body>", decoy + "</body>").encode()
    assert len(parse_data(data, "decoy.html").flat.events) == 8


# --- HTML ---------------------------------------------------------------------------------


def _with_charset(label: str) -> bytes:
    return ES_PAGE.replace(b'<meta charset="utf-8">', f'<meta charset="{label}">'.encode())


@pytest.mark.parametrize(
    "label",
    ["utf-7", "x-user-defined", "rot13", "base64", "hex", "zlib", "uu", "bz2", "quopri",
     "idna", "punycode", "undefined", "unicode_escape", "utf-32", "cp037", "utf-8x"],
)  # fmt: skip
def test_exotic_or_bogus_meta_charset_is_a_parse_error(label: str) -> None:
    error = refused(_with_charset(label), "odd.html")
    assert "declares the character set" in str(error) and "save the page again as UTF-8" in str(
        error
    )


def test_page_in_windows_1252_reads_as_its_utf8_original() -> None:
    text = _with_charset("windows-1252").decode("utf-8")
    original = {e.to_public()["title"] for e in parse_data(ES_PAGE, "es.html").flat.events}
    recoded = parse_data(text.encode("cp1252"), "es-1252.html").flat.events
    assert {e.to_public()["title"] for e in recoded} == original and len(recoded) == 8
    assert any("ó" in title for title in original)  # "Generación V": a byte cp1252 differs in


def test_page_declaring_utf16_is_read_as_utf8_as_browsers_do() -> None:
    assert len(parse_data(_with_charset("utf-16"), "u16.html").flat.events) == 8


def test_lxml_that_cannot_use_an_encoding_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="cannot be read as HTML"):
        list(page._parsed(ES_PAGE, "no-such-encoding", "x.html"))


def test_megabyte_title_in_a_page_is_a_skipped_item_not_a_crash() -> None:
    long = "A" * 2_000_000
    data = ES_PAGE.replace(b"Fallout - Temporada 1", long.encode())
    flat = parse_data(data, "long.html").flat
    assert set(flat.unreadable) == {"title"} and len(flat.events) >= 5
    assert "longer than 1,000 characters" in flat.unreadable["title"].reason


def test_megabyte_id_list_is_refused_per_item() -> None:
    doc = (SAMPLES / "en-US" / "saved-page-collapsed.html").read_text(encoding="utf-8")
    start = doc.rindex('name="titleIds" value="') + len('name="titleIds" value="')
    huge = "_".join(["amzn1.dv.gti.x"] * 100_000)
    flat = parse_data((doc[:start] + huge + doc[start:]).encode(), "ids.html").flat
    assert "id" in flat.unreadable


# --- dates --------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_console_rows_dated_0001_and_9999_are_skipped_with_a_reason() -> None:
    lines = CONSOLE_V3.decode().splitlines()
    odd = [
        lines[1].replace("2025-09-28", "0001-01-01"),
        lines[2].replace("2023-10-03", "9999-12-31"),
    ]
    flat = parse_data("\n".join([*lines, *odd]).encode() + b"\n", "odd.csv").flat
    assert len(flat.events) == 2
    problem = flat.unreadable["date"]
    assert problem.reason == "dates like '0001-01-01' are outside 1990–2027"
    assert problem.where == ["line 4", "line 5"]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("day", "kept"),
    [("1989-12-31", False), ("1990-01-01", True), ("2027-12-31", True), ("2028-01-01", False)],
)
def test_date_range_is_1990_to_the_year_after_today(day: str, kept: bool) -> None:
    csv = f"Date Watched,Type,Title,Episode\n{day},Movie,Some Film,\n".encode()
    flat = parse_data(csv, "range.csv").flat
    assert (len(flat.events), bool(flat.unreadable)) == (int(kept), not kept)


def test_the_year_bound_never_passes_2100() -> None:
    assert events.last_year(datetime(2150, 1, 1, tzinfo=UTC)) == 2100


@time_machine.travel(NOW, tick=False)
def test_history_reply_item_dated_9999_is_skipped_and_the_rest_kept() -> None:
    doc = json.loads(FR_REPLY)
    text = json.dumps(doc)
    times = [int(t) for t in re.findall(r'"time": (\d{13})', text)]
    odd = text.replace(str(times[-1]), "253402300799999", 1)
    flat = parse_data(odd.encode(), "reply.json").flat
    assert len(flat.events) == 7
    assert flat.unreadable["date"].reason.startswith("dates like '9999-12-31' are outside")
    huge = text.replace(str(times[-1]), "1e300", 1)
    flat = parse_data(huge.encode(), "huge.json").flat
    assert len(flat.events) == 7 and "times like" in flat.unreadable["date"].reason


@time_machine.travel(NOW, tick=False)
def test_page_section_dated_1985_skips_its_items_only() -> None:
    data = ES_PAGE.replace(b"23 de abril de 2024", b"23 de abril de 1985")
    flat = parse_data(data, "old.html").flat
    assert len(flat.events) == 5  # the three watches of 23 April are refused
    problem = flat.unreadable["date"]
    assert problem.reason == "dates like '1985-04-23' are outside 1990–2027"
    assert len(problem.where) == 2 and problem.where[0].startswith("date section 1, item")


@time_machine.travel(NOW, tick=False)
def test_export_rows_of_year_1_with_an_offset_are_skipped_not_a_crash() -> None:
    head = b"Playback Start Datetime (UTC),Title,Seconds Viewed\n"
    rows = b"0001-01-01T00:00:00+05:00,Film A,3600\n9999-12-31T23:00:00-05:00,Film B,3600\n"
    ok = b"2024-01-01T20:00:00Z,Film C,3600\n"
    flat = parse_data(head + rows + ok, "export.csv").flat
    assert [e.title for e in flat.events] == ["Film C"]
    assert flat.unreadable["time"].where == ["row 2", "row 3"]


@time_machine.travel(NOW, tick=False)
def test_real_layout_a_export_row_of_year_9999_is_skipped() -> None:
    text = (REAL / "export-a-it-real.csv").read_text(encoding="utf-8")
    first = text.splitlines()[1]
    day = first.split(",", 1)[0]
    odd = text.replace(first, first.replace(day, "12/31/9999 23:00:00"), 1)
    flat = parse_data(odd.encode(), "export-a.csv").flat
    assert flat.unreadable["date"].where == ["row 2"]
    assert 800 <= len(flat.events) <= 822


def test_date_refused_through_import_is_a_partial_read_exit_16(tmp_path: Path) -> None:
    lines = CONSOLE_V3.decode().splitlines()
    (tmp_path / "odd.csv").write_text("\n".join([*lines, lines[1].replace("2025", "0001")]))
    ctx = pipeline.Context.create(load_settings(env={"PV2SIMKL_DATA_DIR": str(tmp_path / "d")}))
    try:
        report = pipeline.import_paths(ctx, [tmp_path / "odd.csv"])
        assert report.added == 2
        [(_, problem)] = report.failures
        assert isinstance(problem, PartialReadError) and "outside 1990–" in str(problem)
    finally:
        ctx.close()


# --- fields -------------------------------------------------------------------------------


def test_console_title_too_long_to_be_real_is_a_skipped_row() -> None:
    rows = b"2024-01-01,Movie," + b"T" * 50_000 + b",\n2024-01-02,Movie,Short,\n"
    flat = parse_data(b"Date Watched,Type,Title,Episode\n" + rows, "big.csv").flat
    assert [e.title for e in flat.events] == ["Short"]
    assert flat.unreadable["title"].where == ["line 2"]


def test_console_line_of_a_megabyte_in_loose_mode_is_skipped() -> None:
    # Undoubled quotes force the line-by-line reader; a line of 300,000 quoted commas would
    # make it try every split point against the whole rest.
    body = b'2024-01-01,Series,"Show","' + b'","' * 300_000 + b'"\n'
    flat = parse_data(b"Date Watched,Type,Title,Episode\n" + body, "loose.csv").flat
    assert flat.events == [] and set(flat.unreadable) <= {"long", "row"}


def test_json_escaped_lone_surrogates_are_stored_as_replacement_characters() -> None:
    doc = (REAL / "console-v3.json").read_text(encoding="utf-8")
    odd = doc.replace("Everything Everywhere", "Everything \\ud800 Everywhere", 1)
    watched = parse_data(odd.encode(), "odd.json").flat.events
    assert any("\ufffd" in e.title for e in watched)
    assert all(e.title.encode("utf-8") for e in watched)


# --- file names ---------------------------------------------------------------------------


def test_display_name_escapes_bytes_and_line_breaks() -> None:
    assert display_name(Path(os.fsdecode(b"a\xff\xfe.csv"))) == "a\\xff\\xfe.csv"
    assert display_name("new\nline\t.csv") == "new\\nline\\t.csv"
    assert display_name("Película ✓.html") == "Película ✓.html"


@pytest.fixture
def odd_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    data = (REAL / "console-v2-en.csv").read_bytes()
    (folder / os.fsdecode(b"hist\xff\xfe.csv")).write_bytes(data)
    (folder / "line\nbreak.csv").write_bytes((REAL / "console-v3.csv").read_bytes())
    return folder


def test_folder_with_names_that_are_not_utf8_imports_every_file(
    odd_folder: Path, tmp_path: Path
) -> None:
    assert len(list(expand([odd_folder]))) == 2
    ctx = pipeline.Context.create(load_settings(env={"PV2SIMKL_DATA_DIR": str(tmp_path / "d")}))
    try:
        report = pipeline.import_paths(ctx, [odd_folder])
    finally:
        ctx.close()
    assert not report.failures
    names = sorted(Path(r.path).name for r in report.results)
    assert names == ["hist\\xff\\xfe.csv", "line\\nbreak.csv"]


def test_cli_folder_import_prints_odd_names_escaped(odd_folder: Path, tmp_path: Path) -> None:
    done = cli("import", str(odd_folder), data_dir=tmp_path / "d")
    assert done.returncode == 0, done.stderr
    assert "hist\\xff\\xfe.csv: 6 events read" in done.stdout
    assert "line\\nbreak.csv: 2 events read" in done.stdout


# --- the CLI's exit codes -----------------------------------------------------------------


def test_cli_exit_codes_for_hostile_files(tmp_path: Path) -> None:
    files = {
        "bomb.zip": zip_bomb(4000),
        "deep.json": _reply_with("[" * 10_000 + "]" * 10_000),
        "long.json": _reply_with("9" * 5_000),
        "rot13.html": _with_charset("rot13"),
        "lzma.zip": zip_of([("a.csv", CONSOLE_V3)], zipfile.ZIP_LZMA),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        done = cli("import", str(tmp_path / name), data_dir=tmp_path / "d")
        assert done.returncode == 4, (name, done.stderr)
        assert "unexpected" not in done.stderr and done.stderr.startswith(f"error: {tmp_path}")
    odd = CONSOLE_V3.decode().replace("2025-09-28", "9999-12-31").encode()
    (tmp_path / "odd.csv").write_bytes(odd)
    done = cli("import", str(tmp_path / "odd.csv"), data_dir=tmp_path / "d")
    assert done.returncode == 16 and "are outside 1990–" in done.stderr
