"""Conversions between the ROS conventions (REP 103/145) and the core's (SMPL frame, numpy arrays).

SMPL's canonical frame is y up, x to the body's left, z forward; ROS (REP 103) is x forward, y left, z up.
``p_ros = M @ p_smpl`` (``fip_ros.core.frames``). Quaternions are (x, y, z, w) everywhere, as in ROS and roma.

``fip_msgs/SmplPose`` carries a pose as ``root_orientation`` = ``M R_pelvis`` (the SMPL pelvis frame in the
ROS world) and ``local_rotations`` = the SMPL local rotations of joints 1..23 (entry 0 identity);
:func:`write_smpl_pose` and :func:`local_rot_from_smpl_pose` are that codec, the one place it is written.
"""

import struct

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Imu

from fip_ros.core.frames import M_SMPL_TO_ROS, QUAT_TOLERANCE
from fip_ros.core.so3 import matrix_to_quat as quat_from_matrix  # (..., 3, 3) -> (..., 4) xyzw, w >= 0
from fip_ros.core.so3 import quat_to_matrix as matrix_from_quat  # (..., 4) xyzw, any norm > 0

# re-exported: the ROS side's names for the core conventions
__all__ = ["M_SMPL_TO_ROS", "QUAT_TOLERANCE", "matrix_from_quat", "quat_from_matrix"]



def vec_smpl_to_ros(v: np.ndarray) -> np.ndarray:
    return np.asarray(v) @ M_SMPL_TO_ROS.T


def vec_ros_to_smpl(v: np.ndarray) -> np.ndarray:
    return np.asarray(v) @ M_SMPL_TO_ROS


def rot_smpl_to_ros(rot: np.ndarray) -> np.ndarray:
    """Re-express a rotation whose both frames use SMPL axes with ROS axes: ``M R M^T``."""
    return M_SMPL_TO_ROS @ np.asarray(rot) @ M_SMPL_TO_ROS.T


def rot_ros_to_smpl(rot: np.ndarray) -> np.ndarray:
    return M_SMPL_TO_ROS.T @ np.asarray(rot) @ M_SMPL_TO_ROS


def valid_quats(quats) -> bool:
    """Whether every (..., 4) quaternion is finite with a norm within QUAT_TOLERANCE of 1: the nodes' check of
    the poses they take in and hand to tf2 (the finiteness test first: NaN fails no norm comparison)."""
    q = np.asarray(quats, dtype=float)
    return bool(np.isfinite(q).all() and np.abs(np.linalg.norm(q, axis=-1) - 1.0).max() <= QUAT_TOLERANCE)


def body_angular_velocity(rot: np.ndarray, fps: float) -> np.ndarray:
    """Body-frame angular velocity (T, ..., 3) in rad/s from orientations (T, ..., 3, 3) by differences.

    Uses ``log(R_{t-1}^T R_t) * fps`` (what a gyro strapped to the body measures); the first frame repeats
    the second so the series has the input's length.
    """
    from scipy.spatial.transform import Rotation  # here: the nodes that never call this skip scipy's import

    rot = np.asarray(rot, dtype=float)
    if rot.shape[0] < 2:
        return np.zeros(rot.shape[:-1])
    rel = np.swapaxes(rot[:-1], -1, -2) @ rot[1:]
    w = Rotation.from_matrix(rel.reshape(-1, 3, 3)).as_rotvec().reshape(*rel.shape[:-1]) * fps
    return np.concatenate([w[:1], w], axis=0)


def time_from_ns(ns: int) -> Time:
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def time_to_ns(stamp: Time) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def time_from_sec(t: float) -> Time:
    return time_from_ns(round(t * 1e9))


def _cov(stddev: float | None) -> list[float]:
    """REP 145 covariance: None = field not provided (-1 at element 0); 0 = unknown (all zeros)."""
    if stddev is None:
        return [-1.0] + [0.0] * 8
    var = float(stddev) ** 2
    return [var, 0.0, 0.0, 0.0, var, 0.0, 0.0, 0.0, var]


def make_imu(stamp: Time, frame_id: str, quat=None, gyro=None, acc=None,
             ori_stddev: float = 0.0, gyro_stddev: float = 0.0, acc_stddev: float = 0.0) -> Imu:
    """Build a REP 145 ``sensor_msgs/Imu``; a missing field (None) gets covariance[0] = -1."""
    msg = Imu()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    if quat is None:
        msg.orientation.w = 1.0
        msg.orientation_covariance = _cov(None)
    else:
        msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = (float(c) for c in quat)
        msg.orientation_covariance = _cov(ori_stddev)
    if gyro is None:
        msg.angular_velocity_covariance = _cov(None)
    else:
        msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = (float(c) for c in gyro)
        msg.angular_velocity_covariance = _cov(gyro_stddev)
    if acc is None:
        msg.linear_acceleration_covariance = _cov(None)
    else:
        a = msg.linear_acceleration
        a.x, a.y, a.z = (float(c) for c in acc)
        msg.linear_acceleration_covariance = _cov(acc_stddev)
    return msg


