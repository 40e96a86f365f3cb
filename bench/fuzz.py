"""Fuzz: mutated inputs of every format, each imported by the real CLI (issue 9).

Seeds are the fixture samples and the real samples (``../shared/real-samples``): saved
pages, history JSON replies, console-exporter CSV and JSON, data-export CSVs and ZIPs. Each
input is one seed with one to three mutations: bit flips, byte writes, truncations,
splices with another seed, huge numbers, deep nesting, dates outside every calendar a
watch can have, odd encodings and ``meta charset`` labels, megabyte fields, ZIPs re-packed
with other methods, encrypted, bombs, thousands of members, names that are not UTF-8.

Every input goes through ``pv2simkl import`` — the CLI's own ``main``, its error mapping and
exit codes — in worker processes that each run many inputs (a subprocess per input would
take about 1 s each here); a sample, and every input that fails, is run again as a real
``python -m pv2simkl import`` subprocess to check that the exit codes agree. A crash is
exit code 1 (``error: unexpected …``) or an input that pv2simkl's last net had to catch
(``UnexpectedInputError``); a hang is an input that took over 30 s; memory is each
worker's peak RSS (VmHWM) and each checked subprocess's (its own VmHWM as it exits).

    python bench/fuzz.py [--per-format 400] [--seed 9] [--workers 2] [--check 120]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import resource
import select
import shutil
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from random import Random

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "fixtures" / "samples"
REAL = ROOT.parent / "shared" / "real-samples"
OUT = ROOT / "bench" / "out" / "fuzz"
HANG_SECONDS = 30.0
STORE_RUNS = 200
NET_MARK = "run with --debug and report it"  # the words of pv2simkl's UnexpectedInputError
FORMATS = ("page", "history-json", "console-csv", "console-json", "export-csv", "zip")


# --- seeds ------------------------------------------------------------------------------


def _format_of(path: Path) -> str | None:
    """The format a seed file stands for, by where the fixtures keep it."""
    name, text = path.name, str(path)
    if path.suffix == ".zip":
        return "zip"
    if path.suffix == ".html":
        return "page"
    if path.suffix == ".json" and ("/api" in text or name.startswith("history-json")):
        return None if name == "tokens.json" else "history-json"
    if path.suffix == ".json" and "console" in name:
        return "console-json"
    if path.suffix == ".csv" and "console" in name:
        return "console-csv"
    if path.suffix == ".csv" and ("export" in text or "Digital.PrimeVideo" in name):
        return "export-csv"
    return None


def seeds() -> dict[str, list[tuple[str, bytes]]]:
    """Every seed file by format: (name, bytes)."""
    found: dict[str, list[tuple[str, bytes]]] = {f: [] for f in FORMATS}
    for folder in (SAMPLES, REAL):
        for path in sorted(folder.rglob("*")):
            fmt = _format_of(path) if path.is_file() else None
            if fmt:
                found[fmt].append((str(path.relative_to(folder.parent)), path.read_bytes()))
    return found


# --- ZIPs built by hand (bombs and headers that lie) ------------------------------------


def deflate_zeros(mib: int) -> bytes:
    """A raw deflate stream of ``mib`` MiB of zeros, about 1 KB per MiB, built in a blink:
    after a full flush the compressor starts afresh, so every MiB after the first gives the
    same block."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(bytes(1 << 20)) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(bytes(1 << 20)) + comp.flush(zlib.Z_FULL_FLUSH)
    return head + block * (mib - 1) + b"\x03\x00"  # \x03\x00: an empty final block


def zip_raw(name: str, payload: bytes, size: int, *, crc: int = 0, method: int = 8,
            flags: int = 0, claimed: int | None = None) -> bytes:  # fmt: skip
    """A one-member ZIP around an already compressed ``payload`` whose header says
    ``claimed`` (default: the true ``size``) bytes uncompressed."""
    fn = name.encode("utf-8", "surrogateescape")
    stated = size if claimed is None else claimed
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, method, 0, 0, crc,
                        len(payload), stated, len(fn), 0) + fn  # fmt: skip
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, method, 0, 0,
                          crc, len(payload), stated, len(fn), 0, 0, 0, 0, 0, 0) + fn  # fmt: skip
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central),
                      len(local) + len(payload), 0)  # fmt: skip
    return local + payload + central + end


