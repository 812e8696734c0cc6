"""One body's 24 joint transforms on /tf: the geometry and a preallocated TFMessage refilled per pose.

Shared by the TF broadcaster (poses from the ``pose`` topic) and the estimator (``publish_tf``: straight from
the network, one DDS hop and one process fewer). Frames (REP 155, ``smpl_frames``): world -> origin_<id>
(static) -> body_<id> (pelvis, mid-hip) -> <joint>_<id>, every joint frame in REP-103 axes: SMPL rotations R
become M R M^T and offsets M o, so a T-pose shows all frames upright. Torch-free.
"""

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import TransformStamped
from tf2_msgs.msg import TFMessage

from fip_ros.core.smpl_tree import PARENTS
from fip_ros.ros import smpl_frames
from fip_ros.ros.conversions import quat_from_matrix, rot_smpl_to_ros, valid_quats, vec_smpl_to_ros
from fip_ros.ros.tf_publisher import make_transform, validate_transform


def joint_transforms(local_rot: np.ndarray, offsets: np.ndarray, root_translation=(0.0, 0.0, 0.0)):
    """ROS-axis joint transforms of SMPL local rotations (24, 3, 3) (row 0: pelvis in the SMPL world) and
    SMPL T-pose offsets (24, 3). Returns (translations (24, 3), quats (24, 4) unit xyzw, positions (24, 3) in
    the origin frame) with joint 0 relative to the origin frame and joint j relative to its parent."""
    local = rot_smpl_to_ros(local_rot)
    trans = vec_smpl_to_ros(offsets)
    trans[0] = root_translation
    glob = np.empty_like(local)
    pos = np.empty((24, 3))
    for j, p in enumerate(PARENTS):
        glob[j] = local[j] if p < 0 else glob[p] @ local[j]
        pos[j] = trans[j] if p < 0 else pos[p] + glob[p] @ trans[j]
    return trans, quat_from_matrix(local), pos


class BodyTf:
    """The /tf message of one body (frame ids checked once here, values per pose)."""

    def __init__(self, body_id: str, prefix: str = "", suffix: str = "", world: str = "world"):
        self.world = smpl_frames.world_frame(world)
        self.origin = smpl_frames.origin_frame(body_id, prefix, suffix)
        parents = smpl_frames.parent_frames(body_id, prefix, suffix)
        children = smpl_frames.joint_frames(body_id, prefix, suffix)
        self.msg = TFMessage(transforms=[make_transform(Time(), p, c, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0))
                                         for p, c in zip(parents, children, strict=True)])
        for t in self.msg.transforms:
            validate_transform(t)

    def fill(self, stamp, local_rot: np.ndarray, offsets: np.ndarray, root_translation=(0.0, 0.0, 0.0)):
        """Refill the message for one pose; returns the joint positions (24, 3) in the origin frame, or None
        (message untouched) when the result is not finite."""
        trans, quats, pos = joint_transforms(local_rot, offsets, root_translation)
        if not (np.isfinite(trans).all() and valid_quats(quats)):
            return None
        for t, tr, rot in zip(self.msg.transforms, trans.tolist(), quats.tolist(), strict=True):
            t.header.stamp = stamp
            tt, rr = t.transform.translation, t.transform.rotation
            tt.x, tt.y, tt.z = tr
            rr.x, rr.y, rr.z, rr.w = rot
        return pos

    def static_origin(self, stamp, offset) -> TransformStamped:
        """world -> origin_<id>, translated by ``offset`` (3,) m."""
        return make_transform(stamp, self.world, self.origin, offset, (0.0, 0.0, 0.0, 1.0))
