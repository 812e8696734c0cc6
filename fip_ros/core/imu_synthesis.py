"""Virtual IMUs from motion: sensor sites, global free acceleration, bone orientations, training corruption.

Torch, batched over leading dimensions, differentiable. Output convention (docs/CONTRACTS.md): ``acc``
(..., T, 6, 3) global free acceleration (gravity removed), ``ori`` (..., T, 6, 3, 3) global rotation of the
carrying bone.
"""

from dataclasses import dataclass, fields, replace

import numpy as np
import torch

from fip_ros.core.body_model import measure_offsets
from fip_ros.core.frames import M_SMPL_TO_ROS
from fip_ros.core.gravity import free_acceleration, specific_force  # noqa: F401  (re-exported helpers)
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.rotations import axis_angle_to_matrix, random_rotation
from fip_ros.core.smpl_tree import ROOT_SENSOR, SENSOR_JOINTS
from fip_ros.core.so3 import yaw_rotation

# Sensor sites, in sensor order: (child joint of the carrying bone or -1, fraction of the way from the
# carrying joint to that child, surface offset in the carrying joint's frame in metres for a 1.75 m body).
# Forearms: back of the forearm 80 % towards the wrist (palms face down in T-pose, so the back is +y).
# Lower legs: on the shin just below the knee. Head: forehead. Pelvis: lower back (sacrum).
# Frames each side of the acceleration stencil (second difference over +-STENCIL frames); clips and windows
# carry this margin while synthesising.
STENCIL = 4

SENSOR_SITES = (
    (20, 0.8, (0.0, 0.03, 0.0)),
    (21, 0.8, (0.0, 0.03, 0.0)),
    (7, 0.15, (0.0, 0.0, 0.05)),
    (8, 0.15, (0.0, 0.0, 0.05)),
    (-1, 0.0, (0.0, 0.07, 0.08)),
    (-1, 0.0, (0.0, 0.02, -0.10)),
)
_REFERENCE_HEIGHT = 1.75


def sensor_local_offsets(offsets: torch.Tensor) -> torch.Tensor:
    """(..., 24, 3) skeleton -> (..., 6, 3) sensor sites in their carrying joints' frames (T-pose axes).

    The along-bone part follows the bone; the surface part scales with the body height.
    """
    scale = (measure_offsets(offsets)["height"] / _REFERENCE_HEIGHT)[..., None]
    sites = []
    for child, fraction, surface in SENSOR_SITES:
        site = torch.tensor(surface, dtype=offsets.dtype, device=offsets.device) * scale
        if child >= 0:
            site = site + fraction * offsets[..., child, :]
        sites.append(site)
    return torch.stack(sites, -2)


def sensor_positions(global_rot: torch.Tensor, joint_pos: torch.Tensor, offsets: torch.Tensor):
    """Global rot (..., T, 24, 3, 3), joints (..., T, 24, 3), skeleton (..., 24, 3) -> (..., T, 6, 3)"""
    local = sensor_local_offsets(offsets)[..., None, :, :, None]  # (..., 1, 6, 3, 1)
    rot = global_rot[..., SENSOR_JOINTS, :, :]
    return joint_pos[..., SENSOR_JOINTS, :] + (rot @ local)[..., 0]


