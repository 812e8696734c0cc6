"""Motion-level augmentation of one training window (torch, before IMU synthesis).

Everything here changes the motion or the body *before* IMUs are synthesised, so the accelerations and
orientations the network sees stay physically consistent with the augmented pose and skeleton.
"""

import math
from dataclasses import dataclass

import torch

from fip_ros.core.body_model import measure_offsets, sex_bone_factors
from fip_ros.core.resample import prepend_lead_in, resample_at
from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.core.smpl_tree import MIRROR

# Bone groups scaled by the body-shape augmentation (joint ids whose parent offset is scaled).
LEG_BONES = (4, 5, 7, 8, 10, 11)        # knees, ankles, feet: thigh and shank lengths
ARM_BONES = (18, 19, 20, 21, 22, 23)    # elbows, wrists, hands: upper arm and forearm lengths


@dataclass(frozen=True)
class AugmentConfig:
    speed: tuple = (0.8, 1.2)           # playback speed factor range
    mirror_p: float = 0.5
    height: tuple = (1.50, 1.95)        # target body height range, m (adult range)
    limb_scale: tuple = (0.92, 1.08)    # extra arm / leg length factors on top of the height scale
    female_p: float = 0.5               # share of windows given a woman's body (de Leva proportions)
    calib_start_p: float = 0.3          # share of windows that start from a held calibration pose
    calib_poses: tuple = ("tpose", "npose")  # calibration poses a live user may start from (equally likely)
    calib_hold: int = 30                # 0.5 s held still at 60 Hz
    calib_blend: int = 30               # 0.5 s blend from the calibration pose into the motion
    init_noise_deg: float = 3.0         # initial-pose noise (a live system never knows its start exactly)
    # Raised arms are rare in the motion capture (and the model's weakest pose): each upper arm is raised
    # by an extra angle in this share of windows, toward the side, the front or between (raise_arm).
    arm_raise_p: float = 0.25
    arm_raise_deg: tuple = (20.0, 90.0)


def _uniform(lo_hi, g: torch.Generator) -> float:
    lo, hi = lo_hi
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def at_speed(local_rot: torch.Tensor, tran: torch.Tensor, factor: float, length: int, start: float = 0.0):
    """``length`` frames played ``factor`` times faster from fractional frame ``start`` (slerp / lerp)."""
    return resample_at(local_rot, tran, start + factor * torch.arange(length, dtype=torch.float64))


_REFLECT_X = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))


def mirror(local_rot: torch.Tensor, tran: torch.Tensor, offsets: torch.Tensor):
    """Reflect the motion through the body's sagittal plane (x -> -x) and swap left and right joints."""
    m = _REFLECT_X.to(local_rot.dtype)
    idx = list(MIRROR)
    return m @ local_rot[:, idx] @ m, tran * m.diagonal(), offsets[idx] * m.diagonal()


def rescale_body(offsets: torch.Tensor, tran: torch.Tensor, height: float, arm_scale: float = 1.0,
                 leg_scale: float = 1.0, sex_from: float | None = None, sex_to: float | None = None):
    """Scale arm and leg bones by the given factors, then the whole skeleton to ``height`` (m).

    ``sex_from``/``sex_to`` (codes, female 0, male 1): first change each bone by the ratio of the two sexes'
    de Leva proportions (``body_model.sex_bone_factors``), so the skeleton fits the new sex code.
    The pelvis trajectory scales with the leg length (pelvis height and stride both follow it).
    Returns (offsets, tran). Deterministic; ``scale_body`` draws its arguments at random.
    """
    out = offsets.clone()
    if sex_to is not None and sex_to != sex_from:
        codes = torch.tensor([sex_from, sex_to], dtype=torch.float64)
        factors = sex_bone_factors(codes)
        out = out * (factors[1] / factors[0]).to(out.dtype)[:, None]
    out[list(LEG_BONES)] *= leg_scale
    out[list(ARM_BONES)] *= arm_scale
    out = out * (height / measure_offsets(out)["height"])
    return out, tran * (measure_offsets(out)["leg_length"] / measure_offsets(offsets)["leg_length"])


