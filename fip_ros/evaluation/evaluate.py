"""Scores FIP weights and baselines on held-out clips with synthesised IMUs (the library of ``fip-eval``).

Two start-up modes, both reported:
- ``tpose_start`` (how a live user starts): a synthetic 0.5 s held T-pose and a 0.5 s blend are put in front
  of each clip; the model runs through the offline API (``fip_ros.api.Model.predict``, init_pose None = the
  T-pose); only the clip's own frames are scored.
- ``gt_init`` (the paper's protocol): the initial pose is the clip's first true frame.
Methods: ``fip`` (true body), ``fip_avg_body`` (training-average measurements), ``fip_zero_body`` (all-zero
body input), ``static_tpose`` (T-pose held) and, with --no-shape-weights, ``fip_no_shape`` (a model trained
without shape input, given the true body through the same API path). These are scored on clean synthetic
IMUs (``overall``). Three extra conditions, in ``tpose_start`` mode only (``EXTRA_MODES``: keeps the run
cheap):
- ``overall_corrupted``: the FIP methods on IMUs corrupted with ``TEST_CORRUPTION``, seeded per clip.
- ``overall_error_terms``: ``fip`` with each ``TEST_CORRUPTION`` term alone (``error_terms``).
- ``overall_shape``: every clip rescaled to the ``SHAPE_BODIES`` (short, tall), IMUs synthesised from the
  rescaled motion; ``fip`` gets the rescaled body's true measurements, ``fip_avg_body`` the training average.
Writes ``DIR/results.json``, ``DIR/*.png`` and, with --report, the markdown report.
"""

import json
import zlib
from dataclasses import asdict, replace
from pathlib import Path

import torch

from fip_ros.api import Model, init_pose_from
from fip_ros.core.body_model import body_dict, body_vector_from_offsets, validate_body
from fip_ros.core.calibration import calibration_pose_local_rot
from fip_ros.core.imu_synthesis import STENCIL, ImuCorruption, corrupt, synthesize
from fip_ros.core.kinematics import root_relative_rot15
from fip_ros.core.metrics import scalars, sequence_errors, summarize
from fip_ros.data.motion import Clip
from fip_ros.evaluation import CONDITIONS, baselines, plots
from fip_ros.fip.checkpoint import load_checkpoint
from fip_ros.training import dataset as ds
from fip_ros.training.augment import lead_in, rescale_body

MODES = ("tpose_start", "gt_init")
METHODS = ("fip", "fip_avg_body", "fip_zero_body", "static_tpose")
NO_SHAPE = "fip_no_shape"  # only present with --no-shape-weights
CALIB_HOLD, CALIB_BLEND = 30, 30  # frames, as in training (AugmentConfig)
EXTRA_MODES = ("tpose_start",)  # start-up mode of the corrupted and shape conditions (live use)

# Test-time sensor errors: fixed, and 1.5-2.5 times training's TRAIN_CORRUPTION (fip_ros.training.train), so
# the score shows robustness beyond what the network saw. Each magnitude and its source (datasheets, IMU
# mocap studies, engineering estimates where none is published): docs/data.md "Sensor error model".
TEST_CORRUPTION = ImuCorruption(acc_noise_std=0.2, acc_bias_std=0.1, acc_bias_walk_std=0.002,
                                ori_noise_deg=1.0, heading_error_deg=5.0, mount_rot_deg=5.0,
                                mount_pos_m=0.02, drop_prob=0.005, heading_walk_deg=1.0,
                                calib_pose_deg=(8.0, 8.0, 3.0, 3.0, 4.0, 2.0))
# Bodies every test clip is rescaled to (augment.rescale_body): arm and leg bones times the factor, then the
# skeleton to the height. Near the ends of training's range (AugmentConfig: 1.50-1.95 m, limbs 0.92-1.08),
# where the average body is most wrong, so the gap between true and average measurements is largest.
SHAPE_BODIES = {"short": {"height": 1.55, "arm_scale": 0.94, "leg_scale": 0.94},
                "tall": {"height": 1.92, "arm_scale": 1.06, "leg_scale": 1.06}}


