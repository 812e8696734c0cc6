"""fip-train can fit: a tiny network overfits one 2-s clip from > 10 cm to < 3 cm position error."""

import json

import torch
from helpers import TINY, fake_motion

from fip_ros.cli.train import build_parser
from fip_ros.core.imu_synthesis import STENCIL
from fip_ros.fip.checkpoint import load_checkpoint
from fip_ros.fip.config import get_config
from fip_ros.fip.model import FIP
from fip_ros.training import train
from fip_ros.training.dataset import fixed_windows, load_split

WINDOW = 120  # 2 s at 60 Hz


def test_overfits_one_short_clip(tmp_path):
    torch.set_num_threads(1)
    fake_motion(WINDOW + 2 * STENCIL, 3, "one").save_npz(tmp_path / "one.npz")
    (tmp_path / "index.json").write_text(json.dumps({"splits": {"train": ["one.npz"], "val": ["one.npz"]}}))
    val = fixed_windows(load_split(tmp_path, "val"), WINDOW)
    torch.manual_seed(0)
    before = train.validate(FIP(get_config(TINY)), val)["pos_cm"]

    args = build_parser().parse_args(["--data", str(tmp_path), "--out", str(tmp_path / "run"),
                                     "--config", json.dumps(TINY), "--steps", "80", "--batch", "1",
                                     "--window", str(WINDOW), "--lr", "3e-3", "--no-augment",
                                     "--eval-every", "40", "--log-every", "40"])
    result = train.train(args)
    model, meta = load_checkpoint(tmp_path / "run" / "best.pt")
    after = train.validate(model, val)["pos_cm"]
    assert before > 10.0
    assert after < 3.0, (before, after)
    assert abs(after - result["best_val_pos_cm"]) < 1e-3 and meta["step"] > 0

    # resume continues from the saved step
    args.steps, args.resume = 84, True
    assert train.train(args)["step"] == 84

    # --init fine-tunes from the weights (fresh optimiser at a low rate): it starts where they left off
    args.init, args.out = str(tmp_path / "run" / "best.pt"), str(tmp_path / "finetune")
    args.resume, args.steps, args.lr = False, 2, 1e-5
    assert train.train(args)["best_val_pos_cm"] < 3.0
