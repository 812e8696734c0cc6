"""Resampling of rotation and translation sequences: one slerp / lerp at fractional frame times, used to
bring clips to 60 Hz (``resample``) and to replay them at another speed (``resample_at``, augmentation).

An integer rate ratio (120 -> 60 Hz) keeps every n-th frame exactly; any other rate interpolates at the new
frame times (same clip duration, first frame kept). ``ease_into`` builds the lead-in from a held calibration
pose into a clip and ``prepend_lead_in`` puts it before the clip (training starts, fip-eval's T-pose start,
replayed clips).
"""

import math

import numpy as np
import torch

from fip_ros.core.rotations import slerp


def resample_times(n: int, fps: float, target_fps: float) -> np.ndarray:
    """Fractional source frame indices of the target frames."""
    duration = (n - 1) / fps
    return np.arange(int(np.floor(duration * target_fps + 1e-6)) + 1) * (fps / target_fps)


def resample_at(local_rot: torch.Tensor, tran: torch.Tensor, t: torch.Tensor):
    """local_rot (T, J, 3, 3), tran (T, 3) at the fractional frame indices ``t`` (N,) (clamped to the last
    frame) -> (N, J, 3, 3), (N, 3): rotations slerped, translations linearly interpolated."""
    t = t.to(torch.float64).clamp(max=local_rot.shape[0] - 1)
    i0 = t.floor().long()
    i1 = (i0 + 1).clamp(max=local_rot.shape[0] - 1)
    w = (t - i0).to(local_rot.dtype)
    rot = slerp(local_rot[i0], local_rot[i1], w[:, None].expand(-1, local_rot.shape[1]))
    return rot, tran[i0] + w[:, None] * (tran[i1] - tran[i0])


def resample(rot: np.ndarray, trans: np.ndarray, fps: float, target_fps: float = 60.0):
    """rot (T, J, 3, 3), trans (T, 3) NumPy at ``fps`` -> the same at ``target_fps``."""
    ratio = fps / target_fps
    if abs(ratio - round(ratio)) < 1e-3 and round(ratio) >= 1:
        step = int(round(ratio))
        return rot[::step].copy(), trans[::step].copy()
    t = torch.from_numpy(resample_times(len(rot), fps, target_fps))
    out_rot, out_tran = resample_at(torch.from_numpy(np.ascontiguousarray(rot)),
                                    torch.from_numpy(np.ascontiguousarray(trans)), t)
    return out_rot.numpy(), out_tran.numpy()


def ease_into(start: torch.Tensor, target: torch.Tensor, hold: int, blend: int) -> torch.Tensor:
    """(hold + blend, J, 3, 3) local rotations: ``start`` (J, 3, 3) held for ``hold`` frames, then eased
    (cosine in and out) toward ``target`` over ``blend`` frames, the frame after them being ``target``
    itself: how a person moves from a held calibration pose into a motion."""
    w = torch.zeros(hold + blend, dtype=start.dtype)
    ramp = torch.arange(1, blend + 1, dtype=start.dtype) / (blend + 1)
    w[hold:] = 0.5 - 0.5 * torch.cos(math.pi * ramp)
    n, joints = hold + blend, start.shape[0]
    return slerp(start.expand(n, -1, -1, -1), target.to(start.dtype).expand(n, -1, -1, -1),
                 w[:, None].expand(-1, joints))


def prepend_lead_in(local_rot: torch.Tensor, tran: torch.Tensor, calib: torch.Tensor, hold: int, blend: int):
    """(local_rot, tran) with ``hold + blend`` frames before the clip: ``calib`` (J, 3, 3) held, then eased
    into the clip's first frame (``ease_into``), the pelvis standing where the clip starts."""
    n = hold + blend
    rot = torch.cat([ease_into(calib.to(local_rot.dtype), local_rot[0], hold, blend), local_rot])
    return rot, torch.cat([tran[:1].expand(n, -1), tran])
