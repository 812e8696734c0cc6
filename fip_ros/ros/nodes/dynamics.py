"""Dynamics node: fip_msgs/SmplPose (+ latched BodyParams) -> fip_msgs/JointMoments, the lower-limb moments by
anatomical axis (sensor_msgs/JointState efforts) and wrench markers.

Runs fip_ros.physics.dynamics_estimator.DynamicsEstimator per pose. Its outputs refer to the pose ``delay``
frames back (Savitzky-Golay window), and carry that pose's stamp. Positions (CoP) are in the world of the
poses' root translation (the estimator's: the pelvis at the origin at calibration; poses without one are
anchored on the stance foot here, floor at z = 0), published in ``world_frame`` with REP-103 axes. Foot
contacts are the estimator's (``SmplPose.foot_contact_probability``, which come with its translation), else
found on the world path (sole points low and still). The root's acceleration comes from the
poses' measured pelvis acceleration while they carry one, else from the root path.
"""

import numpy as np
from geometry_msgs.msg import Point, Vector3
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

from fip_msgs.msg import BodyParams, JointMoments, SmplPose
from fip_ros.core.body_limits import MASS_RANGE
from fip_ros.core.smpl_tree import JOINT_NAMES
from fip_ros.physics.dynamics_estimator import DynamicsEstimator
from fip_ros.physics.joint_moments import NAMES, anatomical_moments
from fip_ros.ros import qos
from fip_ros.ros.conversions import (
    local_rot_from_quats,
    smpl_pose_quats,
    valid_quats,
    vec_ros_to_smpl,
    vec_smpl_to_ros,
)
from fip_ros.ros.nodes import run_node
from fip_ros.ros.params import FALLBACK_BODY, body_from_msg, declare_parameters, descriptor, fallback_body


def root_translation(msg: SmplPose) -> np.ndarray | None:
    """The pose's estimated root position in SMPL axes (3,), or None when it carries none (the path is then
    anchored from the pose alone)."""
    if not msg.translation_valid:
        return None
    t = msg.root_translation
    tran = vec_ros_to_smpl([t.x, t.y, t.z])
    return tran if np.isfinite(tran).all() else None


def foot_contact(msg: SmplPose) -> np.ndarray | None:
    """The translation estimator's left/right foot-contact probabilities (2,) that come with the pose's root
    translation, or None without them."""
    if not (msg.contact_valid and msg.translation_valid):
        return None
    p = np.asarray(msg.foot_contact_probability, dtype=np.float64)
    return p if np.isfinite(p).all() and ((p >= 0.0) & (p <= 1.0)).all() else None


def pelvis_acceleration(msg: SmplPose) -> np.ndarray | None:
    """The pose's measured pelvis free acceleration in SMPL axes (3,), or None when it carries none."""
    if not msg.acceleration_valid:
        return None
    a = msg.pelvis_acceleration
    acc = vec_ros_to_smpl([a.x, a.y, a.z])
    return acc if np.isfinite(acc).all() else None


def _vec(v) -> Vector3:
    x, y, z = (float(c) for c in vec_smpl_to_ros(np.asarray(v, dtype=float)))
    return Vector3(x=x, y=y, z=z)


def _point(v) -> Point:
    x, y, z = (float(c) for c in vec_smpl_to_ros(np.asarray(v, dtype=float)))
    return Point(x=x, y=y, z=z)


PARAMETERS = {
    "world_frame": ("world", descriptor("Frame of the published vectors and markers (REP 103)")),
    **FALLBACK_BODY,
    "mass": (75.0, descriptor("Fallback body mass, kg", False, *MASS_RANGE)),
    "fps": (60.0, descriptor("Pose rate, Hz (differentiation step)", True, 10.0, 1000.0)),
    "window": (11, descriptor("Savitzky-Golay window, frames (odd); delay = window // 2 + 1",
                              True, 5, 31, integer=True)),
    "contact_threshold": (0.5, descriptor("Contact probability above which a foot is in contact",
                                          False, 0.0, 1.0)),
    "publish_markers": (True, descriptor("Publish wrench_markers (GRF arrows, CoP)", False)),
    "force_scale": (0.001, descriptor("Marker arrow length per newton, m/N", False, 0.0, 0.1)),
}


