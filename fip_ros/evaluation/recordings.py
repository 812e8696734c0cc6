"""Scores FIP on real IMU recordings (``fip-eval --dip / --totalcapture / --raw``).

- DIP-IMU (``--dip ROOT``): the published test subjects ``s_09`` and ``s_10`` (every ``.pkl`` in them), read
  by ``fip_ros.data.dip_imu.load_dip`` (DIP's calibrated acc/ori, NaNs filled, 6 frames trimmed each end).
- TotalCapture in DIP's format (``--totalcapture DIR``): every ``.pkl`` below DIR
  (``fip_ros.data.totalcapture.load_totalcapture``).
Both follow the published protocol (TransPose/PIP, fip_ros.core.metrics): the first true frame as the
initial pose, SIP / Ang / Pos on the reference skeleton, Mesh with the SMPL mean shape when ``--smpl`` is
given, Jitter. The recordings carry no body measurements: the reference skeleton is the SMPL mean shape
(``--smpl``), else that of ``--body``, else the default skeleton at ``DEFAULT_HEIGHT``; the body input is
``--body`` or else the reference skeleton's measurements (male code, as for SMPL's neutral model).
- Raw recordings (``--raw FILE.npz``): any recording with a reference pose, as six REP 145 streams plus a
  calibration window, run through ``fip_ros.api.Model.predict_raw`` as a live user would (the calibration
  pose is the initial pose); only the frames after the calibration window are scored. Keys (``RAW_KEYS``):
  ``raw_acc`` (T, 6, 3) specific force in the sensor frame, m/s^2; ``raw_ori`` (T, 6, 4) quaternions x, y, z,
  w of the sensor in the device world (z up) or (T, 6, 3, 3); ``pose`` (T, 72) reference SMPL local
  rotations, axis-angle; optional ``calib`` [start, stop) frames of the still calibration pose (default
  [0, 60)), ``calib_pose`` 'tpose' | 'npose', ``fps`` (default 60), ``sex``, ``height``, ``arm_length``,
  ``leg_length`` (else ``--body``), ``tran`` (T, 3) the reference root (pelvis) position, m, in the frame of
  ``pose`` (y up). Sensor order: left forearm, right forearm, left lower leg, right lower leg, head, pelvis.
  Read without pickle. A recording at another rate (``RAW_FPS_RANGE``) is resampled to the network's 60 Hz
  first (``resample_raw``; ``calib`` counts frames at ``fps``). With ``tran`` the estimated root translation
  (``out['translation']``) is scored too, as ``fip_ros.evaluation.translation`` scores clips: both paths from
  the first frame after the calibration window, the estimate turned about the vertical by the heading
  between the estimated and the reference pelvis there (the device world and the reference's need not share
  a heading).
"""

import json
from pathlib import Path

import numpy as np
import torch

from fip_ros.api import Model
from fip_ros.core.body_model import (
    body_vector,
    body_vector_from_offsets,
    default_offsets,
    measure_offsets,
    offsets_for_body,
)
from fip_ros.core.kinematics import root_relative_rot15
from fip_ros.core.metrics import scalars, sequence_errors, summarize
from fip_ros.core.resample import resample, resample_times
from fip_ros.core.rotations import axis_angle_to_matrix, quat_to_matrix
from fip_ros.core.translation import heading_rotation
from fip_ros.data.dip_imu import load_dip
from fip_ros.data.totalcapture import load_totalcapture
from fip_ros.evaluation.evaluate import run_fip
from fip_ros.evaluation.translation import clip_metrics, summarise

DIP_TEST_SUBJECTS = ("s_09", "s_10")
DEFAULT_HEIGHT = 1.75
RAW_KEYS = ("raw_acc", "raw_ori", "pose")
RAW_FPS = 60  # Hz, the network's rate, which raw recordings are resampled to
RAW_FPS_RANGE = (20.0, 1000.0)  # Hz, the rates a raw recording may have
DEFAULT_CALIB = (0, 60)


def dip_test_files(root) -> list[Path]:
    """The ``.pkl`` sequences of DIP-IMU's published test subjects under ``root``."""
    files = sorted(p for s in DIP_TEST_SUBJECTS for p in (Path(root) / s).glob("*.pkl"))
    if not files:
        raise FileNotFoundError(f"no DIP-IMU test sequences under {root} (expected "
                                f"{'/*.pkl, '.join(DIP_TEST_SUBJECTS)}/*.pkl)")
    return files


def totalcapture_files(root) -> list[Path]:
    files = sorted(Path(root).rglob("*.pkl"))
    if not files:
        raise FileNotFoundError(f"no TotalCapture .pkl files under {root}")
    return files


