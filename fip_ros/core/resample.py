"""Resampling of rotation and translation sequences to a target rate (60 Hz by default).

An integer ratio (120 -> 60 Hz) keeps every n-th frame exactly; any other rate slerps the rotations and
linearly interpolates the translations at the new frame times (same clip duration, first frame kept).
"""

import numpy as np
import torch

from fip_ros.core.rotations import matrix_to_quat, quat_to_matrix


def _slerp(q0: np.ndarray, q1: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Quaternion slerp, q (..., 4), weights w broadcast against q[..., :1]."""
    dot = np.sum(q0 * q1, -1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)  # shortest arc
    dot = np.abs(dot).clip(max=1.0)
    theta = np.arccos(dot)
    sin = np.sin(theta)
    small = sin < 1e-6
    a = np.where(small, 1.0 - w, np.sin((1.0 - w) * theta) / np.where(small, 1.0, sin))
    b = np.where(small, w, np.sin(w * theta) / np.where(small, 1.0, sin))
    q = a * q0 + b * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def resample_times(n: int, fps: float, target_fps: float) -> np.ndarray:
    """Fractional source frame indices of the target frames."""
    duration = (n - 1) / fps
    return np.arange(int(np.floor(duration * target_fps + 1e-6)) + 1) * (fps / target_fps)


def resample(rot: np.ndarray, trans: np.ndarray, fps: float, target_fps: float = 60.0):
    """rot (T, J, 3, 3), trans (T, 3) at ``fps`` -> the same at ``target_fps``."""
    ratio = fps / target_fps
    if abs(ratio - round(ratio)) < 1e-3 and round(ratio) >= 1:
        step = int(round(ratio))
        return rot[::step].copy(), trans[::step].copy()
    t = resample_times(len(rot), fps, target_fps)
    i0 = np.floor(t).astype(int).clip(0, len(rot) - 1)
    i1 = (i0 + 1).clip(max=len(rot) - 1)
    w = (t - i0)[:, None]
    q = matrix_to_quat(torch.from_numpy(np.ascontiguousarray(rot))).numpy()
    qr = _slerp(q[i0], q[i1], w[:, None])
    out_rot = quat_to_matrix(torch.from_numpy(qr)).numpy()
    return out_rot, (1.0 - w) * trans[i0] + w * trans[i1]
