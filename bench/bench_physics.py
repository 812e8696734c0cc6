"""Physics layer figures: translation drift, walking joint moments and GRF, streaming speed.

Run: OMP_NUM_THREADS=1 python bench/bench_physics.py [--weights W] [--sets cmu-iclone,cmu-daz] [--clips N]
     OMP_NUM_THREADS=1 python bench/bench_physics.py --gait-lab [--gait DIR] [--out out/gait_lab]
Held-out walking (dataset test split: CMU subject 07, cmu-iclone 007_xx and cmu-daz 07_xx reported apart),
each with the true kinematics and with FIP-estimated kinematics (synthesised IMUs -> ``--weights``).
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from fip_ros.core.body_model import body_dict
from fip_ros.core.gravity import GRAVITY
from fip_ros.core.imu_synthesis import sensor_local_offsets
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.smpl_tree import ROOT_SENSOR
from fip_ros.data.paths import DATASET_DIR
from fip_ros.evaluation.evaluate import gt_init_imu, run_fip
from fip_ros.finetune.clips import walking_clips
from fip_ros.physics.contact import contact_from_trajectory, lowest_sole, sole_points
from fip_ros.physics.dynamics_estimator import DynamicsEstimator, analyse
from fip_ros.physics.segments import build_segments
from fip_ros.physics.translation import estimate_translation
from fip_ros.physics.virtual_imu import carrier_acceleration

GAIT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "gait"
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


def fip_kinematics(model, clip) -> tuple[torch.Tensor, torch.Tensor]:
    """FIP's local rotations (T,24,3,3) by fip-eval's gt_init protocol (clean IMUs synthesised from the clip,
    first true frame as the initial pose), keeping the stencil frames so that frames line up with the clip;
    row 0 is the measured pelvis orientation. Also the root acceleration (T,3) from the pelvis sensor, as the
    live pose carries it."""
    f32 = torch.float32
    clip = clip.tensors(f32)
    acc, ori, init = gt_init_imu(clip, keep_stencil=True)
    root_acc = carrier_acceleration(acc[:, ROOT_SENSOR].double(), ori[:, ROOT_SENSOR].double(),
                                 sensor_local_offsets(clip.offsets.double())[ROOT_SENSOR])
    torch.set_default_dtype(f32)  # the network builds its state in the default dtype
    try:
        return run_fip(model, acc, ori, clip.body, init).double(), root_acc
    finally:
        torch.set_default_dtype(torch.float64)


def clip_figures(clip, rot, window: int, true_root: bool, root_acc=None) -> dict:
    """Drift, reference foot skate, moment / GRF peaks and residual of one clip for the pose ``rot``.

    true_root: the clip's own pelvis path and contacts from it (true kinematics, GRF from the momentum
    change); otherwise the root and the contacts come from stance-foot anchoring of ``rot`` alone and the GRF
    points at the centre of mass, as in the live node, with the root's acceleration ``root_acc`` (T,3) when
    given. Peaks with the other GRF direction go under 'other'."""
    body = body_dict(clip.body)
    off = torch.as_tensor(clip.offsets, dtype=torch.float64)
    tran = torch.as_tensor(clip.tran, dtype=torch.float64)
    _, rel = forward_kinematics(rot, off)
    anchored, _ = estimate_translation(rel, body["height"], clip.fps)
    dist = float((tran[-1] - tran[0])[[0, 2]].norm())
    fig = dict(drift=drift_per_10s(anchored, tran, clip.fps), dist=dist,
               ratio=float((anchored[-1] - anchored[0])[[0, 2]].norm()) / max(dist, 1e-6))
    root = tran if true_root else anchored
    _, pos = forward_kinematics(rot, off, root)
    # How far the lowest sole point slides (true kinematics: the mocap/retargeting's own foot skate).
    pts = sole_points(pos, body["height"])
    weights, _ = lowest_sole(pts)
    slide = (weights[1:, :, None] * (pts[1:] - pts[:-1])).sum(1)[:, [0, 2]].sum(0)
    fig["skate"] = float(slide.norm()) * 10 * clip.fps / (len(pts) - 1)
    seg = build_segments(off, MASS, body["height"], body["sex"])
    _, contact, floor = contact_from_trajectory(pos, body["height"], clip.fps)
    inner = slice(10, -10)  # away from the clip ends, where the derivatives are one-sided
    modes = ("momentum", "com") if true_root else ("com", "momentum")
    for mode in reversed(modes):  # the reported mode last: its output is kept
        out = analyse(rot, root, contact, off, seg, clip.fps, window, floor=floor, grf_direction=mode,
                      root_acc=root_acc)
        for name, bodies, sign in REPORTED:
            key = name if mode == modes[0] else f"other {name}"
            fig[key] = float((sign * out["moments_local"][inner][:, list(bodies), 0]).max()) / MASS
    # Sagittal moment curves of the reported mode in BWBH% (T, joint, side), for the FIP-vs-truth RMSD.
    curves = torch.stack([sign * out["moments_local"][inner][:, list(bodies), 0]
                          for _, bodies, sign in REPORTED], 1)
    fig["curves"] = curves * 100 / (MASS * GRAVITY * body["height"])
    fig["grf"] = float(out["grf"][inner][..., 1].sum(-1).max()) / (MASS * GRAVITY)
    fig["residual"] = float(out["residual_force"][inner].norm(dim=-1).mean()) / (MASS * GRAVITY)
    return fig


def report(title: str, clips, figs: list[dict], other: str, truth: list[dict] | None = None):
    mean = lambda k: float(np.mean([f[k] for f in figs]))  # noqa: E731
    secs = np.mean([c.frames for c in clips]) / clips[0].fps
    print(f"\n### {title}")
    print(f"drift {mean('drift'):.2f} m per 10 s (clips of {secs:.1f} s walking {mean('dist'):.2f} m); "
          f"anchored / true distance {mean('ratio'):.2f} (per clip "
          + ", ".join(f"{c.name} {f['ratio']:.2f}" for c, f in zip(clips, figs, strict=True)) + ")")
    print(f"lowest-sole slide {mean('skate'):.2f} m per 10 s")
    for name, _, _ in REPORTED:
        vals = [f[name] for f in figs]
        print(f"{name} peak {np.mean(vals):.2f} N m/kg = {np.mean(vals) * 100 / (GRAVITY * 1.73):.1f} BWBH% "
              f"(reference {REFERENCE[name]:.2f}; clips {min(vals):.2f}-{max(vals):.2f}, "
              f"median {np.median(vals):.2f})")
    print(f"vertical GRF peak {mean('grf'):.2f} BW (reference 1.17); mean root residual force "
          f"{100 * mean('residual'):.1f} % BW")
    print(f"({other} GRF direction instead: " + ", ".join(f"{name} {mean('other ' + name):.2f}"
                                                         for name, _, _ in REPORTED) + " N m/kg)")
    if truth is not None:  # the whole live pipeline against the offline analysis of the true kinematics
        err = torch.cat([(f["curves"] - t["curves"]) for f, t in zip(figs, truth, strict=True)])
        rmsd = err.square().mean((0, 2)).sqrt()
        print("moment curves vs true kinematics, RMSD over all frames (both sides): " + ", ".join(
            f"{name.split()[0]} {float(r):.1f}" for (name, _, _), r in zip(REPORTED, rmsd, strict=True))
              + f" BWBH% (mean {float(rmsd.mean()):.1f}; against this model on the true kinematics, "
              "not force plates)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=12, help="clips per set")
    ap.add_argument("--sets", default="cmu-iclone,cmu-daz", help="sources of the test-split walking")
    ap.add_argument("--data", default=str(DATASET_DIR), help="dataset (test-split walks)")
    ap.add_argument("--weights", default=None, help="FIP checkpoint (default: the shipped weights)")
    ap.add_argument("--window", type=int, default=15, help="Savitzky-Golay window, frames")
    ap.add_argument("--gait-lab", action="store_true", help="only the gait-lab validation (one line + plots)")
    ap.add_argument("--gait", default=str(GAIT), help="the shared gait-lab data (../shared/data/gait)")
    ap.add_argument("--out", default="out/gait_lab", help="folder for the gait-lab plots")
    args = ap.parse_args(argv)
    if args.gait_lab:
        return gait_lab(args.gait, args.weights, Path(args.out))
    from fip_ros.api import default_weights_path, load_model

    weights = args.weights or default_weights_path()
    model = load_model(weights) if Path(weights).is_file() else None  # float32, built before the switch
    torch.set_default_dtype(torch.float64)
    print(f"FIP weights: {weights if model else 'none (FIP rows skipped)'}; body mass {MASS:g} kg; "
          "moment peaks: mean over clips of each clip's peak (left or right)")
    clips = []
    for source in args.sets.split(","):
        clips = walking_clips(args.clips, data=args.data, source=source)
        names = ", ".join(f"{c.source}/{c.name} ({c.subject})" for c in clips)
        print(f"\n## {source}: {len(clips)} held-out walking clips: {names}")
        truth = [clip_figures(c, torch.as_tensor(c.local_rot, dtype=torch.float64), args.window, True)
                 for c in clips]
        report("true kinematics (clip pose and pelvis path, GRF from the momentum change; drift: anchoring "
               "of the true pose)", clips, truth, "CoM-directed")
        if model is not None:
            fip = [fip_kinematics(model, c) for c in clips]
            report(f"FIP-estimated kinematics ({Path(weights).name}; root and contacts by anchoring, "
                   "CoM-directed GRF, root acceleration from the pelvis sensor, as in the node)", clips,
                   [clip_figures(c, rot, args.window, False, acc)
                    for c, (rot, acc) in zip(clips, fip, strict=True)],
                   "momentum", truth)
            report("the same without the pelvis sensor's acceleration (the anchored path's)", clips,
                   [clip_figures(c, rot, args.window, False) for c, (rot, _) in zip(clips, fip, strict=True)],
                   "momentum", truth)

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
    print("\ncommand: OMP_NUM_THREADS=1 python bench/bench_physics.py"
          + (f" --weights {args.weights}" if args.weights else ""))


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


def gait_lab(data, weights, out: Path):
    """The gait-lab validation (fip_ros.physics.gait_lab): one summary line, plots of every curve."""
    from fip_ros.api import load_model
    from fip_ros.physics import gait_lab as gl

    if not (Path(data) / gl.WALK).is_dir():
        print(f"gait lab: no gait-lab data at {data} (the shared ../shared/data/gait); nothing measured")
        return
    trial = gl.load_walk(data)
    model = load_model(weights)
    runs = {"bottom-up": gl.bottom_up(trial), "top-down true kinematics": gl.top_down(trial),
            "top-down FIP": gl.top_down(trial, local_rot=gl.fip_pose(trial, model))}
    sag = lambda r: "/".join(f"{r['rmsd'][n][1]:.2f}" for n in gl.SAGITTAL)  # noqa: E731
    print(f"gait lab: bottom-up RMSD hip/knee/ankle {sag(runs['bottom-up'])} BWBH%; top-down true kinematics "
          f"{sag(runs['top-down true kinematics'])} BWBH%; top-down FIP {sag(runs['top-down FIP'])} BWBH%; "
          f"vGRF RMSD {runs['top-down true kinematics']['grf_rmsd']['vertical']:.3f} BW")
    runs["running top-down true kinematics"] = gl.top_down(gl.load_run(data))
    write_gait_plots(runs, out)


def write_gait_plots(runs: dict, out: Path):
    """One figure per run: every reported moment (left, right) against OpenSim's; GRF against the plates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fip_ros.physics import gait_lab as gl

    out.mkdir(parents=True, exist_ok=True)
    for label, r in runs.items():
        rows = list(gl.REPORTED.items()) if "reference" in r else []
        extra = 2 if "grf" in r else 0
        fig, axes = plt.subplots(len(rows) + extra, 2, figsize=(10, 2.2 * (len(rows) + extra)), sharex=True)
        for i, (name, sides) in enumerate(rows):
            for k, c in enumerate(sides):
                ax = axes[i, k]
                ax.plot(r["time"], r["reference"][c], "k", label="OpenSim")
                ax.plot(r["time"], r["ours"][c], "r", label="fip_ros")
                ax.set_title(f"{c} (RMSD {r['rmsd'][name][1]:.2f} BWBH% both sides)", fontsize=8)
                ax.set_ylabel("N m")
        if extra:
            for i, (axis, name) in enumerate(((1, "vertical"), (0, "anterior"))):
                for k, side in enumerate(("left", "right")):
                    ax = axes[len(rows) + i, k]
                    ax.plot(r["time"], r["plates"][:, k, axis] / r["weight"], "k", label="force plate")
                    ax.plot(r["time"], r["grf"][:, k, axis] / r["weight"], "r", label="fip_ros")
                    rmsd = r["grf_rmsd"][name]
                    ax.set_title(f"{side} {name} GRF (RMSD {rmsd:.3f} BW both sides)", fontsize=8)
                    ax.set_ylabel("BW")
        axes[0, 0].legend(fontsize=7)
        for ax in axes[-1]:
            ax.set_xlabel("time (s)")
        fig.suptitle(f"gait lab: {label}")
        fig.tight_layout()
        fig.savefig(out / f"{label.replace(' ', '_')}.png", dpi=90)
        plt.close(fig)


if __name__ == "__main__":
    main()
