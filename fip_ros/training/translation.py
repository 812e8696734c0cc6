"""Train the translation estimator's velocity net (:class:`fip_ros.core.translation.VelocityNet`).

    OMP_NUM_THREADS=1 python -m fip_ros.training.translation [--out fip_ros/weights/translation_default.npz]

Clips of the train split (``config/dataset_split.yaml``) are imported from the shared mocap as the dataset
builder does; the six IMUs are synthesised from each clip with its root path (``core.imu_synthesis``), with
the sensor errors FIP is trained with (``training.train.TRAIN_CORRUPTION`` at a severity drawn per copy, each
clip used ``DRAWS`` times with independent errors, so the net meets real sensors' heading offsets, biases and
mounting errors), and the sole points come from the clip's own joints (at run time: FIP's); the targets are
the clip's root velocity in the heading frame of the true pelvis and the feet's contact (sole points within
``CONTACT_HEIGHT`` of the clip's floor and slower than ``CONTACT_SPEED``). About 9 minutes on one CPU core;
the seed fixes the result (the default, 0, was chosen on the validation split).
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from fip_ros.core.calibration import calibration_pose_local_rot
from fip_ros.core.imu_synthesis import corrupt, synthesize
from fip_ros.core.smpl_tree import ROOT_SENSOR
from fip_ros.core.translation import (
    STRIDE,
    WINDOW,
    default_weights_path,
    feature_windows,
    frame_features,
    heading_rotation,
    sole_points,
)
from fip_ros.data.build_dataset import discover, import_clip
from fip_ros.data.paths import default_mocap_dir
from fip_ros.data.split import load_split_config, split_of, subject_of
from fip_ros.training.augment import at_speed, lead_in, mirror
from fip_ros.training.train import TRAIN_CORRUPTION, TRAIN_SEVERITY

CONTACT_HEIGHT = 0.05  # m above the clip's floor
CONTACT_SPEED = 0.5  # m/s
ACC_NOISE = 0.3  # m/s^2, white, per axis (training only)
HIDDEN = (256, 128)
SPEED = 1.25  # playback-speed augmentation (of the clip and its mirror image)
STILL, BLEND = 90, 30  # frames of a still T-pose and of the blend into the motion
DROPOUT = 0.2  # after each hidden layer (training only)
DRAWS = 2  # each variant twice, with independent sensor errors
EPOCHS = 8  # over the DRAWS copies: as many steps as 16 epochs of one


def variants(motion) -> list[tuple]:
    """(local_rot, tran, offsets) of the clip, mirrored, both played SPEED times faster, and the clip
    started from a still calibration T-pose (as live tracking starts: standing still reads zero velocity)."""
    clip = motion.tensors(torch.float64)
    out = [(clip.local_rot, clip.tran, clip.offsets), mirror(clip.local_rot, clip.tran, clip.offsets)]
    length = int((clip.frames - 1) / SPEED)
    out += [(*at_speed(rot, tran, SPEED, length), off) for rot, tran, off in out[:2]]
    tpose = torch.as_tensor(calibration_pose_local_rot("tpose"))
    out.append((*lead_in(clip.local_rot, clip.tran, tpose, STILL, BLEND), clip.offsets))
    return out


def clip_arrays(motion, rng: np.random.Generator | None = None, variant=None) -> dict:
    """One clip (or one of its ``variants``) -> per-frame features (T, F), heading-frame velocity (T, 3),
    contact (T, 2), plus the IMUs and root. With ``rng``, the IMUs carry sensor errors (white accelerometer
    noise and ``TRAIN_CORRUPTION`` at a severity drawn from ``TRAIN_SEVERITY``); the targets stay the
    clip's."""
    clip = motion.tensors(torch.float64)
    rot, tran, offsets = variant or (clip.local_rot, clip.tran, clip.offsets)
    syn = synthesize(rot, offsets, tran, motion.fps)
    acc, ori = syn["acc"], syn["ori"]
    heading = heading_rotation(ori[:, ROOT_SENSOR].numpy())  # the true pelvis's: the targets' frame
    if rng is not None:
        cfg = TRAIN_CORRUPTION.scaled(float(rng.uniform(*TRAIN_SEVERITY)))
        acc, ori = corrupt(acc, ori, cfg, torch.Generator().manual_seed(int(rng.integers(2 ** 31))))
        acc = acc + torch.as_tensor(rng.normal(0.0, ACC_NOISE, acc.shape))
    acc, ori = acc.numpy(), ori.numpy()
    tran = tran.numpy()
    vel = np.gradient(tran, 1.0 / motion.fps, axis=0)
    vel_h = (np.swapaxes(heading, -1, -2) @ vel[..., None])[..., 0]
    height = float(motion.body[1])
    pts = sole_points(syn["joints"].numpy(), height)
    floor = np.percentile(pts[..., 1].min(-1), 5)
    speed = np.linalg.norm(np.gradient(pts, 1.0 / motion.fps, axis=0), axis=-1)
    point = (pts[..., 1] - floor < CONTACT_HEIGHT) & (speed < CONTACT_SPEED)
    contact = point.reshape(-1, 2, 2).any(-1).astype(np.float64)
    rel = syn["joints"].numpy() - tran[:, None]
    return dict(f=frame_features(acc, ori, rel, height).astype(np.float32), vel=vel_h, contact=contact,
                acc=acc, ori=ori, tran=tran - tran[:1], rel=rel, height=height)


