"""Training of the FIP network on clip npz files with on-the-fly IMU synthesis (``fip-train``).

``train(args)`` takes ``fip_ros.cli.train``'s arguments and writes to ``args.out``: ``last.pt`` and
``best.pt`` (fip_ros.fip.checkpoint format; best = lowest validation position error), ``train_state.pt``
(optimizer, step, RNG, averaged weights, for --resume), ``log.jsonl`` (one line per log / validation event).
With ``--ema D`` validation and ``best.pt`` use an exponential moving average of the weights (decay D per
step), which smooths the last steps' noise; ``last.pt`` keeps the raw weights the optimiser continues from.
"""

import json
import math
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from fip_ros.core.imu_synthesis import ImuCorruption
from fip_ros.core.metrics import joint_position_error
from fip_ros.core.overrides import with_overrides
from fip_ros.fip.checkpoint import load_checkpoint, save_checkpoint
from fip_ros.fip.config import get_config
from fip_ros.fip.model import FIP
from fip_ros.training.augment import AugmentConfig
from fip_ros.training.dataset import WindowSampler, batch_stream, fixed_windows, load_split
from fip_ros.training.losses import fip_loss

# Sensor errors seen in training (ImuCorruption), about half the test preset (evaluate.TEST_CORRUPTION);
# each magnitude and its source: docs/data.md "Sensor error model". Calibration posture per sensor:
# forearms, lower legs, head, pelvis.
TRAIN_CORRUPTION = ImuCorruption(acc_noise_std=0.1, acc_bias_std=0.05, acc_bias_walk_std=0.001,
                                 ori_noise_deg=0.5, heading_error_deg=2.0, mount_rot_deg=3.0,
                                 mount_pos_m=0.01, drop_prob=0.002, heading_walk_deg=0.5,
                                 calib_pose_deg=(5.0, 5.0, 2.0, 2.0, 2.0, 1.0))
# Each window scales TRAIN_CORRUPTION by a factor drawn from this range: clean sensors to twice the typical
# errors, so the network meets both a clean lab and a disturbed room (the mean stays TRAIN_CORRUPTION).
TRAIN_SEVERITY = (0.0, 2.0)


def lr_at(step: int, total: int, base: float) -> float:
    """Short linear warm-up (LSTMs are touchy at first), then cosine down to 5 % of the base rate."""
    warm = min(200, total // 10)
    if step < warm:
        return base * (step + 1) / warm
    frac = min((step - warm) / max(total - warm, 1), 1.0)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))


def augment_config(overrides: str | None) -> AugmentConfig:
    """AugmentConfig with the fields of the JSON object ``overrides`` changed (lists become tuples)."""
    fields = json.loads(overrides) if overrides else {}
    if not isinstance(fields, dict):
        raise ValueError(f"--augment must be a JSON object of AugmentConfig fields, got {overrides!r}")
    return with_overrides(AugmentConfig(), fields, "AugmentConfig")


def to_device(batch: dict, device) -> dict:
    return {k: v.to(device) for k, v in batch.items()}


@torch.no_grad()
def validate(model: FIP, val: dict, chunk: int = 16) -> dict:
    """Loss parts and protocol position error (cm) on fixed validation windows."""
    model.eval()
    parts_sum, pos, n = {}, [], 0
    for i in range(0, val["acc"].shape[0], chunk):
        b = {k: v[i:i + chunk] for k, v in val.items()}
        out = model(b["acc"], b["ori"], b["body"], b["init_pose"])
        _, parts = fip_loss(out, b)
        m = b["acc"].shape[0]
        for k, v in parts.items():
            parts_sum[k] = parts_sum.get(k, 0.0) + v * m
        for j in range(m):
            pos.append(joint_position_error(out["local_rot"][j].cpu(), b["local_rot"][j].cpu(),
                                            b["offsets"][j].cpu()).mean())
        n += m
    model.train()
    return {"pos_cm": float(torch.stack(pos).mean()), **{k: v / n for k, v in parts_sum.items()}}