def zip_bomb(mib: int = 4000, *, claimed: int | None = None) -> bytes:
    """A 4 MB ZIP whose one CSV expands to ``mib`` MiB of zeros (4,000 MiB: about 4 GB);
    ``claimed`` makes its header lie about that size."""
    return zip_raw("Viewing History.csv", deflate_zeros(mib), mib << 20, claimed=claimed)


def zip_of(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_members(data: bytes) -> list[tuple[str, bytes]]:
    """A seed ZIP's members (only seeds, never fuzzed bytes, are opened here)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(i.filename, archive.read(i)) for i in archive.infolist() if not i.is_dir()]


# --- mutations: (rng, data, pool) -> (label, data) -----------------------------------

Pool = list[bytes]
Mutation = Callable[[random.Random, bytes, Pool], tuple[str, bytes]]
INTERESTING = b'\x00\xff"<>,;\n\r{}[]:\\&#\x80\xc3\xe2'


def bit_flips(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    out = bytearray(data or b"\x00")
    for _ in range(rng.randint(1, 32)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return "bitflip", bytes(out)


def byte_writes(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    out = bytearray(data or b"\x00")
    for _ in range(rng.randint(1, 16)):
        out[rng.randrange(len(out))] = rng.choice(INTERESTING)
    return "bytes", bytes(out)


def truncate(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    return "truncate", data[: rng.randrange(max(len(data), 1))]


def splice(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    other = rng.choice(pool)
    return "splice", data[: rng.randrange(len(data) + 1)] + other[rng.randrange(len(other) + 1) :]


def chunk(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    if len(data) < 2:
        return "chunk", data * 2
    a, b = sorted(rng.sample(range(len(data)), 2))
    if rng.random() < 0.5:
        return "chunk-dup", data[:b] + data[a:b] * rng.randint(1, 50) + data[b:]
    return "chunk-del", data[:a] + data[b:]


_DIGITS = re.compile(rb"\d{2,}")
_HUGE = [b"9" * 5000, b"1" + b"0" * 400 + b".5", b"1e999999", b"-" + b"7" * 4400, b"NaN",
         b"Infinity", b"-0", b"1" * 41, b"0." + b"0" * 40 + b"1"]  # fmt: skip


def huge_number(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    runs = list(_DIGITS.finditer(data))
    value = rng.choice(_HUGE)
    if not runs:
        return "number", data + value
    m = rng.choice(runs)
    return "number", data[: m.start()] + value + data[m.end() :]


def deep_nesting(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    depth = rng.choice([200, 999, 1500, 5000, 100_000])
    if data.lstrip(b"\xef\xbb\xbf \r\n\t")[:1] in (b"{", b"["):
        spots = [m.end() for m in re.finditer(rb":\s*", data)] or [len(data) // 2]
        at = rng.choice(spots)
        kind = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
        return "nesting", data[:at] + kind[0] * depth + b"1" + kind[1] * depth + b"," + data[at:]
    if b"<" in data[:4096]:
        at = data.find(b"<body")
        at = data.find(b">", at) + 1 if at >= 0 else len(data) // 2
        return "nesting", data[:at] + b"<div>" * depth + b"</div>" * depth + data[at:]
    return "nesting", b"[" * depth + data + b"]" * depth


_YEAR = re.compile(rb"\b(19|20)\d\d\b")
_EPOCH_MS = re.compile(rb"\b1[0-9]{12}\b")
_ODD_YEARS = [b"0001", b"1899", b"1989", b"2101", b"9999", b"2028", b"0000", b"10000"]
_ODD_MS = [b"253402300799999", b"-62135596800000", b"99999999999999999999", b"1e20", b"0", b"-1"]


def odd_dates(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    years = list(_YEAR.finditer(data))
    millis = list(_EPOCH_MS.finditer(data))
    out = data
    for m in rng.sample(millis, min(len(millis), rng.randint(1, 3))):
        out = out.replace(m.group(), rng.choice(_ODD_MS), 1)
    for m in rng.sample(years, min(len(years), rng.randint(1, 4))):
        out = out.replace(m.group(), rng.choice(_ODD_YEARS), 1)
    return "dates", out


_CHARSETS = [b"utf-7", b"x-user-defined", b"rot13", b"base64", b"hex", b"zlib", b"uu", b"bz2",
             b"idna", b"punycode", b"undefined", b"unicode_escape", b"utf-16", b"utf-32",
             b"cp037", b"windows-1252", b"shift_jis", b"utf-8x", b"a" * 300]  # fmt: skip
_RECODE = ["utf-16", "utf-16-be", "utf-32", "latin-1", "cp037", "utf-7", "shift_jis", "cp1252"]


def odd_encoding(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    choice = rng.random()
    if choice < 0.4 and b"<html" in data[:4096].lower():
        label = rng.choice(_CHARSETS)
        meta = b'<meta charset="' + label + b'">'
        if b"charset=" in data[:4096]:
            return "charset", re.sub(
                rb'charset="?[\w-]+"?', b'charset="' + label + b'"', data, count=1
            )
        return "charset", data.replace(b"<head>", b"<head>" + meta, 1) if b"<head>" in data else (
            meta + data
        )
    if choice < 0.7:
        text = data.decode("utf-8", "replace")
        return "recode", text.encode(rng.choice(_RECODE), "replace")
    if choice < 0.85:
        return "bom", rng.choice(
            [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff"]
        ) + data
    at = rng.randrange(len(data) + 1)
    return "badutf8", data[:at] + rng.choice(
        [b"\xc3", b"\xff", b"\xed\xa0\x80", b"\xf4\x90"]
    ) + data[at:]


def long_field(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    size = rng.choice([1_001, 20_000, 200_000, 2_000_000])
    filler = rng.choice([b"A", b'","', b" - Season 1", b"Episode ", b"(", b"&amp;", b"\xc3\xa9"])
    value = (filler * (size // len(filler) + 1))[:size]
    quotes = [m.end() for m in re.finditer(rb'["=>]', data[:200_000])] or [len(data) // 2]
    at = rng.choice(quotes)
    return "longfield", data[:at] + value + data[at:]


def csv_shapes(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    choice = rng.randrange(5)
    if choice == 0:
        return "csv-delims", data.replace(b",", rng.choice([b";", b"\t", b'","', b", "]))
    if choice == 1:
        return "csv-lineends", data.replace(b"\n", rng.choice([b"\r", b"\r\r\n", b"\n\n", b"\x00"]))
    if choice == 2:
        lines = data.split(b"\n")
        at = rng.randrange(len(lines))
        lines[at] = lines[at] + b"," * rng.choice([1, 50, 5000])
        return "csv-columns", b"\n".join(lines)
    if choice == 3:
        return "csv-quotes", data.replace(b'"', b'""', rng.randint(1, 20))
    return "csv-header", data.split(b"\n", 1)[-1]


def random_bytes(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    prefix = data[: rng.choice([0, 2, 16, 200, 4096])]
    return "random", prefix + rng.randbytes(rng.randrange(1, 50_000))


def rezip(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    """The input (or a seed) inside a ZIP: other methods, encryption, bombs, odd names."""
    choice = rng.randrange(10)
    if choice == 0:
        return "zip-bomb", zip_bomb(rng.choice([600, 4000]))
    if choice == 1:
        return "zip-bomb-lies", zip_bomb(600, claimed=rng.choice([100, 300 << 20, 2 << 20]))
    if choice == 2:
        method = rng.choice([zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
        return "zip-method", zip_of([("Viewing History.csv", data)], method)
    if choice == 3:
        plain = zip_of([("Viewing History.csv", data)], zipfile.ZIP_STORED)
        flagged = bytearray(plain)
        flagged[6] |= 1
        central = flagged.find(b"PK\x01\x02")
        flagged[central + 8] |= 1
        return "zip-encrypted", bytes(flagged)
    if choice == 4:
        return "zip-many", zip_of([(f"f{i}.csv", b"") for i in range(rng.choice([100, 12_000]))])
    if choice == 5:
        name = rng.choice(["a\udcff.csv", "a\nb.html", "../../etc/x.json", "d/" * 200 + "x.csv"])
        payload = zlib.compress(data)[2:-4]
        return "zip-names", zip_raw(name, payload, len(data), crc=zlib.crc32(data),
                                    flags=0x800)  # fmt: skip
    if choice == 6:
        return "zip-nested", zip_of([("inner.zip", zip_of([("a.csv", data)]))])
    if choice == 7:
        return "zip-method-9", zip_raw("a.csv", data, len(data), method=9)
    if choice == 8:
        packed = zip_of([("Viewing History.csv", data)])
        return "zip-mutated", bit_flips(rng, packed, pool)[1]
    return "zip", zip_of([("Viewing History.csv", data), ("other.html", rng.choice(pool))])


TEXT_MUTATIONS: list[Mutation] = [
    bit_flips, byte_writes, truncate, splice, chunk, huge_number, deep_nesting, odd_dates,
    odd_encoding, long_field, random_bytes,
]  # fmt: skip
BY_FORMAT: dict[str, list[Mutation]] = {
    "page": TEXT_MUTATIONS,
    "history-json": TEXT_MUTATIONS,
    "console-json": TEXT_MUTATIONS,
    "console-csv": [*TEXT_MUTATIONS, csv_shapes],
    "export-csv": [*TEXT_MUTATIONS, csv_shapes, rezip],
    "zip": [bit_flips, truncate, splice, chunk, random_bytes, rezip],
}


def zip_case(rng: random.Random, data: bytes, pool: Pool) -> tuple[str, bytes]:
    """A seed ZIP with one member mutated by a text mutation and packed again, or the
    ZIP's own bytes mutated."""
    if rng.random() < 0.5:
        members = zip_members(data)
        index = rng.randrange(len(members))
        label, member = rng.choice(TEXT_MUTATIONS + [csv_shapes])(rng, members[index][1], pool)
        members[index] = (members[index][0], member)
        return f"member-{label}", zip_of(members)
    label, out = rng.choice(BY_FORMAT["zip"])(rng, data, pool)
    return label, out


def cases(per_format: int, seed: int) -> list[dict]:
    """The inputs: ``per_format`` of each format, written under bench/out/fuzz/inputs."""
    rng = random.Random(seed)
    found = seeds()
    pool = [data for items in found.values() for _, data in items]
    folder = OUT / "inputs"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    out = []
    for fmt in FORMATS:
        for n in range(per_format):
            source, data = rng.choice(found[fmt])
            labels = []
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                first_zip = fmt == "zip" and not labels  # a seed ZIP is opened only as it is
                mutate = zip_case if first_zip else rng.choice(BY_FORMAT[fmt])
                label, data = mutate(rng, data, pool)
                labels.append(label)
            name = f"{fmt}-{n:05d}-{'+'.join(labels)}"
            if rng.random() < 0.05:  # a file name that is not UTF-8, or holds a line break
                name += rng.choice(["-\udcff\udcfe", "-line\nbreak", "-tab\tcr\r"])
            path = folder / name
            path.write_bytes(data)
            out.append({"id": len(out), "format": fmt, "mutation": "+".join(labels),
                        "seed": source, "path": os.fsdecode(path), "bytes": len(data)})  # fmt: skip
    return out


# --- running ----------------------------------------------------------------------------


def peak_rss_mb(pid: int | str = "self") -> float:
    """VmHWM: the peak resident set of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker() -> None:
    """Read one case a line on stdin, run `pv2simkl import` in this process, answer a line."""
    from pv2simkl.cli import app as command

    os.environ["PV2SIMKL_OFFLINE"] = "1"
    previous = None
    for line in sys.stdin:
        case = json.loads(line)
        data_dir = Path(case["data_dir"])
        if previous is not None and previous != data_dir:
            shutil.rmtree(previous, ignore_errors=True)
        previous = data_dir
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                command.main(["--data-dir", str(data_dir), "import", case["path"]], "pv2simkl")
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        text = err.getvalue()
        reply = {"id": case["id"], "code": code, "net": NET_MARK in text,
                 "unexpected": "error: unexpected" in text, "stderr": text[-400:],
                 "rss_mb": peak_rss_mb()}  # fmt: skip
        print(json.dumps(reply), flush=True)


class Worker:
    """One worker process; ``run`` sends a case and waits at most HANG_SECONDS."""

    def __init__(self, index: int):
        self.index = index
        self.proc: subprocess.Popen | None = None
        self.peak = 0.0
        self.started = 0
        self.runs = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker"], cwd=ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.started += 1

    def run(self, case: dict) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc and self.proc.stdin and self.proc.stdout
        # One store for STORE_RUNS inputs, as the daemon keeps one: a store per input would
        # spend most of the run creating stores.
        self.runs += 1
        data_dir = OUT / "data" / f"w{self.index}-{self.started}-{self.runs // STORE_RUNS}"
        self.proc.stdin.write(json.dumps({**case, "data_dir": str(data_dir)}) + "\n")
        self.proc.stdin.flush()
        begin = time.monotonic()
        ready, _, _ = select.select([self.proc.stdout], [], [], HANG_SECONDS)
        line = self.proc.stdout.readline() if ready else ""
        took = time.monotonic() - begin
        if not line:  # hung (or died): kill it, a fresh worker takes the next case
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, peak_rss_mb(self.proc.pid))
            self.proc.kill()
            self.proc.wait()
            shutil.rmtree(data_dir, ignore_errors=True)
            return {"id": case["id"], "code": None, "hang": ready == [], "seconds": took}
        reply = json.loads(line)
        self.peak = max(self.peak, reply["rss_mb"])
        return {**reply, "seconds": took}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def run_all(items: list[dict], workers: int) -> list[dict]:
    pending = list(reversed(items))
    results: list[dict] = []
    lock = threading.Lock()
    pool = [Worker(i) for i in range(workers)]

    def drive(w: Worker) -> None:
        while True:
            with lock:
                if not pending:
                    break
                case = pending.pop()
            result = w.run(case)
            with lock:
                results.append({**case, **result})
                if len(results) % 500 == 0:
                    print(f"  {len(results)} / {len(items)}", file=sys.stderr, flush=True)
        w.stop()

    threads = [threading.Thread(target=drive, args=(w,)) for w in pool]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run_all.peak = max(w.peak for w in pool)  # type: ignore[attr-defined]
    return sorted(results, key=lambda r: r["id"])


# ``python -m pv2simkl`` that writes its own peak RSS (VmHWM, in kB) to a file as it exits.
# Not os.wait4's ru_maxrss: Linux carries the forking parent's high-water mark over the
# exec into the child's, so a bench holding 12,000 inputs would be measured, not the CLI.
_RUN_MEASURED = """
import atexit, os, runpy, sys
def _hwm():
    with open("/proc/self/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    with open(os.environ["PV2SIMKL_BENCH_HWM"], "w") as out:
        out.write(str(kb))
atexit.register(_hwm)
sys.argv[0] = "pv2simkl"
runpy.run_module("pv2simkl", run_name="__main__", alter_sys=True)
"""


def subprocess_check(case: dict) -> dict:
    """The same input through ``python -m pv2simkl import`` in its own process."""
    data_dir = OUT / "data" / f"check-{case['id']}"
    hwm = OUT / "data" / f"check-{case['id']}.hwm"
    hwm.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PV2SIMKL_OFFLINE": "1", "PV2SIMKL_BENCH_HWM": str(hwm)}
    begin = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUN_MEASURED, "--data-dir", str(data_dir), "import",
         os.fsencode(case["path"])],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    timer = threading.Timer(HANG_SECONDS, proc.kill)
    timer.start()
    _, status, _ = os.wait4(proc.pid, 0)
    timer.cancel()
    stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    shutil.rmtree(data_dir, ignore_errors=True)
    rss = int(hwm.read_text()) / 1024 if hwm.exists() else None
    hwm.unlink(missing_ok=True)
    return {"id": case["id"], "code": proc.returncode, "rss_mb": rss,
            "seconds": time.monotonic() - begin, "unexpected": "error: unexpected" in stderr,
            "net": NET_MARK in stderr}  # fmt: skip


def refusal_seconds(data: bytes) -> float:
    """How long ``parse_data`` takes to refuse ``data`` here (the CLI's own time, without
    the interpreter's start and the store)."""
    from pv2simkl.errors import ParseError
    from pv2simkl.formats import parse_data

    begin = time.perf_counter()
    with contextlib.suppress(ParseError):
        parse_data(data, "bomb.zip")
    return round(time.perf_counter() - begin, 3)


def bombs() -> list[dict]:
    """The 4 MB ZIP that expands to 4 GB, its header honest and lying, each through
    ``python -m pv2simkl import`` in its own process: exit code, wall time, peak RSS."""
    folder = OUT / "bombs"
    folder.mkdir(parents=True, exist_ok=True)
    shapes = {"honest header (4,000 MiB)": zip_bomb(4000),
              "header claims 100 MiB": zip_bomb(4000, claimed=100 << 20),
              "header claims 100 bytes": zip_bomb(4000, claimed=100)}  # fmt: skip
    out = []
    for index, (label, data) in enumerate(shapes.items()):
        path = folder / f"bomb-{index}.zip"
        path.write_bytes(data)
        measured = subprocess_check({"id": f"bomb-{index}", "path": str(path)})
        measured["refused_in_s"] = refusal_seconds(data)
        kept = ("code", "seconds", "rss_mb", "refused_in_s")
        figures = {k: round(v, 3) if isinstance(v, float) else v
                   for k, v in measured.items() if k in kept}  # fmt: skip
        out.append({"bomb": label, "zip_mb": round(len(data) / 1e6, 1), **figures})
    return out


def summary(results: list[dict], checks: list[dict], wall: float, peak: float) -> dict:
    crashes = [r for r in results if r.get("code") == 1 or r.get("unexpected") or r.get("net")]
    hangs = [r for r in results if r.get("code") is None]
    by_format = {
        fmt: dict(Counter(str(r.get("code")) for r in results if r["format"] == fmt))
        for fmt in FORMATS
    }
    by_code = {str(r["id"]): r["code"] for r in results}
    disagree = [c for c in checks if by_code.get(str(c["id"])) != c["code"]]
    return {
        "inputs": len(results),
        "per_format": {fmt: sum(1 for r in results if r["format"] == fmt) for fmt in FORMATS},
        "exit_codes_by_format": by_format,
        "crashes_exit_1": len(crashes),
        "hangs_over_30s": len(hangs),
        "slowest_s": round(max((r["seconds"] for r in results), default=0), 2),
        "peak_rss_mb_worker": round(peak, 1),
        "subprocess_checked": len(checks),
        "subprocess_disagreeing": len(disagree),
        "subprocess_peak_rss_mb": round(max((c["rss_mb"] or 0 for c in checks), default=0), 1),
        "subprocess_slowest_s": round(max((c["seconds"] for c in checks), default=0), 2),
        "wall_s": round(wall, 1),
        "crash_samples": [
            {k: r.get(k) for k in ("format", "mutation", "seed", "code", "stderr")}
            for r in crashes[:10]
        ],
        "hang_samples": [{k: r.get(k) for k in ("format", "mutation", "seed")} for r in hangs[:10]],
    }


def pick_checks(results: list[dict], count: int, rng: random.Random) -> list[dict]:
    """Every suspicious input, one of each mutation kind, then a random rest."""
    chosen: dict[int, dict] = {}
    for r in results:
        if r.get("code") in (None, 1) or r.get("net") or r.get("unexpected"):
            chosen[r["id"]] = r
    kinds: dict[str, dict] = {}
    for r in results:
        kinds.setdefault(f"{r['format']}/{r['mutation'].split('+')[0]}", r)
    for r in kinds.values():
        if len(chosen) < count:
            chosen[r["id"]] = r
    rest = [r for r in results if r["id"] not in chosen]
    for r in rng.sample(rest, max(0, min(len(rest), count - len(chosen)))):
        chosen[r["id"]] = r
    return list(chosen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-format", type=int, default=400)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--check", type=int, default=120, help="inputs re-run as subprocesses")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    begin = time.monotonic()
    items = cases(args.per_format, args.seed)
    print(f"{len(items)} inputs written; importing …", file=sys.stderr, flush=True)
    results = run_all(items, args.workers)
    with ThreadPoolExecutor(args.workers) as pool:
        checks = list(pool.map(subprocess_check, pick_checks(results, args.check, Random(1))))
    report = summary(results, checks, time.monotonic() - begin, run_all.peak)  # type: ignore[attr-defined]
    report["bombs"] = bombs()
    (OUT / "results.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in results), encoding="utf-8"
    )
    print(json.dumps(report, indent=2, ensure_ascii=True))
    ok = not report["crashes_exit_1"] and not report["hangs_over_30s"]
    ok = ok and report["peak_rss_mb_worker"] <= 300 and report["subprocess_peak_rss_mb"] <= 300
    ok = ok and all(b["code"] == 4 and (b["rss_mb"] or 0) < 200 for b in report["bombs"])
    raise SystemExit(0 if ok and not report["subprocess_disagreeing"] else 1)


if __name__ == "__main__":
    main()