def imu_sample(msg: Imu) -> tuple:
    """``sensor_msgs/Imu`` -> (stamp_ns, quat xyzw, gyro, acc), each a tuple or None where REP 145 marks the
    field as not provided (covariance[0] = -1)."""
    o, w, a = msg.orientation, msg.angular_velocity, msg.linear_acceleration
    return (time_to_ns(msg.header.stamp),
            None if msg.orientation_covariance[0] == -1 else (o.x, o.y, o.z, o.w),
            None if msg.angular_velocity_covariance[0] == -1 else (w.x, w.y, w.z),
            None if msg.linear_acceleration_covariance[0] == -1 else (a.x, a.y, a.z))


# CDR encapsulation kinds (first two bytes, big-endian) -> (byte order, alignment of a double): classic CDR
# aligns 8-byte values to 8, XCDR2 to 4 (offsets count from after the 4-byte encapsulation header).
CDR_KINDS = {0x0000: (">", 8), 0x0001: ("<", 8), 0x0006: (">", 4), 0x0007: ("<", 4)}


def cdr_align(offset: int, size: int) -> int:
    """``offset`` (from the start of the serialised bytes) moved up to CDR alignment ``size``."""
    return 4 + ((offset - 4 + size - 1) & -size)


def imu_sample_from_cdr(data: bytes) -> tuple:
    """:func:`imu_sample` of a serialised ``sensor_msgs/Imu`` (what a raw subscription delivers), read in
    place: about 1 us instead of the 23 us of building the Python message. Other encodings are
    deserialised the usual way."""
    kind = CDR_KINDS.get(int.from_bytes(data[:2], "big"))
    if kind is None:
        from rclpy.serialization import deserialize_message

        return imu_sample(deserialize_message(data, Imu))
    order, align = kind
    sec, nanosec, n = struct.unpack_from(order + "iIi", data, 4)
    off = cdr_align(16 + n, align)  # after the header: stamp, frame_id (length + bytes incl. NUL)
    v = struct.unpack_from(order + "37d", data, off)
    # orientation (4), its covariance (9), angular velocity (3), covariance (9), acceleration (3), covariance
    return (sec * 1_000_000_000 + nanosec, None if v[4] == -1 else v[0:4], None if v[16] == -1 else v[13:16],
            None if v[28] == -1 else v[25:28])


def imu_topic(site: str) -> str:
    """REP 145: one namespace per sensor, ``imu/<site>/data`` (relative, so node namespaces apply)."""
    return f"imu/{site}/data"


def imu_frame(site: str, prefix: str = "") -> str:
    return f"{prefix}imu_{site}"


def namespace_prefix(namespace: str) -> str:
    """A node namespace as a frame prefix, so each person's sensors get frames of their own:
    ``/p1`` -> ``p1_``, ``/lab/p2`` -> ``lab_p2_``, ``/`` -> ``""``."""
    tokens = [t for t in namespace.split("/") if t]
    return "_".join(tokens) + "_" if tokens else ""


def write_smpl_pose(msg, local_rot: np.ndarray) -> None:
    """Fill the rotations of a ``fip_msgs/SmplPose`` in place from SMPL local rotations (24,3,3), row 0 the
    pelvis orientation in the SMPL world (the root rotation travels in ``root_orientation``)."""
    quats = quat_from_matrix(np.concatenate([(M_SMPL_TO_ROS @ local_rot[0])[None], local_rot[1:]]))
    o = msg.root_orientation
    o.x, o.y, o.z, o.w = quats[0].tolist()
    quats[0] = [0.0, 0.0, 0.0, 1.0]
    for q, v in zip(msg.local_rotations, quats.tolist(), strict=True):
        q.x, q.y, q.z, q.w = v


def smpl_pose_quats(msg) -> np.ndarray:
    """The (25, 4) xyzw quaternions of a ``fip_msgs/SmplPose``: ``root_orientation``, then the 24
    ``local_rotations`` (unchecked: :func:`valid_quats` says whether they can be used)."""
    return np.array([[q.x, q.y, q.z, q.w] for q in (msg.root_orientation, *msg.local_rotations)])


def local_rot_from_quats(quats: np.ndarray) -> np.ndarray:
    """:func:`smpl_pose_quats`'s (25, 4) -> (24,3,3) SMPL local rotations, row 0 the pelvis orientation in
    the SMPL world frame."""
    local = matrix_from_quat(quats[1:])
    local[0] = M_SMPL_TO_ROS.T @ matrix_from_quat(quats[0])  # root_orientation = M R_pelvis
    return local


def local_rot_from_smpl_pose(msg) -> np.ndarray:
    """``fip_msgs/SmplPose`` -> (24,3,3) SMPL local rotations (the inverse of :func:`write_smpl_pose`)."""
    return local_rot_from_quats(smpl_pose_quats(msg))


def smpl_pose_msg(stamp: Time, frame_id: str, subject_id: str, local_rot: np.ndarray, tran=None):
    """fip_msgs/SmplPose from SMPL local rotations (24,3,3) and a pelvis position already in ROS axes (3,)."""
    from fip_msgs.msg import SmplPose

    msg = SmplPose()
    msg.header.stamp, msg.header.frame_id, msg.subject_id = stamp, frame_id, subject_id
    write_smpl_pose(msg, local_rot)
    if tran is not None:
        msg.root_translation.x, msg.root_translation.y, msg.root_translation.z = (float(c) for c in tran)
    msg.translation_valid = tran is not None
    msg.estimated = [True] * 24
    msg.tracking_status = SmplPose.STATUS_OK
    return msg
