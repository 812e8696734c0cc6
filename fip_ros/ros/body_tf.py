"""One body's 24 joint transforms on /tf: the geometry and a preallocated TFMessage refilled per pose.

Shared by the TF broadcaster (poses from the ``pose`` topic) and the estimator (``publish_tf``: straight from
the network, one DDS hop and one process fewer). Frames (REP 155, ``smpl_frames``): world -> origin_<id>
(static) -> body_<id> (pelvis, mid-hip) -> <joint>_<id>, every joint frame in REP-103 axes: SMPL rotations R
become M R M^T and offsets M o, so a T-pose shows all frames upright. Torch-free.
"""

import struct

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import TransformStamped
from rclpy.serialization import serialize_message
from tf2_msgs.msg import TFMessage

from fip_ros.core.smpl_tree import PARENTS
from fip_ros.ros import smpl_frames
from fip_ros.ros.conversions import (
    CDR_KINDS,
    cdr_align,
    quat_from_matrix,
    rot_smpl_to_ros,
    valid_quats,
    vec_smpl_to_ros,
)
from fip_ros.ros.tf_publisher import make_transform, validate_transform


def relative_transforms(local_rot: np.ndarray, offsets: np.ndarray, root_translation=(0.0, 0.0, 0.0)):
    """The 24 transforms in ROS axes, each joint relative to its parent (joint 0 to the origin frame), of
    SMPL local rotations (..., 24, 3, 3) (row 0: pelvis in the SMPL world) and SMPL T-pose offsets
    (..., 24, 3): (translations (..., 24, 3), quats (..., 24, 4) unit xyzw); root_translation (..., 3).
    Vectorised, over several bodies too; no forward kinematics needed."""
    trans = vec_smpl_to_ros(offsets)
    trans[..., 0, :] = root_translation
    return trans, quat_from_matrix(rot_smpl_to_ros(local_rot))


def joint_positions(local_rot: np.ndarray, offsets: np.ndarray, root_translation=(0.0, 0.0, 0.0)):
    """Joint positions (24, 3) in the origin frame, ROS axes (forward kinematics, for markers)."""
    local = rot_smpl_to_ros(local_rot)
    trans = vec_smpl_to_ros(offsets)
    trans[0] = root_translation
    glob = np.empty_like(local)
    pos = np.empty((24, 3))
    for j, p in enumerate(PARENTS):
        glob[j] = local[j] if p < 0 else glob[p] @ local[j]
        pos[j] = trans[j] if p < 0 else pos[p] + glob[p] @ trans[j]
    return pos


def joint_transforms(local_rot: np.ndarray, offsets: np.ndarray, root_translation=(0.0, 0.0, 0.0)):
    """(translations, quats) of :func:`relative_transforms` and the positions of :func:`joint_positions`."""
    return (*relative_transforms(local_rot, offsets, root_translation),
            joint_positions(local_rot, offsets, root_translation))


def _tf_layout(data: bytes, count: int):
    """(byte order, offsets of each transform's stamp, offsets of its 7 doubles) in a serialised TFMessage."""
    order, align = CDR_KINDS[int.from_bytes(data[:2], "big")]
    off, stamps, values = 8, [], []  # after the encapsulation header and the sequence length
    for _ in range(count):
        stamps.append(off)
        off += 8
        for _string in ("frame_id", "child_frame_id"):
            off = cdr_align(off, 4)
            off += 4 + struct.unpack_from(order + "I", data, off)[0]
        off = cdr_align(off, align)
        values.append(off)
        off += 7 * 8
    return order, stamps, values


class BodyTf:
    """The /tf message of one body, serialised: frame ids checked and serialised once here, the stamps and
    the 7 values of the 24 transforms written in place per pose (``data``, for ``publish``), which saves
    building and converting 24 Python messages per pose."""

    def __init__(self, body_id: str, prefix: str = "", suffix: str = "", world: str = "world"):
        self.world = smpl_frames.world_frame(world)
        self.origin = smpl_frames.origin_frame(body_id, prefix, suffix)
        parents = smpl_frames.parent_frames(body_id, prefix, suffix)
        children = smpl_frames.joint_frames(body_id, prefix, suffix)
        self.msg = TFMessage(transforms=[make_transform(Time(), p, c, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0))
                                         for p, c in zip(parents, children, strict=True)])
        for t in self.msg.transforms:
            validate_transform(t)
        self._buf = bytearray(serialize_message(self.msg))
        order, stamps, values = _tf_layout(self._buf, len(self.msg.transforms))
        self._order, self._f8 = order, np.dtype(order + "f8")
        # Byte positions of every transform's stamp (24, 8) and 7 values (24, 56), for one fancy-indexed
        # write per pose instead of 48 slice assignments.
        self._bytes = np.frombuffer(self._buf, np.uint8)
        self._stamp_at = np.add.outer(np.array(stamps), np.arange(8))
        self._values_at = np.add.outer(np.array(values), np.arange(56))
        self.data = bytes(self._buf)

    def fill(self, stamp, local_rot: np.ndarray, offsets: np.ndarray, root_translation=(0.0, 0.0, 0.0)):
        """Write one pose into ``data``; False (``data`` untouched) when the result is not finite."""
        return self.write(stamp, *relative_transforms(local_rot, offsets, root_translation))

    def write(self, stamp, trans: np.ndarray, quats: np.ndarray) -> bool:
        """Write :func:`relative_transforms`' (24, 3) translations and (24, 4) quats into ``data``; False
        (``data`` untouched) when they are not finite or not unit quaternions."""
        if not (np.isfinite(trans).all() and valid_quats(quats)):
            return False
        values = np.concatenate([trans, quats], axis=1).astype(self._f8)
        self._bytes[self._values_at] = values.view(np.uint8).reshape(len(values), 56)
        self._bytes[self._stamp_at] = np.frombuffer(struct.pack(self._order + "iI", stamp.sec, stamp.nanosec),
                                                    np.uint8)
        self.data = bytes(self._buf)
        return True

    def static_origin(self, stamp, offset) -> TransformStamped:
        """world -> origin_<id>, translated by ``offset`` (3,) m."""
        return make_transform(stamp, self.world, self.origin, offset, (0.0, 0.0, 0.0, 1.0))
