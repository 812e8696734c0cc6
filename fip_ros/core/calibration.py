"""Sensor-to-body calibration from a still calibration pose: one implementation for live use and training.

Raw data as a device delivers it (REP 145): ``raw_ori`` (..., 6, 3, 3) orientation of each sensor in the
device's world frame (z up, unknown heading, one world shared by the six sensors), ``raw_acc`` (..., 6, 3)
specific force in the sensor frame, m/s^2 (reads +9.81 up at rest). Sensor order as in CONTRACTS.md.

Model, per sensor i: ``Q_i = A R_dev_i`` is the sensor orientation in the SMPL world, with the world alignment
``A = R_y(heading) M^T`` (``M`` maps SMPL to ROS axes, CONTRACTS.md); the bone's global rotation is
``B_i = Q_i S_i`` with the constant sensor-to-bone rotation ``S_i``; the free acceleration is
``a_i = Q_i (f_i - b_i) + g`` with a constant offset ``b_i`` in the sensor frame.
The heading comes from the body-frame sensor (pelvis by default), which must be strapped with its axes
roughly along the body's REP 103 axes (x forward, y left, z up): its yaw sets the heading that makes the
pelvis face +z (exact for pure pitch or pure roll mounting errors; its other mounting error goes into its S).
"""

from dataclasses import dataclass

import roma
import torch

from fip_ros.core.frames import M_SMPL_TO_ROS
from fip_ros.core.gravity import GRAVITY, free_acceleration, specific_force
from fip_ros.core.kinematics import local_to_global
from fip_ros.core.rotations import angle_between, axis_angle_to_matrix, random_rotation
from fip_ros.core.smpl_tree import NUM_JOINTS, ROOT_SENSOR, SENSOR_JOINTS

# N-pose: arms hang down along -y from the shoulders, palms towards the thighs (T-pose arms turned about z).
_NPOSE_LOCAL_AXIS_ANGLE = {16: (0.0, 0.0, -torch.pi / 2), 17: (0.0, 0.0, torch.pi / 2)}
POSES = ("tpose", "npose")
# Stillness limits for the calibration segment.
MAX_ACC_STD = 0.5  # m/s^2, spread of the specific force of any sensor
MAX_ORI_SPREAD_DEG = 10.0  # largest deviation of any sensor orientation from its mean
MAX_GRAVITY_ERROR = 2.0  # m/s^2, | |mean specific force| - 9.81 |
MAX_BODY_SENSOR_TILT_DEG = 60.0  # beyond this the heading of the body-frame sensor is ill-defined


def calibration_pose_local_rot(kind: str = "tpose") -> torch.Tensor:
    """SMPL local rotations (24, 3, 3) of a calibration pose facing +z: 'tpose' (identity) or 'npose'."""
    if kind not in POSES:
        raise ValueError(f"calibration pose must be one of {POSES}, got {kind!r}")
    rotvec = torch.zeros(NUM_JOINTS, 3)
    if kind == "npose":
        for joint, value in _NPOSE_LOCAL_AXIS_ANGLE.items():
            rotvec[joint] = torch.tensor(value)
    return axis_angle_to_matrix(rotvec)


def calibration_pose_bone_rot(kind: str = "tpose") -> torch.Tensor:
    """Global rotations (6, 3, 3) of the sensors' carrying bones in the calibration pose."""
    return local_to_global(calibration_pose_local_rot(kind))[SENSOR_JOINTS, :, :]


