"""fip-average, known answers: the written checkpoint holds each weight's mean over the inputs, runs, and
names them; checkpoints of different network sizes, a single one, or a file that is no checkpoint are refused
in one line (status 1, through `python -m` as through the console script)."""

import subprocess
import sys

import torch
from helpers import TINY

from fip_ros.fip.checkpoint import load_checkpoint, save_checkpoint
from fip_ros.fip.config import get_config
from fip_ros.fip.model import FIP


def _checkpoint(path, seed, cfg=TINY):
    torch.manual_seed(seed)
    save_checkpoint(path, FIP(get_config(cfg)), {"step": seed})
    return str(path)


def _run(*args):
    return subprocess.run([sys.executable, "-m", "fip_ros.cli.average", *map(str, args)],
                          capture_output=True, text=True)


def test_average_is_the_mean_of_the_weights(tmp_path):
    paths = [_checkpoint(tmp_path / f"{s}.pt", s) for s in (1, 2, 3)]
    out = tmp_path / "soup.pt"
    proc = _run(*paths, "-o", out)
    assert proc.returncode == 0, proc.stderr
    soup, meta = load_checkpoint(out)
    states = [load_checkpoint(p)[0].state_dict() for p in paths]
    for name, value in soup.state_dict().items():
        expected = (states[0][name] + states[1][name] + states[2][name]) / 3
        torch.testing.assert_close(value, expected, rtol=0, atol=1e-7)
    members = meta["average_of"]
    assert [(m["checkpoint"], m["step"]) for m in members] == list(zip(paths, (1, 2, 3), strict=True))
    with torch.no_grad():  # a network like any other: it runs
        out = soup(torch.zeros(1, 10, 6, 3), torch.eye(3).expand(1, 10, 6, 3, 3),
                   torch.tensor([[1.0, 1.75, 0.51, 0.84]]))
    assert all(torch.isfinite(v).all() for v in out.values() if torch.is_tensor(v))


def test_refused_in_one_line(tmp_path):
    small = _checkpoint(tmp_path / "a.pt", 1)
    other = _checkpoint(tmp_path / "b.pt", 2, {**TINY, "ik_hidden": [32]})
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    for args, reason in (([small, other], "another network config"), ([small], "at least two"),
                         ([small, junk], "not a readable FIP checkpoint")):
        proc = _run(*args, "-o", tmp_path / "out.pt")
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stderr.startswith("fip-average: error:") and reason in proc.stderr, proc.stderr
    assert not (tmp_path / "out.pt").exists()