def finite_acceleration(pos: torch.Tensor, fps: float = 60.0, stencil: int = STENCIL, dim: int = -3):
    """Second difference ``(p[t+n] + p[t-n] - 2 p[t]) / (n dt)^2`` along the time axis ``dim``.

    The first and last n frames, which lack a neighbour, repeat the nearest valid value. Sequences shorter
    than 2n + 1 frames use the widest stencil that fits; fewer than 3 frames give zeros.
    """
    dim = dim % pos.dim()
    length = pos.shape[dim]
    n = min(stencil, (length - 1) // 2)
    if n < 1:
        return torch.zeros_like(pos)
    valid = length - 2 * n
    acc = pos.narrow(dim, 2 * n, valid) + pos.narrow(dim, 0, valid) - 2 * pos.narrow(dim, n, valid)
    acc = acc * (fps / n) ** 2
    index = torch.arange(length, device=pos.device).clamp(n, length - n - 1) - n
    return acc.index_select(dim, index)


def synthesize(local_rot: torch.Tensor, offsets: torch.Tensor, tran: torch.Tensor | None = None,
               fps: float = 60.0, stencil: int = STENCIL) -> dict:
    """Motion -> virtual IMU signals.

    local_rot (..., T, 24, 3, 3); offsets (..., 24, 3) (one skeleton per sequence); tran (..., T, 3) pelvis
    position or None. Returns dict(acc (..., T, 6, 3), ori (..., T, 6, 3, 3), joints (..., T, 24, 3),
    global_rot (..., T, 24, 3, 3), sensor_pos (..., T, 6, 3)).
    """
    glob, joints = forward_kinematics(local_rot, offsets[..., None, :, :], tran)
    pos = sensor_positions(glob, joints, offsets)
    return {"acc": finite_acceleration(pos, fps, stencil), "ori": glob[..., SENSOR_JOINTS, :, :],
            "joints": joints, "global_rot": glob, "sensor_pos": pos}


@dataclass
class ImuCorruption:
    """Realistic sensor errors for training; all zero = clean. Degrees; std per axis.

    Constant per sequence and sensor: acc_bias_std (sensor frame, m/s^2), heading_error_deg (residual world
    heading about the vertical; rotates acc and ori), mount_rot_deg (sensor-to-bone misalignment; rotates the
    orientation only, since the device turns its own reading into the world frame), mount_pos_m (sensor off
    its nominal site; adds the acceleration of that lever arm, from the orientations with the configured
    stencil), calib_pose_deg (per sensor, in sensor order: the bone's deviation from the calibration pose
    while the calibration was taken; the calibration builds it into the sensor-to-bone rotation, so it acts
    like a mounting rotation, larger for the arms). Per sample: acc_noise_std (white, m/s^2),
    acc_bias_walk_std (random-walk step, sensor frame), ori_noise_deg (white, world frame), heading_walk_deg
    (heading random walk per sensor, degrees per square-root second: magnetic disturbance changing along
    the path), drop_prob (sample lost; the last value is held). Magnitudes and sources: docs/data.md.
    """
    acc_noise_std: float = 0.0
    acc_bias_std: float = 0.0
    acc_bias_walk_std: float = 0.0
    ori_noise_deg: float = 0.0
    heading_error_deg: float = 0.0
    mount_rot_deg: float = 0.0
    mount_pos_m: float = 0.0
    drop_prob: float = 0.0
    heading_walk_deg: float = 0.0
    calib_pose_deg: tuple = (0.0,) * 6
    fps: float = 60.0
    stencil: int = STENCIL

    @classmethod
    def error_terms(cls) -> tuple[str, ...]:
        """The fields that are error magnitudes (``fps`` and ``stencil`` are settings)."""
        return tuple(f.name for f in fields(cls) if f.name not in ("fps", "stencil"))

    def scaled(self, factor: float) -> "ImuCorruption":
        """Every error magnitude times ``factor`` (0: clean); the drop probability too, capped at 1."""
        def times(name, v):
            if isinstance(v, tuple):
                return tuple(a * factor for a in v)
            return min(v * factor, 1.0) if name == "drop_prob" else v * factor

        return replace(self, **{name: times(name, getattr(self, name)) for name in self.error_terms()})


def _randn(shape, like: torch.Tensor, generator):
    return torch.randn(shape, generator=generator, dtype=like.dtype, device=like.device)


def _hold_last(x: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """Replace samples where ``kept`` (..., T, S) is False by the last kept one (frame 0 is always kept)."""
    t = kept.shape[-2]
    steps = torch.arange(t, device=x.device).view(t, 1).expand_as(kept)
    last = torch.where(kept, steps, torch.zeros_like(steps)).cummax(dim=-2).values
    index = last.reshape(*last.shape, *([1] * (x.dim() - kept.dim()))).expand_as(x)
    return x.gather(kept.dim() - 2, index)


def corrupt(acc: torch.Tensor, ori: torch.Tensor, cfg: ImuCorruption, generator: torch.Generator | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply ``cfg`` to clean acc (..., T, 6, 3) and ori (..., T, 6, 3, 3); returns corrupted (acc, ori)."""
    lead, t, s = acc.shape[:-3], acc.shape[-3], acc.shape[-2]
    if cfg.mount_pos_m > 0:
        lever = _randn((*lead, 1, s, 3, 1), acc, generator) * cfg.mount_pos_m
        acc = acc + finite_acceleration((ori @ lever)[..., 0], cfg.fps, cfg.stencil)
    if cfg.mount_rot_deg > 0:
        mount = random_rotation((*lead, 1, s), cfg.mount_rot_deg, generator, acc.dtype, acc.device, "normal")
        ori = ori @ mount
    if any(cfg.calib_pose_deg):
        std = torch.tensor(cfg.calib_pose_deg, dtype=acc.dtype, device=acc.device) * (torch.pi / 180.0)
        ori = ori @ axis_angle_to_matrix(_randn((*lead, 1, s, 3), acc, generator) * std[:, None])
    bias = _randn((*lead, 1, s, 3), acc, generator) * cfg.acc_bias_std
    if cfg.acc_bias_walk_std > 0:
        bias = bias + (_randn((*lead, t, s, 3), acc, generator) * cfg.acc_bias_walk_std).cumsum(-3)
    acc = acc + (ori @ bias[..., None])[..., 0]
    acc = acc + _randn(acc.shape, acc, generator) * cfg.acc_noise_std
    if cfg.heading_error_deg > 0 or cfg.heading_walk_deg > 0:
        angle = _randn((*lead, 1, s, 1), acc, generator) * (cfg.heading_error_deg * torch.pi / 180.0)
        if cfg.heading_walk_deg > 0:
            step = cfg.heading_walk_deg * torch.pi / 180.0 / cfg.fps ** 0.5
            angle = angle + (_randn((*lead, t, s, 1), acc, generator) * step).cumsum(-3)
        y_axis = torch.tensor([0.0, 1.0, 0.0], dtype=acc.dtype, device=acc.device)
        heading = axis_angle_to_matrix(angle * y_axis)
        acc, ori = (heading @ acc[..., None])[..., 0], heading @ ori
    if cfg.ori_noise_deg > 0:
        noise = random_rotation((*lead, t, s), cfg.ori_noise_deg, generator, acc.dtype, acc.device, "normal")
        ori = noise @ ori
    if cfg.drop_prob > 0:
        kept = torch.rand((*lead, t, s), generator=generator, device=acc.device) >= cfg.drop_prob
        kept[..., 0, :] = True
        acc, ori = _hold_last(acc, kept), _hold_last(ori, kept)
    return acc, ori


def simulate_raw(acc_free: torch.Tensor, ori_bone: torch.Tensor, generator: torch.Generator | None = None,
                 mount_error_deg: float = 30.0, heading_deg: float = 0.0, body_mount_error_deg: float = 0.0,
                 acc_bias_std: float = 0.0, mounts: torch.Tensor | None = None,
                 body_frame_sensor: int = ROOT_SENSOR):
    """Inverse of calibration: calibrated acc (..., 6, 3), ori (..., 6, 3, 3) -> (raw_ori, raw_acc).

    Each sensor is strapped with its axes along the body's REP 103 axes turned by a random rotation of
    ``mount_error_deg`` (``body_mount_error_deg`` for the body-frame sensor), or by the given sensor-to-bone
    rotations ``mounts`` (6, 3, 3); the device world is the SMPL world turned to z up and by ``heading_deg``
    about the vertical; each sensor gets a constant random accelerometer bias of ``acc_bias_std``.
    """
    m = ori_bone.new_tensor(M_SMPL_TO_ROS)
    if mounts is None:
        angles = torch.full((6,), float(mount_error_deg))
        angles[body_frame_sensor] = body_mount_error_deg
        errors = torch.stack([random_rotation((), float(a), generator) for a in angles]).to(ori_bone)
        mounts = m @ errors  # S: bone axes -> sensor axes
    align = ori_bone.new_tensor(yaw_rotation(np.deg2rad(heading_deg))) @ m.T
    sensor = ori_bone @ mounts.to(ori_bone).transpose(-1, -2)  # Q = B S^T
    bias = torch.randn((6, 3), generator=generator, dtype=acc_free.dtype).to(acc_free) * acc_bias_std
    return align.T @ sensor, specific_force(acc_free, sensor) + bias