def default_body() -> dict:
    """The default skeleton's measurements at DEFAULT_HEIGHT (male)."""
    m = measure_offsets(default_offsets(DEFAULT_HEIGHT, "male").double())
    return {"sex": "male", **{k: float(v) for k, v in m.items()}}


def reference_skeleton(smpl_dir=None, body: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(offsets (24, 3), body vector (4,)) of the protocol (module doc)."""
    if smpl_dir:
        from fip_ros.core.smpl_model import SmplBody  # SMPL files are licensed separately and usually absent

        offsets = SmplBody(smpl_dir, "neutral").offsets(None).double()
        offsets[0] = 0.0
    else:
        offsets = offsets_for_body(body or default_body()).double()
    return offsets, body_vector(body) if body else body_vector_from_offsets(offsets, "male").float()


def score_calibrated(model: Model, seq: dict, offsets: torch.Tensor, body: torch.Tensor,
                     smpl_dir=None) -> dict:
    """sequence_errors of one calibrated sequence (loader dict) with its first true frame as initial pose."""
    truth = torch.as_tensor(seq["local_rot"], dtype=torch.float64)
    acc = torch.as_tensor(seq["acc"], dtype=torch.float32)
    ori = torch.as_tensor(seq["ori"], dtype=torch.float32)
    pred = run_fip(model, acc, ori, body.float(), root_relative_rot15(truth[0]).float())
    return sequence_errors(pred, truth, offsets, smpl_model_dir=smpl_dir)


def load_raw(path) -> dict:
    """A raw recording ``.npz`` (module doc) -> dict(raw_acc, raw_ori (T,6,3,3), truth (T,24,3,3), calib
    slice, calib_pose, body or None). ValueError with the reason if it does not fit."""
    with np.load(path, allow_pickle=False) as z:
        missing = [k for k in RAW_KEYS if k not in z]
        if missing:
            raise ValueError(f"{path}: missing {', '.join(missing)} (a raw recording has "
                             f"{', '.join(RAW_KEYS)})")
        d = {k: z[k] for k in z.files}
    try:
        fps = float(d.get("fps", RAW_FPS))
    except (TypeError, ValueError):
        fps = float("nan")
    if not RAW_FPS_RANGE[0] <= fps <= RAW_FPS_RANGE[1]:
        raise ValueError(f"{path}: fps must be a rate of {RAW_FPS_RANGE[0]:g}-{RAW_FPS_RANGE[1]:g} Hz, "
                         f"got {d['fps']}")
    t = len(d["raw_acc"])
    raw_ori = np.asarray(d["raw_ori"], np.float64)
    if raw_ori.shape == (t, 6, 4):
        raw_ori = quat_to_matrix(torch.from_numpy(raw_ori)).numpy()
    pose = np.asarray(d["pose"], np.float64)
    if (d["raw_acc"].shape != (t, 6, 3) or raw_ori.shape != (t, 6, 3, 3)
            or pose.reshape(len(pose), -1).shape != (t, 72)):
        raise ValueError(f"{path}: expected raw_acc (T,6,3), raw_ori (T,6,4) or (T,6,3,3) and pose (T,72) "
                         "with the same T")
    if not np.isfinite(pose).all():
        raise ValueError(f"{path}: non-finite reference pose")
    start, stop = (int(v) for v in d.get("calib", DEFAULT_CALIB))
    if not 0 <= start < stop < t:
        raise ValueError(f"{path}: calibration window [{start}, {stop}) must lie inside the {t} frames "
                         "and leave frames to score")
    body = None
    if all(k in d for k in ("sex", "height", "arm_length", "leg_length")):
        body = {"sex": str(d["sex"]), **{k: float(d[k]) for k in ("height", "arm_length", "leg_length")}}
    tran = None
    if "tran" in d:
        tran = np.asarray(d["tran"], np.float64)
        if tran.shape != (t, 3) or not np.isfinite(tran).all():
            raise ValueError(f"{path}: tran must be finite (T, 3) root positions with the streams' T = {t}, "
                             f"got {tran.shape}")
    truth = axis_angle_to_matrix(torch.from_numpy(pose.reshape(t, 24, 3))).numpy()
    rec = dict(raw_acc=np.asarray(d["raw_acc"], np.float64), raw_ori=raw_ori, truth=truth,
               calib=slice(start, stop), calib_pose=str(d.get("calib_pose", "tpose")), body=body, tran=tran)
    if fps == RAW_FPS:
        return rec
    try:
        return resample_raw(rec, fps)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def resample_raw(rec: dict, fps: float) -> dict:
    """A load_raw recording at ``fps`` -> the same at RAW_FPS: sensor orientations and the reference pose
    slerped, accelerations and ``tran`` interpolated linearly (``fip_ros.core.resample``: an integer rate
    ratio keeps every n-th frame, as the live estimator thins faster sensors); the calibration window keeps
    the frames whose times lie in it."""
    t = len(rec["raw_acc"])
    ori, acc = resample(rec["raw_ori"], rec["raw_acc"].reshape(t, 18), fps, RAW_FPS)
    tran = rec["tran"] if rec["tran"] is not None else np.zeros((t, 3))
    truth, tran = resample(rec["truth"], tran, fps, RAW_FPS)
    times = resample_times(t, fps, RAW_FPS)  # each new frame's time in source frames
    c = rec["calib"]
    inside = np.flatnonzero((times >= c.start) & (times <= c.stop - 1))
    if len(inside) == 0 or inside[-1] + 1 >= len(times):
        raise ValueError(f"at {RAW_FPS} Hz the calibration window [{c.start}, {c.stop}) of {fps:g} Hz frames "
                         "holds no frame or leaves none to score")
    return dict(rec, raw_acc=acc.reshape(-1, 6, 3), raw_ori=ori, truth=truth,
                tran=tran if rec["tran"] is not None else None,
                calib=slice(int(inside[0]), int(inside[-1]) + 1))


def score_raw(model: Model, rec: dict, body: dict | None, smpl_dir=None) -> tuple[dict, dict | None]:
    """(sequence_errors, translation metrics or None) of one raw recording (load_raw) scored after its
    calibration window, the pose on the skeleton of its body (the recording's own, else ``body``, else
    default_body()), the root path as ``raw_translation`` scores it."""
    body = rec["body"] or body or default_body()
    out = model.predict_raw(rec["raw_acc"].astype(np.float32), rec["raw_ori"].astype(np.float32), body,
                            calib_slice=rec["calib"], pose=rec["calib_pose"])
    skip = rec["calib"].stop
    offsets = offsets_for_body(body).double()
    errors = sequence_errors(torch.from_numpy(out["rotations"][skip:]).double(),
                             torch.from_numpy(rec["truth"][skip:]), offsets, smpl_model_dir=smpl_dir)
    return errors, raw_translation(out, rec)


def raw_translation(out: dict, rec: dict) -> dict | None:
    """``clip_metrics`` of ``out['translation']`` against the recording's ``tran`` from the first frame after
    the calibration window, the estimate turned about the vertical by the heading from the estimated pelvis
    (``out['rotations']``, joint 0) to the reference one there; None without ``tran``."""
    if rec["tran"] is None:
        return None
    s = rec["calib"].stop
    turn = heading_rotation(rec["truth"][s, 0]) @ heading_rotation(np.asarray(out["rotations"][s, 0],
                                                                              np.float64)).T
    est = (np.asarray(out["translation"][s:], np.float64) - out["translation"][s]) @ turn.T
    return clip_metrics(rec["tran"][s:] - rec["tran"][s], est, float(RAW_FPS))


def evaluate_recordings(model: Model, dip=None, totalcapture=None, raw=(), body: dict | None = None,
                        smpl_dir=None, out_dir=None) -> dict:
    """{set: {"overall": summary, "sequences": {name: summary}}} for the sets given, and
    ``raw_translation`` likewise for the raw recordings with a reference ``tran``; writes
    ``OUT/recordings.json``."""
    torch.set_num_threads(1)
    results = {"settings": {"protocol": "first true frame as initial pose (DIP, TotalCapture); calibration "
                                        "pose for raw recordings", "smpl": smpl_dir is not None,
                            "body": body}}
    sets = {}
    if dip or totalcapture:
        offsets, vec = reference_skeleton(smpl_dir, body)
        results["settings"]["reference_measurements"] = {k: float(v)
                                                         for k, v in measure_offsets(offsets).items()}
    if dip:
        sets["dip_imu"] = {f"{p.parent.name}/{p.stem}": score_calibrated(model, load_dip(p), offsets, vec,
                                                                         smpl_dir)
                           for p in dip_test_files(dip)}
    if totalcapture:
        sets["totalcapture"] = {p.stem: score_calibrated(model, load_totalcapture(p), offsets, vec, smpl_dir)
                                for p in totalcapture_files(totalcapture)}
    if raw:
        scored = {Path(p).stem: score_raw(model, load_raw(p), body, smpl_dir) for p in raw}
        sets["raw"] = {name: errors for name, (errors, _) in scored.items()}
        paths = {name: path for name, (_, path) in scored.items() if path is not None}
        if paths:
            results["raw_translation"] = {"overall": summarise(list(paths.values())), "sequences": paths}
    for name, per_seq in sets.items():
        results[name] = {"overall": scalars(summarize(list(per_seq.values())), keep=("per_arm_elevation",)),
                         "sequences": {k: scalars(summarize([v])) for k, v in per_seq.items()}}
    if out_dir:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "recordings.json").write_text(json.dumps(results, indent=1, default=float))
    return results
