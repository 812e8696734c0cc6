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

NumPy, torch-free (the runtime uses it on boards without torch); ``apply_calibration`` takes and returns NumPy
arrays or torch tensors alike, ``estimate_calibration`` accepts either. The inverse for simulated data,
``simulate_raw``, is in ``fip_ros.core.imu_synthesis``.
"""

from dataclasses import dataclass

import numpy as np

from fip_ros.core.frames import M_SMPL_TO_ROS
from fip_ros.core.gravity import GRAVITY, free_acceleration, specific_force
from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, NUM_JOINTS, ROOT_SENSOR, SENSOR_JOINTS
from fip_ros.core.so3 import (
    angle_between,
    axis_angle_to_matrix,
    local_to_global,
    special_procrustes,
    yaw_of,
    yaw_rotation,
)

# N-pose: arms hang down along -y from the shoulders, palms towards the thighs (T-pose arms turned about z).
_NPOSE_LOCAL_AXIS_ANGLE = {16: (0.0, 0.0, -np.pi / 2), 17: (0.0, 0.0, np.pi / 2)}
POSES = ("tpose", "npose")
# Stillness limits for the calibration segment.
MAX_ACC_STD = 0.5  # m/s^2, spread of the specific force of any sensor
MAX_ORI_SPREAD_DEG = 10.0  # largest deviation of any sensor orientation from its mean
MAX_GRAVITY_ERROR = 2.0  # m/s^2, | |mean specific force| - 9.81 |
MAX_BODY_SENSOR_TILT_DEG = 60.0  # beyond this the heading of the body-frame sensor is ill-defined


def calibration_pose_local_rot(kind: str = "tpose") -> np.ndarray:
    """SMPL local rotations (24, 3, 3) float64 of a calibration pose facing +z: 'tpose' (identity) or
    'npose'."""
    if kind not in POSES:
        raise ValueError(f"calibration pose must be one of {POSES}, got {kind!r}")
    rotvec = np.zeros((NUM_JOINTS, 3))
    if kind == "npose":
        for joint, value in _NPOSE_LOCAL_AXIS_ANGLE.items():
            rotvec[joint] = value
    return axis_angle_to_matrix(rotvec)


def calibration_pose_bone_rot(kind: str = "tpose") -> np.ndarray:
    """Global rotations (6, 3, 3) of the sensors' carrying bones in the calibration pose."""
    return local_to_global(calibration_pose_local_rot(kind))[list(SENSOR_JOINTS)]


def root_relative(local_rot) -> np.ndarray:
    """SMPL local rotations (..., 24, 3, 3) -> the (..., 15, 3, 3) root-relative global rotations of
    ESTIMATED_JOINTS that FIP starts from."""
    glob = local_to_global(local_rot)
    return np.swapaxes(glob[..., :1, :, :], -1, -2) @ glob[..., list(ESTIMATED_JOINTS), :, :]


