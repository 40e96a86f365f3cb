"""The sinks a sync cycle runs (``pv2simkl.sinks.SINKS``), through ``pipeline.sync`` on a
real store: each sink the settings ask for, in order; one that fails never stops the next;
one that needs the network is left out with a note in offline mode."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

from pv2simkl import pipeline
from pv2simkl.config import load_settings
from pv2simkl.errors import ExportError
from pv2simkl.sinks import SINKS, Delivery, Sink

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"
SAMPLE = SAMPLES / "en-US" / "saved-page-expanded.html"


def _ctx(tmp_path: Path, **env: str) -> pipeline.Context:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "page.html").write_bytes(SAMPLE.read_bytes())
    base = {
        "PV2SIMKL_DATA_DIR": str(tmp_path / "data"), "PV2SIMKL_INBOX": str(inbox),
        "PV2SIMKL_DAEMON_FETCH": "0", "PV2SIMKL_DAEMON_ENRICH": "0",
        "PV2SIMKL_EXPORT_TIMEZONE": "UTC",
    }  # fmt: skip
    return pipeline.Context.create(load_settings(env={**base, **env}))


def _fake_sink(monkeypatch: pytest.MonkeyPatch, name: str, deliver) -> Sink:
    module = ModuleType(f"fake_sink_{name}")
    module.deliver = deliver  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return Sink(name, module.__name__, lambda _settings: True)


def test_every_registered_sink_can_deliver() -> None:
    assert [s.name for s in SINKS] == ["export", "push"]
    assert all(callable(sink.load().deliver) for sink in SINKS)


def test_a_failing_sink_does_not_stop_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    def broken(settings, paths, store) -> Delivery:
        raise ExportError("The export folder /nowhere is not writable.")

    def counting(settings, paths, store) -> Delivery:
        seen.append(store.counts()["events"])
        return Delivery(files=["x.csv"], sent=3)

    sinks = (_fake_sink(monkeypatch, "broken", broken), _fake_sink(monkeypatch, "ok", counting))
    monkeypatch.setattr("pv2simkl.sinks.SINKS", sinks)
    ctx = _ctx(tmp_path, PV2SIMKL_OFFLINE="1")
    report = pipeline.sync(ctx, settle=0)
    ctx.close()
    assert report.errors == ["broken: The export folder /nowhere is not writable."]
    assert seen and seen[0] > 0  # it ran after the inbox was imported
    assert (report.csv, report.pushed) == (["x.csv"], 3)


def test_offline_leaves_out_the_push_with_a_note_and_still_writes_the_csv(
    tmp_path: Path,
) -> None:
    ctx = _ctx(tmp_path, PV2SIMKL_OFFLINE="1", PV2SIMKL_SIMKL_PUSH="1")
    report = pipeline.sync(ctx, settle=0)
    ctx.close()
    assert report.notes == ["offline mode is on: nothing was pushed to Simkl"]
    assert len(report.csv) == 1 and Path(report.csv[0]).is_file()
    assert report.pushed is None and report.errors == []


def test_a_sink_the_settings_turn_off_is_not_run(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, PV2SIMKL_OFFLINE="1", PV2SIMKL_EXPORT_CSV="0")
    report = pipeline.sync(ctx, settle=0)
    ctx.close()
    assert report.new_events > 0 and report.csv == [] and report.pushed is None
    assert not (tmp_path / "data" / "exports").exists() or not any(
        (tmp_path / "data" / "exports").iterdir()
    )
