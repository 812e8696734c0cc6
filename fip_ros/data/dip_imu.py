"""DIP-IMU loader (user-supplied ``.pkl`` per sequence, Python 2 pickles; data-formats.md).

Assumption (as in DIP, TransPose, PIP, FIP): DIP's ``imu_acc``/``imu_ori`` are already calibrated, i.e.
sensor orientations are bone orientations in the global SMPL frame (identity in the T-pose) and
accelerations are free accelerations in that frame with gravity removed, m/s^2. They are used as such
(docs/CONTRACTS.md calibrated IMU data); no calibration is estimated here. 60 Hz, no translation.
"""

from pathlib import Path

import numpy as np
import torch

from fip_ros.core import safe_pickle
from fip_ros.core.rotations import axis_angle_to_matrix

DIP_SENSORS = [7, 8, 11, 12, 0, 2]  # DIP's 17 sites -> left/right forearm, left/right lower leg, head, pelvis
DIP_FPS = 60.0


def read_pickle(path) -> dict:
    """A (Python 2) pickle of numpy arrays; no code runs from it (``fip_ros.core.safe_pickle``)."""
    data = safe_pickle.load(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a dict of arrays, got {type(data).__name__}")
    return data


def _nearest_valid(valid: np.ndarray) -> np.ndarray:
    """For each frame, the index of the nearest valid frame (valid: (T,) bool, at least one True)."""
    good = np.flatnonzero(valid)
    # The fractional rank of each frame among the valid ones, rounded, is the nearest valid frame's rank.
    return good[np.rint(np.interp(np.arange(len(valid)), good, np.arange(len(good)))).astype(int)]


def fill_nan(acc: np.ndarray, ori: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaN frames per sensor: acc (T,S,3) linearly between valid neighbours (held at the ends),
    ori (T,S,3,3) from the nearest valid frame. ValueError if a sensor has no valid frame."""
    acc, ori = acc.copy(), ori.copy()
    t = np.arange(len(acc))
    for s in range(acc.shape[1]):
        ok_acc = np.isfinite(acc[:, s]).all(-1)
        ok_ori = np.isfinite(ori[:, s]).all((-2, -1))
        if not ok_acc.any() or not ok_ori.any():
            raise ValueError(f"sensor {s} has no valid frame")
        for k in range(3):
            acc[:, s, k] = np.interp(t, t[ok_acc], acc[ok_acc, s, k])
        ori[:, s] = ori[_nearest_valid(ok_ori), s]
    return acc, ori


def assemble(acc, ori, gt, trim: int) -> dict:
    """Six-sensor arrays in FIP order + SMPL axis-angle (T,72) -> the loader dict (NaN filled, trimmed)."""
    acc = np.asarray(acc, np.float64)
    ori = np.asarray(ori, np.float64).reshape(len(acc), -1, 3, 3)
    gt = np.asarray(gt, np.float64).reshape(len(acc), 24, 3)
    if not np.isfinite(gt).all():
        raise ValueError("non-finite ground-truth pose")
    acc, ori = fill_nan(acc, ori)
    sl = slice(trim, len(acc) - trim)
    if sl.stop - sl.start < 1:
        raise ValueError(f"{len(acc)} frames, nothing left after trimming {trim} at each end")
    local_rot = axis_angle_to_matrix(torch.from_numpy(gt[sl])).numpy()
    return dict(acc=acc[sl], ori=ori[sl], local_rot=local_rot, fps=DIP_FPS)


def load_dip(path, trim: int = 6) -> dict:
    """DIP-IMU ``.pkl`` -> dict(acc (T,6,3), ori (T,6,3,3), local_rot (T,24,3,3), fps=60), calibrated SMPL
    frame (module doc); ``trim`` frames dropped at each end (DIP practice: the ends are unreliable)."""
    data = read_pickle(path)
    return assemble(np.asarray(data["imu_acc"])[:, DIP_SENSORS], np.asarray(data["imu_ori"])[:, DIP_SENSORS],
                    data["gt"], trim)


def subject_of(path) -> str:
    """DIP subject folder (``s_01``..``s_10``; test subjects are s_09 and s_10), else the parent's name."""
    return Path(path).parent.name
