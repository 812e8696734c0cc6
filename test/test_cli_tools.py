"""The command-line tools (fip_ros.cli): one module per fip-* tool, arguments parsed before any heavy import,
every option with a help text that shows its default."""

import argparse
import pkgutil
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

import fip_ros.cli

TOOLS = sorted(m.name for m in pkgutil.iter_modules(fip_ros.cli.__path__))
HEAVY = ("torch", "rclpy", "onnxruntime", "rosbags", "scipy")


def _parsers(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_one_module_per_console_script():
    assert TOOLS == ["bag", "body", "bringup", "calibrate", "dataset", "demo", "evaluate", "export",
                     "finetune", "report", "train"]


@pytest.mark.parametrize("tool", TOOLS)
def test_help_imports_nothing_heavy(tool):
    code = (f"import sys\nfrom fip_ros.cli import {tool}\n"
            f"try:\n    {tool}.build_parser().parse_args(['--help'])\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("tool", TOOLS)
def test_every_option_has_help_and_shows_its_default(tool):
    import importlib

    for parser in _parsers(importlib.import_module(f"fip_ros.cli.{tool}").build_parser()):
        formatter = parser._get_formatter()
        one_of = {a for g in parser._mutually_exclusive_groups if g.required for a in g._group_actions}
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            text = formatter._expand_help(action) if action.help else ""
            assert text, f"{parser.prog} {action.dest}: no help text"
            flag = action.nargs == 0  # store_true and the like: the default is "off"
            positional = not action.option_strings and action.nargs is None
            required = action.required or action in one_of or positional
            if not (flag or required):
                assert "default" in formatter._get_help_string(action), f"{parser.prog} {action.dest}"