def scale_body(offsets: torch.Tensor, tran: torch.Tensor, cfg: AugmentConfig, g: torch.Generator,
               sex: float = 1.0):
    """Give the skeleton (of sex code ``sex``) a random sex, arm / leg proportions and adult height.

    Returns (offsets, tran, sex code) with the offsets and tran of ``rescale_body``.
    """
    # drawn in this order (leg, arm, height, sex) so that a seed gives the same sizes as before sex was drawn
    leg = _uniform(cfg.limb_scale, g)
    arm = _uniform(cfg.limb_scale, g)
    height = _uniform(cfg.height, g)
    new_sex = 0.0 if float(torch.rand((), generator=g)) < cfg.female_p else 1.0
    return (*rescale_body(offsets, tran, height, arm, leg, float(sex), new_sex), new_sex)


ARMS = ((16, 18, 1.0), (17, 19, -1.0))  # shoulder, elbow, side (+1: the arm along +x in the T-pose)
MAX_ELEVATION_DEG = 170.0  # no raise beyond this (from hanging); an arm cannot pass over the head


def raise_arm(local_rot: torch.Tensor, offsets: torch.Tensor, arm: int, angle_deg: float,
              forward: float) -> torch.Tensor:
    """``local_rot`` (T, 24, 3, 3) with upper arm ``arm`` (0 left, 1 right) raised by ``angle_deg`` more in
    every frame, capped at MAX_ELEVATION_DEG, in its collar's frame (y up, z forward).

    Each frame turns the arm toward straight up along the great circle through it; an arm hanging straight
    down, which has no such circle, goes toward the side (``forward`` 0), the front (1) or between. The
    motion keeps its timing, so the IMU signals synthesised from it stay consistent."""
    shoulder, elbow, side = ARMS[arm]
    rot = local_rot.clone()
    bone = offsets[elbow] / offsets[elbow].norm()
    d = rot[:, shoulder] @ bone.to(rot.dtype)  # (T, 3) upper arm in the collar frame
    up = torch.tensor([0.0, 1.0, 0.0], dtype=rot.dtype)
    phi = forward * math.pi / 2
    toward = torch.tensor([side * math.cos(phi), 0.0, math.sin(phi)], dtype=rot.dtype)
    axis = torch.linalg.cross(d, up.expand_as(d)) + 0.2 * torch.linalg.cross(toward, up)
    axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    elevation = torch.acos((-d[:, 1]).clamp(-1.0, 1.0))
    turn = (elevation + math.radians(angle_deg)).clamp(max=math.radians(MAX_ELEVATION_DEG)) - elevation
    rot[:, shoulder] = axis_angle_to_matrix(axis * turn.clamp_min(0.0)[:, None]) @ rot[:, shoulder]
    return rot


def raise_arms(local_rot: torch.Tensor, offsets: torch.Tensor, cfg: AugmentConfig, g: torch.Generator):
    """Each upper arm raised (``raise_arm``) with probability ``cfg.arm_raise_p`` by a random angle in
    ``cfg.arm_raise_deg`` toward a random direction between the side and the front."""
    for arm in range(len(ARMS)):
        if float(torch.rand((), generator=g)) < cfg.arm_raise_p:
            angle = _uniform(cfg.arm_raise_deg, g)
            local_rot = raise_arm(local_rot, offsets, arm, angle, float(torch.rand((), generator=g)))
    return local_rot


def _heading(rot: torch.Tensor) -> torch.Tensor:
    """Rotation about y (up) with the same heading as ``rot`` (3, 3)."""
    yaw = torch.atan2(rot[0, 2], rot[2, 2])
    return axis_angle_to_matrix(torch.stack([yaw * 0, yaw, yaw * 0]))


def lead_in(local_rot: torch.Tensor, tran: torch.Tensor, calib_local: torch.Tensor, hold: int, blend: int):
    """The clip with a calibration lead-in of ``hold + blend`` frames before it: the subject holds
    ``calib_local`` (24, 3, 3; root rotation replaced by the heading of the motion) at the pelvis position of
    the first motion frame, then blends smoothly (ease in/out) into the motion, as a person does when they
    start recording from a T-pose."""
    calib = calib_local.to(local_rot.dtype).clone()
    calib[0] = _heading(local_rot[0, 0])
    return prepend_lead_in(local_rot, tran, calib, hold, blend)


def prepend_calibration(local_rot: torch.Tensor, tran: torch.Tensor, calib_local: torch.Tensor,
                        hold: int, blend: int):
    """``lead_in`` in place of the first ``hold + blend`` frames: the window length is unchanged."""
    n = hold + blend
    return lead_in(local_rot[n:], tran[n:], calib_local, hold, blend)