def with_calibration_prefix(clip: Clip, pose: str = "tpose"):
    """(local_rot, tran) with CALIB_HOLD + CALIB_BLEND frames of calibration pose prepended to the clip."""
    start = torch.as_tensor(calibration_pose_local_rot(pose))
    return lead_in(clip.local_rot, clip.tran, start, CALIB_HOLD, CALIB_BLEND)


@torch.no_grad()
def run_fip(model: Model, acc, ori, body: torch.Tensor, init15: torch.Tensor | None) -> torch.Tensor:
    """(T, 24, 3, 3) predicted local rotations; plausible bodies go through the public API."""
    try:
        body_arg = validate_body(body_dict(body))
    except ValueError:  # the zero-body probe: the API refuses implausible bodies, call the network directly
        return model.fip(acc[None], ori[None], body[None], init_pose_from(init15))["local_rot"][0]
    return torch.as_tensor(model.predict(acc.numpy(), ori.numpy(), body_arg, init_pose=init15)["rotations"])


def clip_generator(name: str) -> torch.Generator:
    """The same random numbers for a clip on every run and machine (crc32 of its name, not Python's hash)."""
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


def corrupted_imu(acc, ori, name: str, cfg: ImuCorruption = TEST_CORRUPTION):
    """``cfg`` applied to clean (T, 6, ...) IMUs of clip ``name``, seeded by the clip (clip_generator)."""
    return corrupt(acc, ori, cfg, clip_generator(name))


def rescaled_clip(clip: Clip, height: float, arm_scale: float = 1.0, leg_scale: float = 1.0) -> Clip:
    """The clip's motion on its skeleton rescaled as the training augmentation does; the body vector is
    measured from the new skeleton (same sex)."""
    offsets, tran = rescale_body(clip.offsets, clip.tran, height, arm_scale, leg_scale)
    return replace(clip, offsets=offsets, tran=tran, body=body_vector_from_offsets(offsets, clip.body[0]))


def gt_init_imu(clip: Clip, keep_stencil: bool = False):
    """(acc, ori, init15) of the gt_init protocol: clean IMUs synthesised from the clip and its first true
    frame as the initial pose. The STENCIL frames at each end are cropped (the frames the truth is scored
    on) unless ``keep_stencil``: then the frames line up with the clip's (the physics bench)."""
    margin = 0 if keep_stencil else STENCIL
    imu = synthesize(clip.local_rot, clip.offsets, clip.tran, fps=60, stencil=STENCIL)
    frames = slice(margin, clip.frames - margin)
    return imu["acc"][frames], imu["ori"][frames], root_relative_rot15(clip.local_rot[margin])


def clip_imu(clip: Clip, mode: str):
    """(acc (T', 6, 3), ori (T', 6, 3, 3), init15 or None, frames to skip) of a clip in a start-up mode."""
    if mode == "gt_init":
        return (*gt_init_imu(clip), 0)
    rot, tran = with_calibration_prefix(clip)
    acc, ori = ds.imu_from_motion(rot[None], clip.offsets[None], tran[None])
    return acc[0], ori[0], None, CALIB_HOLD + CALIB_BLEND


def score_runs(runs: dict, acc, ori, init, skip: int, clip: Clip, smpl_dir=None) -> dict:
    """{method: sequence_errors} for runs {method: (Model, body)} on one IMU sequence of ``clip``."""
    truth = clip.local_rot[STENCIL:-STENCIL]
    return {m: sequence_errors(run_fip(model, acc, ori, body, init)[skip:], truth, clip.offsets,
                               smpl_model_dir=smpl_dir)
            for m, (model, body) in runs.items()}


def fip_runs(model: Model, clip: Clip, mean_body: torch.Tensor, no_shape: Model | None = None,
             zero_body: bool = True) -> dict:
    """{method: (Model, body)} of the FIP methods for one clip."""
    runs = {"fip": (model, clip.body), "fip_avg_body": (model, baselines.average_body(clip.body, mean_body))}
    if zero_body:
        runs["fip_zero_body"] = (model, baselines.zero_body(clip.body))
    if no_shape is not None:
        runs[NO_SHAPE] = (no_shape, clip.body)  # the body goes in as for fip; the network replaces it
    return runs


