"""Recordings for the replay driver and the bag converter, as raw REP 145 sensor streams (ROS-free).

A recording (motion clip, DIP-IMU or TotalCapture) gives calibrated data in the SMPL frame (``acc`` free
acceleration, ``ori`` bone orientation, docs/CONTRACTS.md). A still T-pose segment is put in front (a
motion clip then eases into its first frame; ``load_calibrated``), then
``fip_ros.core.imu_synthesis.simulate_raw`` turns it into what real sensors report (device world heading,
sensor mounting, gravity), so the estimator has to calibrate exactly as with real sensors. Output per
sample, in sensor order: orientation of the sensor in its device world frame (ENU, z up) as xyzw, specific
force in the sensor frame (+g up at rest), angular velocity in the sensor frame from orientation
differences.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fip_ros.core.body_model import body_dict
from fip_ros.core.calibration import calibration_pose_local_rot
from fip_ros.core.imu_synthesis import simulate_raw, synthesize
from fip_ros.core.resample import prepend_lead_in
from fip_ros.core.smpl_tree import SENSOR_NAMES
from fip_ros.data.dip_imu import load_dip
from fip_ros.data.motion import Motion
from fip_ros.data.totalcapture import load_totalcapture
from fip_ros.ros.conversions import body_angular_velocity, quat_from_matrix, vec_smpl_to_ros
from fip_ros.ros.formats import FORMATS

BLEND_SECONDS = 0.5  # from the T-pose into a motion clip's first frame (as training's calib_blend)


@dataclass
class Recording:
    fps: float
    quat: np.ndarray  # (T, 6, 4) xyzw, sensor -> device world (ENU)
    gyro: np.ndarray  # (T, 6, 3) rad/s, sensor frame
    acc: np.ndarray  # (T, 6, 3) m/s^2 specific force, sensor frame
    gt_local_rot: np.ndarray | None = None  # (T, 24, 3, 3) SMPL local rotations
    gt_tran: np.ndarray | None = None  # (T, 3) pelvis position, ROS world frame (REP 103), m
    sites: tuple = SENSOR_NAMES
    tpose_frames: int = 0  # the still T-pose in front (the calibration window) ...
    lead_frames: int = 0  # ... and every frame before the recording proper (T-pose, then the blend into it)
    body: dict | None = None  # the recorded person's measurements (fip_ros.core.body_model), when known

    def __len__(self):
        return self.quat.shape[0]


def detect_format(path: Path) -> str:
    if path.suffix == ".npz":
        return "clip"
    if path.suffix == ".pkl":
        return "totalcapture" if "totalcapture" in str(path).lower() else "dip"
    raise ValueError(f"cannot tell the format of {path}: expected a clip .npz or a DIP-format .pkl")


def load_calibrated(path: Path, fmt: str, tpose_seconds: float = 0.0) -> dict:
    """-> dict(fps, acc (T,6,3), ori (T,6,3,3), local_rot (T,24,3,3), tran (T,3) | None, body, lead), SMPL
    frame, with ``lead`` frames in front of the recording: ``tpose`` frames (``tpose_seconds``) of a still
    T-pose facing +z (the direction the calibration takes as forward), then, for a motion clip,
    ``BLEND_SECONDS`` easing into its first frame (turning to its heading on the way; the clip keeps its
    world, so the estimate and the ground truth share one), the IMUs synthesised through both (as a person
    starts from the T-pose; fip-eval's start-up protocol does the same). A DIP-format recording has only its
    IMUs, so its T-pose is put in the calibrated space (bones at identity, no acceleration) and the recording
    follows at once."""
    if fmt == "clip":
        clip = Motion.load_npz(path)
        local_rot = torch.as_tensor(clip.local_rot, dtype=torch.float64)
        tran = torch.as_tensor(clip.tran, dtype=torch.float64)
        n = int(round(tpose_seconds * clip.fps))
        blend = int(round(BLEND_SECONDS * clip.fps)) if n else 0
        lead = n + blend
        if lead:
            tpose = torch.as_tensor(calibration_pose_local_rot("tpose"))
            local_rot, tran = prepend_lead_in(local_rot, tran, tpose, n, blend)
        imu = synthesize(local_rot, torch.as_tensor(clip.offsets, dtype=torch.float64), tran, fps=clip.fps)
        return dict(fps=clip.fps, acc=imu["acc"].numpy(), ori=imu["ori"].numpy(), local_rot=local_rot.numpy(),
                    tran=tran.numpy(), body=body_dict(clip.body), tpose=n, lead=lead)
    if fmt not in ("dip", "totalcapture"):
        raise ValueError(f"unknown recording format {fmt!r}; expected one of {FORMATS}")
    seq = load_totalcapture(path) if fmt == "totalcapture" else load_dip(path)  # their default trims
    fps = 60.0  # DIP's and TotalCapture's rate
    n = int(round(tpose_seconds * fps))
    return dict(fps=fps, acc=np.concatenate([np.zeros((n, 6, 3)), np.asarray(seq["acc"], float)]),
                ori=np.concatenate([np.broadcast_to(np.eye(3), (n, 6, 3, 3)), np.asarray(seq["ori"], float)]),
                local_rot=np.concatenate([np.broadcast_to(np.eye(3), (n, 24, 3, 3)),
                                          np.asarray(seq["local_rot"], float)]),
                tran=None, body=None, tpose=n, lead=n)


def load_recording(path, fmt: str = "auto", tpose_seconds: float = 3.0, seed: int = 0,
                   heading_deg: float = 30.0, mount_error_deg: float = 30.0) -> Recording:
    """Load ``path`` with ``tpose_seconds`` of still T-pose in front (``load_calibrated``) and simulate its
    raw sensor streams: random sensor mountings (``mount_error_deg`` from the body's REP 103 axes, seeded)
    and a device world turned by ``heading_deg`` about z."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recording {path} not found")
    fmt = detect_format(path) if fmt == "auto" else fmt
    cal = load_calibrated(path, fmt, tpose_seconds)
    fps, acc, ori, local_rot, tran = cal["fps"], cal["acc"], cal["ori"], cal["local_rot"], cal["tran"]
    gen = torch.Generator().manual_seed(seed)
    raw_ori, raw_acc = simulate_raw(torch.as_tensor(acc), torch.as_tensor(ori), generator=gen,
                                    mount_error_deg=mount_error_deg, heading_deg=heading_deg)
    rot = raw_ori.numpy()
    return Recording(fps=fps, quat=quat_from_matrix(rot), gyro=body_angular_velocity(rot, fps),
                     acc=raw_acc.numpy(), gt_local_rot=local_rot,
                     gt_tran=None if tran is None else vec_smpl_to_ros(tran), tpose_frames=cal["tpose"],
                     lead_frames=cal["lead"], body=cal["body"])