class DynamicsNode(Node):
    """Joint moments, ground reactions and contacts from the pose stream (one DynamicsEstimator per body),
    published with the stamp of the pose they describe."""

    def __init__(self, **kwargs):
        super().__init__("dynamics", **kwargs)
        declare_parameters(self, PARAMETERS)
        g = self.get_parameter
        body = {**fallback_body(self), "mass": g("mass").value}
        self.subject_id = ""
        self.estimator = DynamicsEstimator(body, g("fps").value, g("window").value)
        self.stamps = []
        self.rejected = 0
        self.pub = self.create_publisher(JointMoments, "joint_moments", qos.RELIABLE)
        self.pub_anatomical = self.create_publisher(JointState, "lower_limb_moments", qos.RELIABLE)
        self.pub_markers = self.create_publisher(MarkerArray, "wrench_markers", qos.RELIABLE)
        self.create_subscription(SmplPose, "pose", self._on_pose, qos.RELIABLE)
        self.create_subscription(BodyParams, "body_params", self._on_body_params, qos.LATCHED)

    def _on_body_params(self, msg: BodyParams):
        body = {**body_from_msg(msg), "mass": msg.mass if msg.mass > 0 else self.get_parameter("mass").value}
        try:
            self.estimator.set_body(body)
        except ValueError as e:
            self.get_logger().warning(f"ignoring body_params: {e}")
            return
        self.subject_id = msg.subject_id
        self.stamps.clear()

    def _on_pose(self, msg: SmplPose):
        # LOST poses are frozen copies: moments from them would describe a body that is not moving.
        if msg.tracking_status in (SmplPose.STATUS_UNCALIBRATED, SmplPose.STATUS_INITIALIZING,
                                   SmplPose.STATUS_LOST):
            return
        quats = smpl_pose_quats(msg)
        if not valid_quats(quats):
            self.rejected += 1
            self.get_logger().warning(f"rejected invalid SmplPose ({self.rejected} so far)",
                                      throttle_duration_sec=5.0)
            return
        self.stamps.append(msg.header.stamp)
        out = self.estimator.step(local_rot_from_quats(quats), pelvis_acceleration(msg),
                                  root_translation(msg), foot_contact(msg))
        del self.stamps[:-(self.estimator.delay + 1)]
        if out is None:
            return
        stamp = self.stamps[0]
        self.pub.publish(self._moments_msg(stamp, out))
        self.pub_anatomical.publish(JointState(
            header=self._header(stamp), name=list(NAMES),
            effort=[float(v) for v in anatomical_moments(out["moments_local"]).numpy()]))
        if self.get_parameter("publish_markers").value:
            self.pub_markers.publish(self._markers(stamp, out))

    def _header(self, stamp) -> Header:
        return Header(stamp=stamp, frame_id=self.get_parameter("world_frame").value)

    def _moments_msg(self, stamp, out) -> JointMoments:
        m = JointMoments()
        m.header = self._header(stamp)
        m.subject_id = self.subject_id
        m.joint_names = list(JOINT_NAMES)
        m.moments = [_vec(v) for v in out["moments"].numpy()]
        m.body_mass, m.body_height = float(self.estimator.mass), float(self.estimator.height)
        grf, cop, p = out["grf"].numpy(), out["cop"].numpy(), out["contact"].numpy()
        m.left_grf, m.right_grf = _vec(grf[0]), _vec(grf[1])
        m.left_cop, m.right_cop = _point(cop[0]), _point(cop[1])
        threshold = self.get_parameter("contact_threshold").value
        m.left_contact, m.right_contact = bool(p[0] > threshold), bool(p[1] > threshold)
        m.left_contact_probability, m.right_contact_probability = float(p[0]), float(p[1])
        m.root_residual_force = _vec(out["residual_force"].numpy())
        m.root_residual_moment = _vec(out["residual_moment"].numpy())
        return m

    def _markers(self, stamp, out) -> MarkerArray:
        frame, scale = self.get_parameter("world_frame").value, self.get_parameter("force_scale").value
        markers = []
        for k, side in enumerate(("left", "right")):
            cop, force = out["cop"][k].numpy(), out["grf"][k].numpy()
            arrow = Marker(ns=f"grf/{side}", id=0, type=Marker.ARROW, action=Marker.ADD)
            arrow.header.stamp, arrow.header.frame_id = stamp, frame
            arrow.pose.orientation.w = 1.0
            arrow.points = [_point(cop), _point(cop + force * scale)]
            arrow.scale.x, arrow.scale.y, arrow.scale.z = 0.02, 0.04, 0.06
            arrow.color.r, arrow.color.g, arrow.color.b = (0.1, 0.8, 0.2) if k == 0 else (0.9, 0.2, 0.2)
            arrow.color.a = float(max(0.1, out["contact"][k]))
            markers.append(arrow)
        return MarkerArray(markers=markers)


def main(args=None):
    return run_node(DynamicsNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
