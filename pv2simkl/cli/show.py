"""What the store holds and what the runs did: status and history."""

from __future__ import annotations

import csv
import json
import sys

import click

from pv2simkl.cli.core import console, examples, out, session


@click.command("status", epilog=examples("pv2simkl status"))
def status_cmd() -> None:
    """Last runs, the next scheduled one, what waits for export, the newest CSV."""
    from pv2simkl import pipeline

    with session() as ctx:
        info = pipeline.status(ctx)
        daemon = info["daemon"]
        if daemon:
            out(f"daemon: running (pid {daemon.get('pid')}), next sync {daemon.get('next_run')}")
        elif info.get("daemon_gone"):
            out(
                f"daemon: not running (pid {info['daemon_gone']} ended without stopping cleanly: "
                "killed or crashed; `pv2simkl service logs` may say why)"
            )
        else:
            out("daemon: not running")
        out(
            f"store: {info['events']} events of {info['works']} titles; "
            f"{info['unexported']} events not exported yet"
            + (
                f", {info['ids_pending']} titles to export again with ids found since"
                if info.get("ids_pending")
                else ""
            )
        )
        matches = info["matches"]
        out("titles: " + (", ".join(f"{n} {s}" for s, n in sorted(matches.items())) or "none"))
        out(f"newest CSV: {info['newest_csv'] or '(none yet)'}")
        _print_push_status(info["push"])
        for run in info["runs"]:
            summary = run["summary"]
            out(
                f"  {run['started_at'][:19]} {run['kind']:9} {run['status']:7} "
                f"new {summary.get('new_events', '?')}, csv {len(summary.get('csv', []))}"
            )


def _print_push_status(push: dict) -> None:
    """The last push to Simkl's API and what waits for the next."""
    last = push["last"]
    when = "never"
    if last:
        when = f"{last['finished_at'][:19]} ({last['added']} added, {last['not_found']} not found)"
    auto = "each sync pushes" if push["enabled"] else "`pv2simkl push` sends them"
    line = f"simkl push: last {when}; {push['waiting']} watches not pushed yet ({auto})"
    if push["not_found"]:
        line += f", {push['not_found']} not found at Simkl"
    if push["in_flight"]:
        line += f", {push['in_flight']} request(s) in flight"
    out(line)


@click.command(
    "history",
    epilog=examples("pv2simkl history", "pv2simkl history --format jsonl > history.jsonl"),
)
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl", "csv"]), default="table",
              show_default=True, help="Output format.")  # fmt: skip
def history_cmd(fmt: str) -> None:
    """Print every stored watch event, oldest first."""
    from pv2simkl import pipeline

    with session() as ctx:
        events = (e.to_public() for e in pipeline.history(ctx))
        if fmt == "jsonl":
            for row in events:
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif fmt == "csv":
            writer = None
            for row in events:
                if writer is None:
                    writer = csv.DictWriter(sys.stdout, fieldnames=list(row), lineterminator="\n")
                    writer.writeheader()
                writer.writerow(row)
        else:
            from rich.table import Table

            table = Table("watched (UTC)", "kind", "title", "S", "E", "episode", "source")
            table.caption = "No watch events stored yet: run `pv2simkl import`."
            for row in events:
                table.add_row(
                    row["watched_at"][:16].replace("T", " "),
                    row["kind"],
                    row["title"],
                    _s(row["season"]),
                    _s(row["episode"]),
                    row["episode_title"] or "",
                    row["source"],
                )
            if table.row_count:
                table.caption = f"{table.row_count} watch events"
            console().print(table)


def _s(value: object) -> str:
    return "" if value is None else str(value)


COMMANDS = [status_cmd, history_cmd]
