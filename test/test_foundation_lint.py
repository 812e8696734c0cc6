"""The repository is ruff-clean (ruff.toml): lint failures fail the test suite."""

import subprocess
import sys

from conftest import REPO_ROOT


def test_ruff_check_passes():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
