"""fip-eval end to end on fake clips with an untrained tiny network: files, modes, baselines, report."""

import json

import pytest
import torch
from helpers import TINY, write_fake_dataset

from fip_ros.cli.evaluate import main as fip_eval
from fip_ros.core import metrics
from fip_ros.core.imu_synthesis import STENCIL
from fip_ros.evaluation import evaluate, report
from fip_ros.fip.checkpoint import save_checkpoint
from fip_ros.fip.config import get_config
from fip_ros.fip.model import FIP
from fip_ros.training.dataset import load_split


def test_fip_eval_writes_json_plots_and_report(tmp_path):
    torch.manual_seed(0)
    data = write_fake_dataset(tmp_path / "data", n_train=1, frames=150)
    save_checkpoint(tmp_path / "w.pt", FIP(get_config(TINY)))
    out = tmp_path / "eval"
    fip_eval(["--weights", str(tmp_path / "w.pt"), "--data", data, "--split", "test", "--out", str(out),
          "--report", str(tmp_path / "accuracy.md")])
    res = json.loads((out / "results.json").read_text())
    assert set(res["overall"]) == set(evaluate.MODES)
    for mode in evaluate.MODES:
        assert set(res["overall"][mode]) == set(evaluate.METHODS)
        assert "mesh_cm" not in res["overall"][mode]["fip"]  # no SMPL files given
        assert len(res["overall"][mode]["fip"]["per_joint_pos_cm"]) == 24
    assert res["settings"]["frames"] == 150 - 2 * STENCIL
    # the static T-pose baseline is independent of the model and of the start-up mode
    clip = load_split(data, "test")[0]
    truth = clip.local_rot[STENCIL:-STENCIL]
    expected = metrics.sequence_errors(torch.eye(3).expand_as(truth), truth, clip.offsets)["pos_cm"].mean()
    for mode in evaluate.MODES:
        assert res["overall"][mode]["static_tpose"]["pos_cm"] == pytest.approx(float(expected), rel=1e-5)
    assert len(list(out.glob("*.png"))) == 1 + 2 * 2
    md = (tmp_path / "accuracy.md").read_text()
    assert "| FIP (true body) |" in md and "static T-pose" in md and "Mesh cm" not in md
    assert "](eval/time_" in md  # figures linked relative to the report
    assert res["settings"]["mirror_average"] and "- Inference: the pose averaged with" in md
    fip_eval(["--weights", str(tmp_path / "w.pt"), "--data", data, "--split", "test", "--out", str(out),
              "--report", str(tmp_path / "plain.md"), "--conditions", "--no-mirror-average"])
    assert "- Inference: the plain network" in (tmp_path / "plain.md").read_text()
    assert report.render(res).count("\n| 23 right_hand |") == 1


def test_calibration_prefix_is_prepended_and_blends_into_first_frame(tmp_path):
    clip = load_split(write_fake_dataset(tmp_path, n_train=1, frames=100), "test")[0]
    rot, tran = evaluate.with_calibration_prefix(clip)
    n = evaluate.CALIB_HOLD + evaluate.CALIB_BLEND
    assert rot.shape[0] == clip.frames + n
    assert torch.allclose(rot[n:], clip.local_rot)
    held = rot[1:evaluate.CALIB_HOLD, 1:]
    assert torch.allclose(held, torch.eye(3).expand_as(held))
