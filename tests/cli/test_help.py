"""Help that reads well: every command's help exists and shows examples, usage lines name
their values as people write them, global options work before or after the subcommand,
``-v``/``-vv``/``-q`` do what the README says, shell completion installs, and every command
and flag the README shows exists."""

from __future__ import annotations

import logging
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pv2simkl.cli import app, hoist_global_options, install_completion
from pv2simkl.words import plural

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SAMPLE = ROOT / "fixtures" / "samples" / "en-US" / "saved-page-expanded.html"


def all_commands(group: click.Group = app, path: tuple[str, ...] = ()):
    """(path, command) for every command and group under ``group``."""
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*path, name))


COMMANDS = list(all_commands())


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_has_help_with_examples_and_readable_metavars(path) -> None:
    r = CliRunner().invoke(app, [*path, "--help"])
    assert r.exit_code == 0, r.output
    assert f"Usage: pv2simkl {' '.join(path)}" in r.output
    assert "Examples:" in r.output and "  pv2simkl " in r.output
    # What typer used to write: `<bool>`, `<list[Path]>`, `{paths}...`, `<str>`, `<int>`.
    assert not re.search(r"<(bool|str|int|float|path|list\[\w+\])>|\{\w+\}", r.output), r.output


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_value_has_a_name(path, command: click.Command) -> None:
    """An option's value is named for what it is (``DIR``, ``N``, ``LANG``), not its type
    (click's ``TEXT`` / ``INTEGER``); choices list themselves."""
    for param in command.params:
        if isinstance(param, click.Option) and (param.is_flag or param.count or param.hidden):
            continue
        if isinstance(param.type, click.Choice) or param.expose_value is False:
            continue
        assert param.metavar, f"pv2simkl {' '.join(path)}: {param.name} has no metavar"


def test_the_top_level_help_lists_every_command_and_the_global_options() -> None:
    r = CliRunner().invoke(app, ["--help"])
    assert r.exit_code == 0
    for name in app.commands:
        assert f"\n  {name} " in r.output
    for flag in ("--db FILE", "--data-dir DIR", "--config FILE", "--offline", "-v, --verbose",
                 "-q, --quiet", "--debug", "--install-completion", "--version"):  # fmt: skip
        assert flag in r.output


def test_version() -> None:
    from pv2simkl import __version__

    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output == f"pv2simkl {__version__}\n"


# -- global options anywhere -------------------------------------------------------------


def test_global_options_after_the_subcommand_are_moved_before_it() -> None:
    names = set(app.commands)
    assert hoist_global_options(["status", "--db", "x.sqlite", "-vv", "--json"], names) == [
        "--db", "x.sqlite", "-vv", "status", "--json"]  # fmt: skip
    assert hoist_global_options(["--offline", "store", "check", "--data-dir=d", "-q"], names) == [
        "--offline", "--data-dir=d", "-q", "store", "check"]  # fmt: skip
    # What follows `--` is the command's own, even when it looks like a global option.
    assert hoist_global_options(["match", "--", "-q", "--db"], names) == [
        "match", "--", "-q", "--db"]  # fmt: skip
    # A value of a global option given before the command is not taken for the command.
    assert hoist_global_options(["--db", "status", "history", "-q"], names) == [
        "--db", "status", "-q", "history"]  # fmt: skip