def evaluate_clip(model: Model, clip: Clip, mean_body: torch.Tensor, imus: dict, smpl_dir=None,
                  no_shape: Model | None = None) -> dict:
    """{mode: {method: sequence_errors}} for one clip on clean IMUs ``imus`` {mode: clip_imu(clip, mode)}."""
    truth = clip.local_rot[STENCIL:-STENCIL]
    runs = fip_runs(model, clip, mean_body, no_shape)
    out = {}
    for mode in MODES:
        res = score_runs(runs, *imus[mode], clip, smpl_dir)
        res["static_tpose"] = sequence_errors(baselines.static_pose(truth), truth, clip.offsets,
                                              smpl_model_dir=smpl_dir)
        out[mode] = res
    return out


def evaluate_clip_corrupted(model: Model, clip: Clip, mean_body: torch.Tensor, imus: dict, smpl_dir=None,
                            no_shape: Model | None = None) -> dict:
    """{mode: {method: sequence_errors}} of the FIP methods on the clean IMUs ``imus`` {mode: clip_imu(clip,
    mode)} corrupted with TEST_CORRUPTION, modes EXTRA_MODES."""
    runs = fip_runs(model, clip, mean_body, no_shape)
    out = {}
    for mode in EXTRA_MODES:
        acc, ori, init, skip = imus[mode]
        out[mode] = score_runs(runs, *corrupted_imu(acc, ori, clip.name), init, skip, clip, smpl_dir)
    return out


def error_terms(cfg: ImuCorruption = TEST_CORRUPTION) -> dict:
    """{field: ``cfg`` with only that error term left} for each error term ``cfg`` sets."""
    clean = ImuCorruption()
    return {name: replace(clean, **{name: getattr(cfg, name)}) for name in ImuCorruption.error_terms()
            if getattr(cfg, name) != getattr(clean, name)}


def evaluate_clip_error_terms(model: Model, clip: Clip, imus: dict, smpl_dir=None) -> dict:
    """{term: sequence_errors} of FIP (true body, T-pose start-up) with each TEST_CORRUPTION term alone, on
    the clean IMUs ``imus`` {mode: clip_imu(clip, mode)}: which sensor error costs how much."""
    acc, ori, init, skip = imus[EXTRA_MODES[0]]
    runs = {"fip": (model, clip.body)}
    return {term: score_runs(runs, *corrupted_imu(acc, ori, clip.name, cfg), init, skip, clip,
                             smpl_dir)["fip"] for term, cfg in error_terms().items()}


def evaluate_clip_shape(model: Model, clip: Clip, mean_body: torch.Tensor, smpl_dir=None,
                        no_shape: Model | None = None) -> dict:
    """{body: {mode: {method: sequence_errors}}}: the clip rescaled to each of SHAPE_BODIES, scored on the
    rescaled skeleton; no zero-body probe (it says nothing about shape)."""
    out = {}
    for name, target in SHAPE_BODIES.items():
        scaled = rescaled_clip(clip, **target)
        runs = fip_runs(model, scaled, mean_body, no_shape, zero_body=False)
        out[name] = {mode: score_runs(runs, *clip_imu(scaled, mode), scaled, smpl_dir)
                     for mode in EXTRA_MODES}
    return out


def _summaries(per_clip: dict, methods) -> dict:
    """{method: summary over clips} of per_clip {clip: {method: sequence_errors}}."""
    return {m: summarize([res[m] for res in per_clip.values()]) for m in methods}


