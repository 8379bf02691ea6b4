"""The `codesign` command line: every subcommand has --help, user errors exit 2 without a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

from codesign.cli import COMMAND_MODULES, build_parser, main


def codesign(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codesign", *args], capture_output=True, text=True, timeout=300)


def subcommand_names() -> list[str]:
    parser = build_parser()
    subparsers = next(action for action in parser._actions if action.dest == "command")
    return list(subparsers.choices)


def test_help_lists_every_subcommand():
    result = codesign("--help")
    assert result.returncode == 0
    names = subcommand_names()
    assert len(names) == len(COMMAND_MODULES)
    for name in names:
        assert name in result.stdout


def test_every_subcommand_has_its_own_help(capsys):
    for name in subcommand_names():
        try:
            main([name, "--help"])
        except SystemExit as exit_:
            assert exit_.code == 0
        output = capsys.readouterr().out
        assert f"usage: codesign {name}" in output


def test_info_json_reports_the_stack():
    result = codesign("info", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["versions"]["lava-nc"] == "0.10.0"
    assert info["versions"]["lava-dl"] == "0.6.0"
    assert {"loihi1", "loihi2"} <= set(info["profiles"])


def test_no_subcommand_prints_help_and_fails():
    result = codesign()
    assert result.returncode == 2
    assert "usage: codesign" in result.stdout
