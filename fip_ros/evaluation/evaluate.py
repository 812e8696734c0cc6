"""fip-eval: score FIP weights and baselines on held-out clips with synthesised IMUs.

Two start-up modes, both reported:
- ``tpose_start`` (how a live user starts): a synthetic 0.5 s held T-pose and a 0.5 s blend are put in front
  of each clip; the model runs through the offline API (``fip_ros.api.Model.predict``, init_pose None = the
  T-pose); only the clip's own frames are scored.
- ``gt_init`` (the paper's protocol): the initial pose is the clip's first true frame.
Methods: ``fip`` (true body), ``fip_avg_body`` (training-average measurements), ``fip_zero_body`` (all-zero
body input) and ``static_tpose`` (T-pose held). IMUs are clean synthetic (no corruption).
Writes ``DIR/results.json``, ``DIR/*.png`` and, with --report, the markdown report.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from fip_ros.api import Model, default_weights_path, init_pose_from
from fip_ros.core.body_model import body_dict, validate_body
from fip_ros.core.calibration import calibration_pose_local_rot
from fip_ros.evaluation import baselines, plots
from fip_ros.evaluation.metrics import sequence_errors, summarize
from fip_ros.fip.checkpoint import load_checkpoint
from fip_ros.training import dataset as ds
from fip_ros.training.augment import prepend_calibration
from fip_ros.training.dataset import STENCIL, Clip

MODES = ("tpose_start", "gt_init")
METHODS = ("fip", "fip_avg_body", "fip_zero_body", "static_tpose")
CALIB_HOLD, CALIB_BLEND = 30, 30  # frames, as in training (AugmentConfig)


def with_calibration_prefix(clip: Clip, pose: str = "tpose"):
    """(local_rot, tran) with CALIB_HOLD + CALIB_BLEND frames of calibration pose prepended to the clip."""
    n = CALIB_HOLD + CALIB_BLEND
    rot = torch.cat([clip.local_rot[:1].expand(n, -1, -1, -1), clip.local_rot])
    tran = torch.cat([clip.tran[:1].expand(n, -1), clip.tran])
    return prepend_calibration(rot, tran, calibration_pose_local_rot(pose), CALIB_HOLD, CALIB_BLEND)


@torch.no_grad()
def run_fip(model: Model, acc, ori, body: torch.Tensor, init15: torch.Tensor | None) -> torch.Tensor:
    """(T, 24, 3, 3) predicted local rotations; plausible bodies go through the public API."""
    try:
        body_arg = validate_body(body_dict(body))
    except ValueError:  # the zero-body probe: the API refuses implausible bodies, call the network directly
        return model.fip(acc[None], ori[None], body[None], init_pose_from(init15))["local_rot"][0]
    return torch.as_tensor(model.predict(acc.numpy(), ori.numpy(), body_arg, init_pose=init15)["rotations"])


def evaluate_clip(model: Model, clip: Clip, mean_body: torch.Tensor, smpl_dir=None) -> dict:
    """{mode: {method: sequence_errors}} for one clip."""
    truth = clip.local_rot[STENCIL:-STENCIL]
    bodies = {"fip": clip.body, "fip_avg_body": baselines.average_body(clip.body, mean_body),
              "fip_zero_body": baselines.zero_body(clip.body)}
    out = {}
    for mode in MODES:
        if mode == "gt_init":
            acc, ori = ds.imu_from_motion(clip.local_rot[None], clip.offsets[None], clip.tran[None])
            init, skip = ds.root_relative_rot15(truth[0]), 0
        else:
            rot, tran = with_calibration_prefix(clip)
            acc, ori = ds.imu_from_motion(rot[None], clip.offsets[None], tran[None])
            init, skip = None, CALIB_HOLD + CALIB_BLEND
        res = {}
        for method, body in bodies.items():
            pred = run_fip(model, acc[0], ori[0], body, init)[skip:]
            res[method] = sequence_errors(pred, truth, clip.offsets, smpl_model_dir=smpl_dir)
        res["static_tpose"] = sequence_errors(baselines.static_pose(truth), truth, clip.offsets,
                                              smpl_model_dir=smpl_dir)
        out[mode] = res
    return out


def _scalars(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if not k.startswith("per_joint")}


def evaluate(weights, data, split="test", out_dir=None, smpl_dir=None, max_clips=None) -> dict:
    torch.set_num_threads(1)
    fip, meta = load_checkpoint(weights)
    model = Model(fip, meta)
    clips = ds.load_split(data, split)[:max_clips]
    try:
        mean_body = torch.stack([c.body for c in ds.load_split(data, "train")]).mean(0)
    except (KeyError, FileNotFoundError):  # no training split beside the test split: use the test subjects
        mean_body = torch.stack([c.body for c in clips]).mean(0)
    per_clip = {c.name: evaluate_clip(model, c, mean_body, smpl_dir) for c in clips}
    results = {"settings": {"weights": str(weights), "data": str(data), "split": split, "clips": len(clips),
                            "frames": sum(c.frames - 2 * STENCIL for c in clips),
                            "imu": "clean synthetic (fip_ros.core.imu_synthesis)",
                            "mesh_error": "computed" if smpl_dir else "omitted (no SMPL model files given)",
                            "calibration_prefix_frames": [CALIB_HOLD, CALIB_BLEND],
                            "clip_files": [p.name for p in ds.clip_paths(data, split)][:max_clips],
                            "weights_metadata": meta},
               "overall": {}, "per_clip": {}}
    for mode in MODES:
        results["overall"][mode] = {m: summarize([per_clip[c][mode][m] for c in per_clip]) for m in METHODS}
        results["per_clip"][mode] = {c: {m: _scalars(summarize([per_clip[c][mode][m]])) for m in METHODS}
                                     for c in per_clip}
    if out_dir:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=str))
        write_plots(per_clip, results, out_dir)
    return results


def write_plots(per_clip: dict, results: dict, out_dir: Path, n_clips: int = 3):
    for name in list(per_clip)[:n_clips]:
        series = {f"{m} ({mode})": per_clip[name][mode][m]["pos_cm"] for mode in MODES for m in ("fip",)}
        series["static_tpose"] = per_clip[name]["gt_init"]["static_tpose"]["pos_cm"]
        plots.error_over_time(series, out_dir / f"time_{name}.png", f"position error over time: {name}")
    for key, label in (("per_joint_angle_deg", "global angle error (deg)"),
                       ("per_joint_pos_cm", "position error (cm)")):
        for mode in MODES:
            overall = results["overall"][mode]
            bars = {m: overall[m][key] for m in METHODS if key in overall[m]}
            plots.per_joint_bars(bars, out_dir / f"{key}_{mode}.png", f"{label}, {mode}", label)


def main(argv=None):
    p = argparse.ArgumentParser(prog="fip-eval", description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None, help="checkpoint (default: the shipped fip_default.pt)")
    p.add_argument("--data", default=".cache/dataset")
    p.add_argument("--split", default="test")
    p.add_argument("--out", required=True, help="output folder for results.json and plots")
    p.add_argument("--smpl", default=None, help="SMPL model folder: adds the mesh error")
    p.add_argument("--max-clips", type=int, default=None)
    p.add_argument("--report", default=None, help="also render the markdown report to this path")
    a = p.parse_args(argv)
    weights = a.weights or default_weights_path()
    t0 = time.time()
    res = evaluate(weights, a.data, a.split, a.out, a.smpl, a.max_clips)
    for mode in MODES:
        for m in METHODS:
            s = res["overall"][mode][m]
            print(f"{mode:12s} {m:14s} SIP {s['sip_deg']:6.2f}  ang24 {s['angle24_deg']:6.2f}  "
                  f"ang15 {s['angle15_deg']:6.2f}  pos {s['pos_cm']:6.2f} cm  "
                  f"jitter {s['jitter_km_s3']:6.3f} km/s^3")
    print(f"{res['settings']['clips']} clips, {res['settings']['frames']} frames in {time.time() - t0:.0f} s")
    if a.report:
        from fip_ros.evaluation.report import write_report

        cmd = "fip-eval " + " ".join(sys.argv[1:] if argv is None else argv)
        write_report(res, a.report, command=cmd, figure_dir=a.out)


if __name__ == "__main__":
    main()
