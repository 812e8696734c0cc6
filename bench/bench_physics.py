"""Physics layer figures: translation drift, walking joint moments and GRF, streaming speed.

Run: OMP_NUM_THREADS=1 python bench/bench_physics.py [--clips N]
Ground-truth kinematics of held-out walking clips (dataset test split, or retargeted CMU walking trials).
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from fip_ros.core.body_model import body_dict
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.physics.clips import walking_clips
from fip_ros.physics.contact import contact_from_trajectory, lowest_sole, sole_points
from fip_ros.physics.dynamics import DynamicsEstimator, analyse
from fip_ros.physics.inverse_dynamics import GRAVITY
from fip_ros.physics.segments import build_segments
from fip_ros.physics.translation import estimate_translation

MASS = 73.0  # the reference participant of docs/physics.md (clips carry no mass)
# Joint, SMPL bodies (left, right), sign that turns the child-frame x moment into the named moment.
REPORTED = (("hip extension", (1, 2), 1.0), ("knee extension", (4, 5), -1.0),
            ("ankle plantarflexion", (7, 8), 1.0))
REFERENCE = {"hip extension": 0.51, "knee extension": 1.00, "ankle plantarflexion": 1.70}


def drift_per_10s(est: torch.Tensor, true: torch.Tensor, fps: float) -> float:
    """Mean horizontal error of the displacement over 10 s windows (shorter clips: whole clip, scaled)."""
    n = len(true)
    win = min(n - 1, int(10 * fps))
    errs = []
    for s in range(0, n - win, max(1, int(fps))):
        d_est, d_true = est[s + win] - est[s], true[s + win] - true[s]
        errs.append(float((d_est - d_true)[[0, 2]].norm()) * (10 * fps / win))
    return float(np.mean(errs))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--data", default=".cache/dataset", help="dataset (test-split walks)")
    ap.add_argument("--window", type=int, default=15, help="Savitzky-Golay window, frames")
    args = ap.parse_args(argv)
    torch.set_default_dtype(torch.float64)
    clips = walking_clips(args.clips, data=args.data)
    print(f"{len(clips)} walking clips: {', '.join(c.name for c in clips)}")
    drifts, dist, ratio, skate, grf_peaks, residuals = [], [], [], [], [], []
    peaks = {k[0]: [] for k in REPORTED}
    for clip in clips:
        body = body_dict(clip.body)
        off = torch.as_tensor(clip.offsets, dtype=torch.float64)
        rot = torch.as_tensor(clip.local_rot, dtype=torch.float64)
        tran = torch.as_tensor(clip.tran, dtype=torch.float64)
        _, rel = forward_kinematics(rot, off)
        root, _ = estimate_translation(rel, body["height"], clip.fps)
        drifts.append(drift_per_10s(root, tran, clip.fps))
        dist.append(float((tran[-1] - tran[0])[[0, 2]].norm()))
        ratio.append(float((root[-1] - root[0])[[0, 2]].norm()) / max(dist[-1], 1e-6))
        # How far the true lowest sole point itself slides (mocap/retargeting foot skate): anchoring's floor.
        _, pos = forward_kinematics(rot, off, tran)
        pts = sole_points(pos, body["height"])
        weights, _ = lowest_sole(pts)
        slide = (weights[1:, :, None] * (pts[1:] - pts[:-1])).sum(1)[:, [0, 2]].sum(0)
        skate.append(float(slide.norm()) * 10 * clip.fps / (len(pts) - 1))
        # Moments from ground-truth kinematics and contacts from the true foot trajectory.
        seg = build_segments(off, MASS, body["height"], body["sex"])
        _, contact, floor = contact_from_trajectory(pos, body["height"], clip.fps)
        out = analyse(rot, tran, contact, off, seg, clip.fps, args.window, floor=floor)
        inner = slice(10, -10)  # away from the clip ends, where the derivatives are one-sided
        for name, bodies, sign in REPORTED:
            m = sign * out["moments_local"][inner][:, list(bodies), 0] / MASS
            peaks[name].append(float(m.max()))
        grf_peaks.append(float(out["grf"][inner][..., 1].sum(-1).max()) / (MASS * GRAVITY))
        residuals.append(float(out["residual_force"][inner].norm(dim=-1).mean()) / (MASS * GRAVITY))
    print("\n## Translation by stance-foot anchoring (ground-truth pose, true pelvis path as reference)")
    print(f"drift: {np.mean(drifts):.3f} m per 10 s (per clip: {', '.join(f'{d:.3f}' for d in drifts)}); "
          f"clips walk {np.mean(dist):.2f} m on average over {np.mean([c.frames for c in clips]) / 60:.1f} s")
    print("anchored / true net distance per clip (1 = consistent): "
          + ", ".join(f"{c.name} {r:.2f}" for c, r in zip(clips, ratio, strict=True)))
    print(f"foot skate of the reference itself (net slide of the true lowest sole point): "
          f"{np.mean(skate):.3f} m per 10 s")
    print(f"\n## Walking joint moment peaks, N m/kg ({MASS:g} kg), mean over clips (reference, physics.md)")
    for name, vals in peaks.items():
        print(f"{name}: {np.mean(vals):.2f} (clips {', '.join(f'{v:.2f}' for v in vals)}; "
              f"reference {REFERENCE[name]:.2f}) = {np.mean(vals) * 100 / (GRAVITY * 1.73):.1f} BWBH%")
    print(f"vertical GRF peak: {np.mean(grf_peaks):.2f} BW (reference 1.17); "
          f"mean root residual force {100 * np.mean(residuals):.1f} % BW")

    est = DynamicsEstimator(dict(sex="male", height=1.73, mass=MASS))
    rot = torch.as_tensor(clips[0].local_rot, dtype=torch.float64)
    for r in rot[:20]:
        est.step(r)
    t0 = time.perf_counter()
    n = min(200, len(rot))
    for r in rot[:n]:
        est.step(r)
    print(f"\n## Streaming DynamicsEstimator.step: {1e3 * (time.perf_counter() - t0) / n:.2f} ms/frame "
          f"(1 thread), output delay {est.delay} frames")
    print(f"batched offline analyse: {bench_batch(clips[0]):.3f} ms/frame")
    print(f"RNEA vs pinocchio, max relative torque error on random q, v, a: {pinocchio_error()}")
    print("\ncommand: OMP_NUM_THREADS=1 python bench/bench_physics.py")


def bench_batch(clip) -> float:
    off = torch.as_tensor(clip.offsets, dtype=torch.float64)
    seg = build_segments(off, MASS, 1.73, "male")
    rot = torch.as_tensor(clip.local_rot, dtype=torch.float64)
    tran = torch.as_tensor(clip.tran, dtype=torch.float64)
    contact = torch.full((len(rot), 2), 0.5, dtype=torch.float64)
    t0 = time.perf_counter()
    analyse(rot, tran, contact, off, seg)
    return 1e3 * (time.perf_counter() - t0) / len(rot)


def pinocchio_error() -> str:
    import importlib.util

    import pytest

    path = Path(__file__).resolve().parents[1] / "test" / "test_physics_rnea.py"
    spec = importlib.util.spec_from_file_location("test_physics_rnea", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        return f"{module._max_rnea_error():.2e}"
    except pytest.skip.Exception:
        return "not measured (pinocchio missing: pip install pin)"


if __name__ == "__main__":
    main()