def load_split(split: str, mocap=None, rng=None, names=None) -> list:
    """Motions of one split imported from the shared mocap (clips that fail to import are skipped)."""
    held = load_split_config()
    out = []
    for source, name, files in discover(Path(mocap or default_mocap_dir())):
        if split_of(subject_of(source, name), held) != split or (names and name not in names):
            continue
        try:
            out.append(import_clip(source, name, files))
        except ValueError:
            continue
    return out


def train(clips: list[dict], epochs: int = EPOCHS, seed: int = 0, log=print) -> dict:
    """Fit the MLP (dropout ``DROPOUT`` after each hidden layer: the validation loss is several times the
    training loss without it); returns the weights as the ``.npz`` arrays. Windows are cut per batch from the
    clips' per-frame features, never across a clip start."""
    torch.manual_seed(seed)
    f = np.concatenate([c["f"] for c in clips]).astype(np.float32)
    v = torch.as_tensor(np.concatenate([c["vel"] for c in clips]), dtype=torch.float32)
    k = torch.as_tensor(np.concatenate([c["contact"] for c in clips]), dtype=torch.float32)
    lengths = np.array([len(c["f"]) for c in clips])
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    taps = WINDOW // STRIDE
    mean = torch.as_tensor(f.mean(0)).repeat(taps)
    std = torch.as_tensor(f.std(0, ddof=1)).clamp_min(1e-3).repeat(taps)
    sizes = (len(mean), *HIDDEN, 5)
    layers = [torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    hidden = [m for lin in layers[:-1] for m in (lin, torch.nn.ReLU(), torch.nn.Dropout(DROPOUT))]
    net = torch.nn.Sequential(*hidden, layers[-1])
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for epoch in range(epochs):
        perm = torch.randperm(len(f))
        total = 0.0
        for i in range(0, len(f), 256):
            b = perm[i:i + 256]
            x = torch.as_tensor(feature_windows(f, b.numpy(), first[b.numpy()]))
            out = net((x - mean) / std)
            bce = torch.nn.functional.binary_cross_entropy_with_logits(out[:, 3:], k[b])
            loss = ((out[:, :3] - v[b]) ** 2).sum(-1).mean() + 0.3 * bce
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
        sched.step()
        log(f"epoch {epoch + 1}/{epochs}: loss {total / len(f):.4f}")
    arrays = dict(mean=mean.numpy(), std=std.numpy(), layers=np.array(len(layers)))
    for i, lin in enumerate(layers):
        arrays[f"w{i}"] = lin.weight.detach().numpy().T.copy()
        arrays[f"b{i}"] = lin.bias.detach().numpy().copy()
    return arrays


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=default_weights_path())
    ap.add_argument("--mocap", type=Path, default=None, help="shared mocap (default: ../shared/data/mocap)")
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    # 0: the better of seeds 0 and 1 on the validation split (docs/translation.md)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.time()
    rng = np.random.default_rng(args.seed)
    motions = load_split("train", args.mocap)
    clips = [clip_arrays(m, rng, v) for m in motions for v in variants(m) for _ in range(DRAWS)]
    frames = sum(len(c["f"]) for c in clips)
    print(f"{len(clips)} train clips, {frames / 3600:.1f} min at 60 Hz ({time.time() - t0:.0f} s)")
    arrays = train(clips, args.epochs, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **{k: np.asarray(a, np.float32) if a.ndim else a for k, a in arrays.items()})
    print(f"wrote {args.out} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
