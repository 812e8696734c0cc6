"""SMPL TF broadcaster: fip_msgs/SmplPose -> /tf (24 joint frames), /tf_static, skeleton and mesh markers.

Frames (REP 155, fip_ros.ros.smpl_frames): world_frame -> origin_<id> (static) -> body_<id> (pelvis, mid-hip)
-> <joint>_<id>. Every joint frame uses REP-103 axes (x forward, y left, z up in T-pose): SMPL rotations R
become M R M^T and offsets M o, with M the SMPL -> ROS axis map, so a T-pose shows all frames upright.
Bone offsets come from the subject's body parameters (fip_ros.core.body_model.offsets_for_body).
"""

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from rclpy.node import Node
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import Marker, MarkerArray

from fip_msgs.msg import BodyParams, SmplPose
from fip_ros.core.body_model import offsets_for_body
from fip_ros.core.smpl_tree import PARENTS
from fip_ros.ros import qos
from fip_ros.ros.body_tf import BodyTf, joint_positions
from fip_ros.ros.conversions import local_rot_from_quats, smpl_pose_quats, valid_quats, vec_smpl_to_ros
from fip_ros.ros.nodes import run_node
from fip_ros.ros.params import FALLBACK_BODY, body_from_msg, declare_parameters, descriptor, fallback_body
from fip_ros.ros.smpl_frames import DEFAULT_SUBJECT_ID
from fip_ros.ros.tf_publisher import StaticTransformBroadcaster

BONE_POINTS = [k for j, p in enumerate(PARENTS) if p >= 0 for k in (p, j)]  # LINE_LIST point order


PARAMETERS = {
    "body_id": (DEFAULT_SUBJECT_ID, descriptor("Body id: frames body_<id>, <joint>_<id> (REP 155)")),
    "frame_prefix": ("", descriptor("Prefix of every body frame (several people/systems)")),
    "frame_suffix": ("", descriptor("Suffix of every body frame")),
    "world_frame": ("world", descriptor("Fixed REP-103 z-up frame the body hangs from")),
    "origin_offset": ([0.0, 0.0, 1.0], descriptor(
        "Static world -> origin_<id> translation, m (mid-hip above the floor; offsets people)")),
    **FALLBACK_BODY,
    "publish_markers": (True, descriptor("Publish the skeleton_markers MarkerArray")),
    "smpl_model_path": ("", descriptor("SMPL model folder/file for mesh_markers; empty = no mesh")),
    "mesh_period": (0.1, descriptor("Minimum seconds between mesh messages", False, 0.0, 10.0)),
}


