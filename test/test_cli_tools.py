"""The command-line tools (fip_ros.cli): one module per fip-* tool, arguments parsed before any heavy import,
every option with a help text that shows its default."""

import argparse
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

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
    setup = (Path(REPO_ROOT) / "setup.py").read_text()
    scripts = dict(re.findall(r'\("(fip-[a-z-]+)", "([a-z_]+)"\)', setup))  # console script -> module
    assert "fip-eval" in scripts and "fip-demo" in scripts
    assert sorted({*scripts.values(), "report"}) == TOOLS  # report: python -m fip_ros.cli.report
    for module in scripts.values():
        assert callable(importlib.import_module(f"fip_ros.cli.{module}").main)


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