def evaluate(weights, data, split="test", out_dir=None, smpl_dir=None, max_clips=None, no_shape_weights=None,
             conditions=CONDITIONS, mirror_average: bool | None = None) -> dict:
    """fip-eval on a dataset split; ``mirror_average`` False scores the plain network."""
    torch.set_num_threads(1)
    fip, meta = load_checkpoint(weights, mirror_average=mirror_average)
    model = Model(fip, meta)
    no_shape = (Model(*load_checkpoint(no_shape_weights, mirror_average=mirror_average)) if no_shape_weights
                else None)
    methods = (*METHODS[:-1], NO_SHAPE, METHODS[-1]) if no_shape else METHODS  # static baseline last
    clips = ds.load_split(data, split)[:max_clips]
    try:
        mean_body = torch.stack([c.body for c in ds.load_split(data, "train")]).mean(0)
    except (KeyError, FileNotFoundError):  # no training split beside the test split: use the test subjects
        mean_body = torch.stack([c.body for c in clips]).mean(0)
    per_clip, corrupted, terms = {}, {}, {}
    for c in clips:  # each clip's clean IMUs synthesised once, for both the clean and corrupted conditions
        imus = {mode: clip_imu(c, mode) for mode in MODES}
        per_clip[c.name] = evaluate_clip(model, c, mean_body, imus, smpl_dir, no_shape)
        if "corrupted" in conditions:
            corrupted[c.name] = evaluate_clip_corrupted(model, c, mean_body, imus, smpl_dir, no_shape)
        if "error_terms" in conditions:
            terms[c.name] = evaluate_clip_error_terms(model, c, imus, smpl_dir)
    results = {"settings": {"weights": str(weights), "data": str(data), "split": split, "clips": len(clips),
                            "frames": sum(c.frames - 2 * STENCIL for c in clips),
                            "imu": "clean synthetic (fip_ros.core.imu_synthesis)",
                            "mesh_error": "computed" if smpl_dir else "omitted (no SMPL model files given)",
                            "calibration_prefix_frames": [CALIB_HOLD, CALIB_BLEND],
                            "clip_files": [p.name for p in ds.clip_paths(data, split)][:max_clips],
                            "weights_metadata": meta, "mirror_average": fip.cfg.mirror_average},
               "overall": {}, "per_clip": {}}
    if no_shape:
        results["settings"]["no_shape_weights"] = str(no_shape_weights)
    for mode in MODES:
        results["overall"][mode] = _summaries({c: r[mode] for c, r in per_clip.items()}, methods)
        results["per_clip"][mode] = {c: {m: scalars(summarize([per_clip[c][mode][m]])) for m in methods}
                                     for c in per_clip}
    if {"corrupted", "error_terms"} & set(conditions):
        results["settings"]["test_corruption"] = asdict(TEST_CORRUPTION)
    if "corrupted" in conditions:
        results["overall_corrupted"] = {
            mode: _summaries({c: r[mode] for c, r in corrupted.items()}, corrupted[clips[0].name][mode])
            for mode in EXTRA_MODES}
    if "error_terms" in conditions:
        results["overall_error_terms"] = {EXTRA_MODES[0]: _summaries(terms, error_terms())}
    if "shape" in conditions:
        shaped = {c.name: evaluate_clip_shape(model, c, mean_body, smpl_dir, no_shape) for c in clips}
        results["settings"]["shape_bodies"] = SHAPE_BODIES
        results["overall_shape"] = {
            body: {mode: _summaries({c: r[body][mode] for c, r in shaped.items()},
                                    shaped[clips[0].name][body][mode])
                   for mode in EXTRA_MODES}
            for body in SHAPE_BODIES}
    if out_dir:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=str))
        write_plots(per_clip, results, out_dir)
    return results


def write_plots(per_clip: dict, results: dict, out_dir: Path, n_clips: int = 3):
    for stale in out_dir.glob("time_*.png"):  # the report lists every plot here: drop other runs' clips
        stale.unlink()
    for name in list(per_clip)[:n_clips]:
        series = {f"{m} ({mode})": per_clip[name][mode][m]["pos_cm"] for mode in MODES for m in ("fip",)}
        series["static_tpose"] = per_clip[name]["gt_init"]["static_tpose"]["pos_cm"]
        plots.error_over_time(series, out_dir / f"time_{name}.png", f"position error over time: {name}")
    for key, label in (("per_joint_angle_deg", "global angle error (deg)"),
                       ("per_joint_pos_cm", "position error (cm)")):
        for mode in MODES:
            overall = results["overall"][mode]
            bars = {m: s[key] for m, s in overall.items() if key in s}
            plots.per_joint_bars(bars, out_dir / f"{key}_{mode}.png", f"{label}, {mode}", label)