@dataclass
class Calibration:
    """world_alignment A (3, 3), sensor_to_bone S (6, 3, 3), acc_offset b (6, 3) in the sensor frame."""
    world_alignment: torch.Tensor
    sensor_to_bone: torch.Tensor
    acc_offset: torch.Tensor
    pose: str = "tpose"

    def to_dict(self) -> dict:
        """YAML/JSON-safe nested lists of floats."""
        return {"pose": self.pose, "world_alignment": self.world_alignment.tolist(),
                "sensor_to_bone": self.sensor_to_bone.tolist(), "acc_offset": self.acc_offset.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        def tensor(key, shape):
            value = torch.tensor(data[key], dtype=torch.float64)
            if value.shape != shape:
                raise ValueError(f"calibration {key} has shape {tuple(value.shape)}, expected {shape}")
            return value
        return cls(tensor("world_alignment", (3, 3)), tensor("sensor_to_bone", (6, 3, 3)),
                   tensor("acc_offset", (6, 3)), str(data.get("pose", "tpose")))


def _smpl_to_ros(like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(M_SMPL_TO_ROS, dtype=like.dtype, device=like.device)


def _yaw_rotation(angle: torch.Tensor) -> torch.Tensor:
    """Rotation about the SMPL y axis (vertical) by ``angle`` (...) radians."""
    return axis_angle_to_matrix(angle[..., None] * angle.new_tensor([0.0, 1.0, 0.0]))


def _yaw_of(rot: torch.Tensor) -> torch.Tensor:
    """Angle of the rotation about y closest to ``rot`` (maximises trace(R_y^T rot))."""
    return torch.atan2(rot[..., 0, 2] - rot[..., 2, 0], rot[..., 0, 0] + rot[..., 2, 2])


def _mean_rotation(rot: torch.Tensor) -> torch.Tensor:
    """Chordal mean over the first axis."""
    return roma.special_procrustes(rot.sum(0))


def _check_still(raw_ori: torch.Tensor, raw_acc: torch.Tensor, mean_ori: torch.Tensor) -> None:
    acc_std = raw_acc.std(0).norm(dim=-1).max() if raw_acc.shape[0] > 1 else raw_acc.new_zeros(())
    if acc_std > MAX_ACC_STD:
        raise ValueError(f"calibration segment is not still: acceleration spread {acc_std:.2f} m/s^2 "
                         f"(limit {MAX_ACC_STD}); hold the pose still")
    spread = torch.rad2deg(angle_between(raw_ori, mean_ori.expand_as(raw_ori))).max()
    if spread > MAX_ORI_SPREAD_DEG:
        raise ValueError(f"calibration segment is not still: a sensor turned {spread:.1f} deg "
                         f"(limit {MAX_ORI_SPREAD_DEG}); hold the pose still")
    gravity = raw_acc.mean(0).norm(dim=-1)
    worst = (gravity - GRAVITY).abs().argmax()
    if (gravity[worst] - GRAVITY).abs() > MAX_GRAVITY_ERROR:
        raise ValueError(f"sensor {int(worst)} reads {gravity[worst]:.2f} m/s^2 at rest; expected about "
                         f"{GRAVITY} (give specific force in m/s^2, gravity included, not g units)")


def estimate_calibration(raw_ori: torch.Tensor, raw_acc: torch.Tensor, pose: str = "tpose",
                         body_frame_sensor: int = ROOT_SENSOR) -> Calibration:
    """Calibrate from a still segment of ``pose``: raw_ori (N, 6, 3, 3), raw_acc (N, 6, 3) (module docstring).

    Raises ValueError when the segment moves or the accelerations do not look like specific force in m/s^2.
    """
    mean_dev = _mean_rotation(raw_ori)  # (6, 3, 3)
    _check_still(raw_ori, raw_acc, mean_dev)
    bone = calibration_pose_bone_rot(pose).to(raw_ori)
    m = _smpl_to_ros(raw_ori)
    body = m.T @ mean_dev[body_frame_sensor] @ m  # body-frame sensor in SMPL axes, unknown heading
    heading = bone[body_frame_sensor] @ body.T
    yaw = _yaw_rotation(_yaw_of(heading))
    tilt = float(torch.rad2deg(angle_between(yaw, heading)))
    if tilt > MAX_BODY_SENSOR_TILT_DEG:
        raise ValueError(f"body-frame sensor {body_frame_sensor} is tilted {tilt:.0f} deg from the body axes "
                         f"(limit {MAX_BODY_SENSOR_TILT_DEG}); strap it with x forward, y left, z up")
    align = yaw @ m.T
    sensor = align @ raw_ori  # (N, 6, 3, 3) Q
    sensor_to_bone = _mean_rotation(sensor.transpose(-1, -2) @ bone)
    still = specific_force(torch.zeros_like(raw_acc), sensor)
    return Calibration(align, sensor_to_bone, (raw_acc - still).mean(0), pose)


def apply_calibration(cal: Calibration, raw_ori: torch.Tensor, raw_acc: torch.Tensor):
    """Raw (..., 6, 3, 3), (..., 6, 3) -> (acc (..., 6, 3) global free acceleration, ori (..., 6, 3, 3))"""
    sensor = cal.world_alignment.to(raw_ori) @ raw_ori
    ori = sensor @ cal.sensor_to_bone.to(raw_ori)
    return free_acceleration(raw_acc - cal.acc_offset.to(raw_acc), sensor), ori


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
    m = _smpl_to_ros(ori_bone)
    if mounts is None:
        angles = torch.full((6,), float(mount_error_deg))
        angles[body_frame_sensor] = body_mount_error_deg
        errors = torch.stack([random_rotation((), float(a), generator) for a in angles]).to(ori_bone)
        mounts = m @ errors  # S: bone axes -> sensor axes
    align = _yaw_rotation(ori_bone.new_tensor(heading_deg * torch.pi / 180.0)) @ m.T
    sensor = ori_bone @ mounts.to(ori_bone).transpose(-1, -2)  # Q = B S^T
    bias = torch.randn((6, 3), generator=generator, dtype=acc_free.dtype).to(acc_free) * acc_bias_std
    return align.T @ sensor, specific_force(acc_free, sensor) + bias