def train(args) -> dict:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto"
                          else args.device)
    aug = None if args.no_augment else augment_config(args.augment)
    corruption = None if args.no_augment else TRAIN_CORRUPTION
    train_clips = load_split(args.data, args.train_split)
    severity = tuple(args.severity) if args.severity else TRAIN_SEVERITY
    if not 0.0 <= severity[0] <= severity[1]:
        raise ValueError(f"--severity needs 0 <= LO <= HI, got {severity}")
    sampler = WindowSampler(train_clips, args.window, aug, corruption, seed=args.seed, severity=severity)
    val = to_device(fixed_windows(load_split(args.data, args.val_split), args.window), device)

    if args.init:
        model = load_checkpoint(args.init)[0].to(device)  # the checkpoint's own config
    else:
        cfg = json.loads(args.config) if args.config.lstrip().startswith("{") else args.config
        model = FIP(get_config(cfg)).to(device)
    if model.cfg.mirror_average and not (aug and aug.mirror_p > 0):
        # Averaging with the mirror image needs a network that has seen mirror images.
        model.cfg = replace(model.cfg, mirror_average=False)
        print("no mirroring in training: the checkpoints do not average with the mirror image", flush=True)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, best = 0, float("inf")
    state_path = out_dir / "train_state.pt"
    if args.resume:
        model.load_state_dict(load_checkpoint(out_dir / "last.pt")[0].state_dict())
        st = torch.load(state_path, map_location="cpu", weights_only=True)  # any device; data only
        opt.load_state_dict(st["opt"])
        step, best = st["step"], st["best"]
        sampler.g.set_state(st["rng"])
        print(f"resumed at step {step}, best val pos {best:.2f} cm", flush=True)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.ema)) if args.ema else None
    if ema is not None and args.resume and "ema" in st:
        ema.load_state_dict(st["ema"])
    model.train()
    scored = ema.module if ema is not None else model  # what validation and best.pt see

    def save(name, val_metrics=None):
        meta = {"train_args": vars(args), "device": str(device), "augment": asdict(aug) if aug else None,
                "corruption": asdict(corruption) if corruption else None,
                "corruption_severity": severity if corruption else None, "step": step,
                "val": val_metrics or {}}
        save_checkpoint(out_dir / name, scored if name == "best.pt" else model, metadata=meta)
        st = {"opt": opt.state_dict(), "step": step, "best": best, "rng": sampler.g.get_state()}
        if ema is not None:
            st["ema"] = ema.state_dict()
        torch.save(st, state_path)

    batches = batch_stream(sampler, args.batch, args.workers, args.seed, step)
    log = (out_dir / "log.jsonl").open("a")
    t0, t_log, last_logged = time.time(), time.time(), step
    parts_acc, n_acc = {}, 0
    while step < args.steps:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr)
        b = to_device(next(batches), device)
        out = model(b["acc"], b["ori"], b["body"], b["init_pose"])
        loss, parts = fip_loss(out, b)  # the batch carries the targets
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # rare exploding LSTM steps
        opt.step()
        if ema is not None:
            ema.update_parameters(model)
        step += 1
        for k, v in parts.items():
            parts_acc[k] = parts_acc.get(k, 0.0) + v
        n_acc += 1
        timed_out = args.max_minutes is not None and time.time() - t0 > 60 * args.max_minutes
        stopping = timed_out or (args.stop_at is not None and step >= args.stop_at)
        if step % args.log_every == 0:
            rate = (step - last_logged) / (time.time() - t_log)
            mean = {k: v / n_acc for k, v in parts_acc.items()}
            print(f"step {step}/{args.steps} {rate:.2f} steps/s lr {opt.param_groups[0]['lr']:.2e} "
                  + " ".join(f"{k} {v:.4f}" for k, v in mean.items()), flush=True)
            row = {"step": step, "steps_per_s": rate, "time_s": time.time() - t0, **mean}
            log.write(json.dumps(row) + "\n")
            log.flush()
            parts_acc, n_acc, t_log, last_logged = {}, 0, time.time(), step
        if step % args.eval_every == 0 or step == args.steps or stopping:
            v = validate(scored, val)
            improved = v["pos_cm"] < best
            best = min(best, v["pos_cm"])
            print(f"val step {step}: pos {v['pos_cm']:.2f} cm (best {best:.2f})", flush=True)
            log.write(json.dumps({"step": step, "val": v}) + "\n")
            log.flush()
            if improved:
                save("best.pt", v)
        if step % args.ckpt_every == 0 or step == args.steps or stopping:
            save("last.pt")
        if stopping:
            print(f"{'time limit' if timed_out else 'stop step'} reached at step {step}", flush=True)
            break
    log.close()
    return {"step": step, "best_val_pos_cm": best}