def test_global_options_work_after_the_subcommand(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "mine.sqlite3"
    db.parent.mkdir()
    before = CliRunner().invoke(app, ["--db", str(db), "doctor", "--no-probe"])
    after = CliRunner().invoke(app, ["doctor", "--no-probe", "--db", str(db), "--offline"])
    assert before.exit_code == after.exit_code == 0, after.output
    assert f"store: {db}\n" in before.output and f"store: {db}\n" in after.output
    assert "offline" in after.output  # --offline reached the settings from behind the command


def test_v_and_vv_set_how_much_is_logged_and_q_silences_summaries(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path / "data")
    runner.invoke(app, ["--data-dir", data, "-v", "doctor", "--no-probe"])
    assert logging.getLogger().level == logging.INFO
    runner.invoke(app, ["--data-dir", data, "doctor", "--no-probe", "-vv"])
    assert logging.getLogger().level == logging.DEBUG
    loud = runner.invoke(app, ["--data-dir", data, "import", str(SAMPLE)])
    assert loud.exit_code == 0 and "Stored " in loud.output
    quiet = runner.invoke(app, ["--data-dir", data, "import", str(SAMPLE), "--force", "-q"])
    assert quiet.exit_code == 0 and quiet.output == ""
    assert logging.getLogger().level == logging.ERROR
    # -q keeps what was asked for: a command whose output is the answer still prints it.
    status = runner.invoke(app, ["-q", "--data-dir", data, "history", "--format", "jsonl"])
    assert status.exit_code == 0 and status.output.count("\n") > 10


def test_v_with_a_number_is_not_a_thing_and_says_so() -> None:
    r = CliRunner().invoke(app, ["-v", "2", "status"])
    assert r.exit_code == 2 and "No such command '2'" in r.output


# -- completion --------------------------------------------------------------------------


def test_show_and_install_completion(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["--show-completion", "bash"])
    assert r.exit_code == 0 and "_PV2SIMKL_COMPLETE=bash_complete" in r.output
    rc = install_completion("bash", tmp_path)
    install_completion("bash", tmp_path)  # twice: one line
    assert rc == tmp_path / ".bashrc"
    assert rc.read_text().count('eval "$(_PV2SIMKL_COMPLETE=bash_source pv2simkl)"') == 1
    fish = install_completion("fish", tmp_path)
    assert fish.read_text().startswith("function _pv2simkl_completion")
    zsh = install_completion("zsh", tmp_path)
    assert "_PV2SIMKL_COMPLETE=zsh_source pv2simkl" in zsh.read_text()


def test_the_shell_completes_commands_and_options() -> None:
    def complete(words: str) -> list[str]:
        cword = len(words.split()) - (0 if words.endswith(" ") else 1)
        env = {**os.environ, "_PV2SIMKL_COMPLETE": "bash_complete", "COMP_WORDS": words,
               "COMP_CWORD": str(cword)}  # fmt: skip
        run = subprocess.run([sys.executable, "-m", "pv2simkl"], env=env, capture_output=True,
                             text=True, timeout=60)  # fmt: skip
        return [line.split(",", 1)[1] for line in run.stdout.splitlines()]

    assert complete("pv2simkl sta") == ["status"]
    assert "--since" in complete("pv2simkl history --")
    assert set(complete("pv2simkl store ")) == {"check", "backup", "restore"}


# -- plurals -----------------------------------------------------------------------------


def test_plurals() -> None:
    assert plural(1, "event") == "1 event" and plural(0, "event") == "0 events"
    assert plural(2, "watch") == "2 watches" and plural(1, "watch") == "1 watch"
    assert plural(3, "export batch") == "3 export batches"
    assert plural(20000, "row") == "20,000 rows"


def test_regression_one_event_is_not_one_events(tmp_path: Path) -> None:
    page = tmp_path / "one.csv"
    page.write_text('"Playback Start Datetime (UTC)","Title","Seconds Viewed"\n'
                    '"2024-12-19T18:18:47Z","""Hitch""","900"\n')  # fmt: skip
    r = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "d"), "import", str(page)])
    assert r.exit_code == 0, r.output
    assert "1 event read" in r.output and "Stored 1 new event;" in r.output
    assert "1 event of 1 title" in r.output and "events" not in r.output


# -- the README ----------------------------------------------------------------------------


def readme_commands() -> list[list[str]]:
    """Every ``pv2simkl …`` command line the README shows, in code blocks and inline code."""
    text = README.read_text(encoding="utf-8")
    found: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        found += [line for line in block.splitlines() if re.match(r"\s*(\S*/)?pv2simkl ", line)]
    found += re.findall(r"`((?:\S*/)?pv2simkl [^`]+)`", text)
    commands = []
    for line in found:
        line = re.split(r"\s+#", line)[0]  # a comment
        line = line.split(" | ")[0].split(" && ")[-1]
        words = shlex.split(line)
        start = next(i for i, w in enumerate(words) if w.endswith("pv2simkl"))
        commands.append(words[start + 1 :])
    return commands


def resolve(words: list[str]) -> tuple[list[click.Command], list[str]]:
    """The commands named (the group, its subcommands) and the option words."""
    chain: list[click.Command] = [app]
    options = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            options.append(word.split("=", 1)[0])
            known = {o: p for c in chain for p in c.params for o in p.opts}
            param = known.get(word.split("=", 1)[0])
            skip = "=" not in word and isinstance(param, click.Option) and not param.is_flag
            continue
        here = chain[-1]
        if isinstance(here, click.Group) and word in here.commands:
            chain.append(here.commands[word])
    return chain, options


def test_readme_lists_commands_that_exist_with_flags_that_exist() -> None:
    commands = readme_commands()
    assert len(commands) > 30  # the README shows many; a broken parse would find few
    for words in commands:
        chain, options = resolve(words)
        assert len(chain) > 1 or words[0].startswith("-"), f"no such command: {words}"
        known = {o for c in chain for p in c.params for o in p.opts + p.secondary_opts}
        known |= {"--help", "-h"}
        for option in options:
            assert option in known, f"README: `pv2simkl {' '.join(words)}`: no {option}"
        path = [c.name for c in chain[1:]]
        r = CliRunner().invoke(app, [*path, "--help"])
        assert r.exit_code == 0, (words, r.output)


def test_regression_readme_showed_fetch_browser_which_did_not_exist() -> None:
    chain, _ = resolve(["fetch", "--browser"])
    assert "--browser" in {o for p in chain[-1].params for o in p.opts}