class SmplTfBroadcaster(Node):
    """One body's SmplPose stream as TF frames (REP 105/155, REP-103 axes in every joint frame), with
    skeleton markers and, given SMPL model files, a mesh."""

    def __init__(self, **kwargs):
        super().__init__("smpl_tf_broadcaster", **kwargs)
        declare_parameters(self, PARAMETERS)
        g = self.get_parameter
        body_id, prefix, suffix = g("body_id").value, g("frame_prefix").value, g("frame_suffix").value
        # /tf exactly as tf2_ros.TransformBroadcaster sends it (TFMessage, tf2 QoS), one message refilled.
        self.tf = BodyTf(body_id, prefix, suffix, g("world_frame").value)
        self.origin = self.tf.origin
        body = fallback_body(self)
        self.offsets = self._offsets(body)
        self.rejected = 0
        self.publish_markers = g("publish_markers").value
        self.mesh = self._load_mesh(g("smpl_model_path").value)
        self.betas = self._fit_betas(body)
        self.last_mesh_ns = 0

        self.pub_tf = self.create_publisher(TFMessage, "/tf", qos.TF)
        self.tf_static = StaticTransformBroadcaster(self)
        self.tf_static.send_transform(self.tf.static_origin(self.get_clock().now().to_msg(),
                                                            g("origin_offset").value))
        self.skeleton = self._skeleton_template()
        self.pub_markers = self.create_publisher(MarkerArray, "skeleton_markers", qos.RELIABLE)
        self.pub_mesh = self.mesh and self.create_publisher(MarkerArray, "mesh_markers", qos.RELIABLE)
        self.create_subscription(SmplPose, "pose", self._on_pose, qos.RELIABLE)
        self.create_subscription(BodyParams, "body_params", self._on_body_params, qos.LATCHED)

    @staticmethod
    def _offsets(body: dict) -> np.ndarray:
        return offsets_for_body(body).detach().double().numpy()

    def _load_mesh(self, path: str):
        if not path:
            return None
        try:
            from fip_ros.core.smpl_model import SmplBody
            return SmplBody(path, self.get_parameter("sex").value)
        except Exception as e:  # optional extra: a missing or unreadable model only disables the mesh
            self.get_logger().warning(f"no mesh markers: cannot load SMPL model {path!r}: {e}")
            return None

    def _fit_betas(self, body: dict):
        """Mesh shape measuring like the body parameters (the model's gender is the one loaded)."""
        return None if self.mesh is None else self.mesh.fit_betas(body)

    def _on_body_params(self, msg: BodyParams):
        body = body_from_msg(msg)
        try:
            self.offsets = self._offsets(body)
            self.betas = self._fit_betas(body)
        except ValueError as e:
            self.get_logger().warning(f"ignoring body_params: {e}")

    def _on_pose(self, msg: SmplPose):
        quats = smpl_pose_quats(msg)
        tr = msg.root_translation
        root_t = (tr.x, tr.y, tr.z) if msg.translation_valid else (0.0, 0.0, 0.0)
        if not (valid_quats(quats) and np.isfinite(root_t).all()):
            self.rejected += 1
            self.get_logger().warning(f"rejected invalid SmplPose ({self.rejected} so far)",
                                      throttle_duration_sec=5.0)
            return
        local = local_rot_from_quats(quats)
        if not self.tf.fill(msg.header.stamp, local, self.offsets, root_t):
            self.rejected += 1
            return
        self.pub_tf.publish(self.tf.data)
        if self.publish_markers:
            pos = joint_positions(local, self.offsets, root_t)
            self.pub_markers.publish(self._skeleton(msg.header.stamp, pos))
        if self.mesh is not None:
            try:
                self._publish_mesh(msg, quats)
            except (RuntimeError, ValueError) as e:  # the optional mesh must not stop the TF output
                self.get_logger().warning(f"no mesh for this pose: {e}", throttle_duration_sec=5.0)

    def _marker(self, stamp, ns: str, kind: int) -> Marker:
        m = Marker(ns=ns, id=0, type=kind, action=Marker.ADD)
        m.header.stamp, m.header.frame_id = stamp, self.origin
        m.pose.orientation.w = 1.0
        m.frame_locked = False
        return m

    def _skeleton_template(self) -> MarkerArray:
        """Bones (LINE_LIST, parent-child pairs) and joints (SPHERE_LIST) in the origin frame."""
        bones = self._marker(Time(), f"{self.origin}/bones", Marker.LINE_LIST)
        bones.scale.x = 0.02
        bones.color.r, bones.color.g, bones.color.b, bones.color.a = 0.2, 0.6, 1.0, 1.0
        bones.points = [Point() for _ in BONE_POINTS]
        joints = self._marker(Time(), f"{self.origin}/joints", Marker.SPHERE_LIST)
        joints.scale.x = joints.scale.y = joints.scale.z = 0.04
        joints.color.r, joints.color.g, joints.color.b, joints.color.a = 1.0, 0.5, 0.1, 1.0
        joints.points = [Point() for _ in PARENTS]
        return MarkerArray(markers=[bones, joints])

    def _skeleton(self, stamp, pos: np.ndarray) -> MarkerArray:
        bones, joints = self.skeleton.markers
        for marker, points in ((bones, pos[BONE_POINTS].tolist()), (joints, pos.tolist())):
            marker.header.stamp = stamp
            for p, (x, y, z) in zip(marker.points, points, strict=True):
                p.x, p.y, p.z = x, y, z
        return self.skeleton

    def _publish_mesh(self, msg: SmplPose, quats: np.ndarray):
        now = self.get_clock().now().nanoseconds
        if now - self.last_mesh_ns < self.get_parameter("mesh_period").value * 1e9:
            return
        self.last_mesh_ns = now
        import torch
        local = local_rot_from_quats(quats)
        verts = self.mesh.vertices(torch.as_tensor(local), self.betas).numpy()
        verts = vec_smpl_to_ros(verts.reshape(-1, 3))
        if not np.isfinite(verts).all():
            return
        m = self._marker(msg.header.stamp, f"{self.origin}/mesh", Marker.TRIANGLE_LIST)
        m.scale.x = m.scale.y = m.scale.z = 1.0
        m.color.r, m.color.g, m.color.b, m.color.a = 0.8, 0.8, 0.8, 0.8
        # Vertices relative to the pelvis joint, which sits at the origin frame.
        faces = np.asarray(self.mesh.faces).reshape(-1)
        m.points = [Point(x=float(a), y=float(b), z=float(c)) for a, b, c in verts[faces]]
        self.pub_mesh.publish(MarkerArray(markers=[m]))


def main(args=None):
    return run_node(SmplTfBroadcaster, args)


if __name__ == "__main__":
    raise SystemExit(main())