@dataclass
class Calibration:
    """world_alignment A (3, 3), sensor_to_bone S (6, 3, 3), acc_offset b (6, 3) in the sensor frame
    (float64 NumPy arrays)."""
    world_alignment: np.ndarray
    sensor_to_bone: np.ndarray
    acc_offset: np.ndarray
    pose: str = "tpose"

    def to_dict(self) -> dict:
        """YAML/JSON-safe nested lists of floats."""
        return {"pose": self.pose, "world_alignment": self.world_alignment.tolist(),
                "sensor_to_bone": self.sensor_to_bone.tolist(), "acc_offset": self.acc_offset.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        def array(key, shape):
            value = np.asarray(data[key], dtype=np.float64)
            if value.shape != shape:
                raise ValueError(f"calibration {key} has shape {value.shape}, expected {shape}")
            return value
        return cls(array("world_alignment", (3, 3)), array("sensor_to_bone", (6, 3, 3)),
                   array("acc_offset", (6, 3)), str(data.get("pose", "tpose")))


def _check_still(raw_ori: np.ndarray, raw_acc: np.ndarray, mean_ori: np.ndarray) -> None:
    acc_std = np.linalg.norm(raw_acc.std(0, ddof=1), axis=-1).max() if len(raw_acc) > 1 else 0.0
    if acc_std > MAX_ACC_STD:
        raise ValueError(f"calibration segment is not still: acceleration spread {acc_std:.2f} m/s^2 "
                         f"(limit {MAX_ACC_STD}); hold the pose still")
    spread = np.rad2deg(angle_between(raw_ori, mean_ori)).max()
    if spread > MAX_ORI_SPREAD_DEG:
        raise ValueError(f"calibration segment is not still: a sensor turned {spread:.1f} deg "
                         f"(limit {MAX_ORI_SPREAD_DEG}); hold the pose still")
    gravity = np.linalg.norm(raw_acc.mean(0), axis=-1)
    worst = int(np.abs(gravity - GRAVITY).argmax())
    if abs(gravity[worst] - GRAVITY) > MAX_GRAVITY_ERROR:
        raise ValueError(f"sensor {worst} reads {gravity[worst]:.2f} m/s^2 at rest; expected about "
                         f"{GRAVITY} (give specific force in m/s^2, gravity included, not g units)")


def estimate_calibration(raw_ori, raw_acc, pose: str = "tpose",
                         body_frame_sensor: int = ROOT_SENSOR) -> Calibration:
    """Calibrate from a still segment of ``pose``: raw_ori (N, 6, 3, 3), raw_acc (N, 6, 3), arrays or tensors
    (module docstring). Raises ValueError when the segment moves or the accelerations do not look like
    specific force in m/s^2."""
    raw_ori, raw_acc = np.asarray(raw_ori, np.float64), np.asarray(raw_acc, np.float64)
    if raw_ori.ndim != 4 or raw_ori.shape[1:] != (6, 3, 3) or raw_acc.shape != (len(raw_ori), 6, 3):
        raise ValueError(f"calibration needs raw_ori (N, 6, 3, 3) and raw_acc (N, 6, 3), got {raw_ori.shape} "
                         f"and {raw_acc.shape}")
    mean_dev = special_procrustes(raw_ori.sum(0))  # (6, 3, 3) chordal mean
    _check_still(raw_ori, raw_acc, mean_dev)
    bone = calibration_pose_bone_rot(pose)
    m = M_SMPL_TO_ROS
    body = m.T @ mean_dev[body_frame_sensor] @ m  # body-frame sensor in SMPL axes, unknown heading
    heading = bone[body_frame_sensor] @ body.T
    yaw = yaw_rotation(yaw_of(heading))
    tilt = float(np.rad2deg(angle_between(yaw, heading)))
    if tilt > MAX_BODY_SENSOR_TILT_DEG:
        raise ValueError(f"body-frame sensor {body_frame_sensor} is tilted {tilt:.0f} deg from the body axes "
                         f"(limit {MAX_BODY_SENSOR_TILT_DEG}); strap it with x forward, y left, z up")
    align = yaw @ m.T
    sensor = align @ raw_ori  # (N, 6, 3, 3) Q
    sensor_to_bone = special_procrustes((np.swapaxes(sensor, -1, -2) @ bone).sum(0))
    still = specific_force(np.zeros_like(raw_acc), sensor)
    return Calibration(align, sensor_to_bone, (raw_acc - still).mean(0), pose)


def _like(value: np.ndarray, x):
    """``value`` as the array kind and dtype of ``x`` (NumPy array or torch tensor)."""
    return np.asarray(value, x.dtype) if isinstance(x, np.ndarray) else x.new_tensor(value)


def apply_calibration(cal: Calibration, raw_ori, raw_acc):
    """Raw (..., 6, 3, 3), (..., 6, 3) -> (acc (..., 6, 3) global free acceleration, ori (..., 6, 3, 3)),
    of the inputs' kind (NumPy or torch) and dtype."""
    sensor = _like(cal.world_alignment, raw_ori) @ raw_ori
    ori = sensor @ _like(cal.sensor_to_bone, raw_ori)
    return free_acceleration(raw_acc - _like(cal.acc_offset, raw_acc), sensor), ori
