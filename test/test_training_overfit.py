"""fip-train can fit: a tiny network overfits one 2-s clip from > 10 cm to < 3 cm position error."""

import json

import pytest
import torch
from helpers import TINY, fake_motion

from fip_ros.cli.train import build_parser
from fip_ros.core.imu_synthesis import STENCIL
from fip_ros.fip.checkpoint import load_checkpoint
from fip_ros.fip.config import get_config
from fip_ros.fip.model import FIP
from fip_ros.training import train
from fip_ros.training.augment import AugmentConfig
from fip_ros.training.dataset import WindowSampler, batch_stream, fixed_windows, load_split
from fip_ros.training.train import TRAIN_CORRUPTION

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
    assert not model.cfg.mirror_average  # trained without mirror images: it does not average with them
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


def test_ema_averages_the_steps_and_survives_a_resume(tmp_path):
    torch.set_num_threads(1)
    fake_motion(WINDOW + 2 * STENCIL, 3, "one").save_npz(tmp_path / "one.npz")
    (tmp_path / "index.json").write_text(json.dumps({"splits": {"train": ["one.npz"], "val": ["one.npz"]}}))

    def run(out, steps, resume=False, extra=()):
        argv = [*extra, "--data", str(tmp_path), "--out", str(tmp_path / out), "--config",
                json.dumps({**TINY, "dropout": 0.0}), "--steps", str(steps), "--batch", "1", "--window",
                str(WINDOW), "--lr", "3e-3", "--no-augment", "--ema", "0.5", "--ckpt-every", "1"]
        train.train(build_parser().parse_args(argv + ["--resume"] * resume))
        raw = load_checkpoint(tmp_path / out / "last.pt")[0].state_dict()
        ema = torch.load(tmp_path / out / "train_state.pt", weights_only=True)["ema"]
        return raw, {k.removeprefix("module."): v for k, v in ema.items() if k.startswith("module.")}

    raw1, ema1 = run("split", 1)
    raw2, ema2 = run("split", 2, resume=True)
    straight_raw, straight_ema = run("straight", 2)
    for k, v in raw1.items():
        if v.is_floating_point():
            assert torch.equal(ema1[k], v)  # the first update copies the weights
            torch.testing.assert_close(ema2[k], 0.5 * v + 0.5 * raw2[k])  # decay 0.5: the mean of two steps
            torch.testing.assert_close(straight_ema[k], ema2[k])  # a resumed run continues the same average
    assert any(not torch.equal(raw1[k], raw2[k]) for k in raw1 if raw1[k].is_floating_point())
    # --stop-at: a run in chunks of steps on the schedule of --steps is the straight run
    run("chunks", 2, extra=["--stop-at", "1"])
    assert torch.load(tmp_path / "chunks" / "train_state.pt", weights_only=True)["step"] == 1
    chunk_raw, chunk_ema = run("chunks", 2, resume=True)
    for k, v in straight_raw.items():
        torch.testing.assert_close(chunk_raw[k], v)
        torch.testing.assert_close(chunk_ema[k], straight_ema[k])


def test_sampler_workers_give_reproducible_batches(tmp_path):
    torch.set_num_threads(1)
    fake_motion(WINDOW + 2 * STENCIL, 3, "one").save_npz(tmp_path / "one.npz")
    fake_motion(WINDOW + 2 * STENCIL + 40, 3, "two").save_npz(tmp_path / "two.npz")
    (tmp_path / "index.json").write_text(json.dumps({"splits": {"train": ["one.npz", "two.npz"],
                                                               "val": ["one.npz"]}}))
    clips = load_split(tmp_path, "train")

    def firsts(workers, seed=0, start=0):
        stream = batch_stream(WindowSampler(clips, WINDOW, AugmentConfig(), TRAIN_CORRUPTION, seed=seed),
                              2, workers, seed, start)
        return [next(stream)["acc"] for _ in range(4)]

    two = firsts(2)
    assert all(torch.equal(a, b) for a, b in zip(two, firsts(2), strict=True))  # same workers, same batches
    assert not torch.equal(two[0], two[1])  # the two workers deal alternate batches from different streams
    assert not torch.equal(two[0], firsts(2, start=100)[0])  # a resumed run does not replay the start
    assert not torch.equal(two[0], firsts(2, seed=1)[0])

    args = build_parser().parse_args(["--data", str(tmp_path), "--out", str(tmp_path / "run"), "--config",
                                      json.dumps(TINY), "--steps", "3", "--batch", "1", "--window",
                                      str(WINDOW), "--workers", "2"])
    assert train.train(args)["step"] == 3
    # --severity: recorded in the checkpoint; an inverted range is refused before any training
    args.severity, args.steps, args.out = [0.5, 3.0], 1, str(tmp_path / "severity")
    train.train(args)
    assert tuple(load_checkpoint(tmp_path / "severity" / "best.pt")[1]["corruption_severity"]) == (0.5, 3.0)
    args.severity = [2.0, 1.0]
    with pytest.raises(ValueError, match="severity"):
        train.train(args)
