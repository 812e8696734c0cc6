"""Dynamics node in-process: SmplPose + BodyParams in, JointMoments (N m, ROS axes) and markers out."""

import numpy as np
import pytest

pytest.importorskip("fip_msgs.msg")

from geometry_msgs.msg import Quaternion  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

from fip_msgs.msg import BodyParams, JointMoments, SmplPose  # noqa: E402
from fip_ros.core.smpl_tree import JOINT_NAMES  # noqa: E402
from fip_ros.ros import qos  # noqa: E402
from fip_ros.ros.conversions import M_SMPL_TO_ROS, quat_from_matrix  # noqa: E402
from fip_ros.ros.nodes.dynamics import DynamicsNode  # noqa: E402

MASS = 70.0


def _pose(stamp_ns: int, status: int = SmplPose.STATUS_OK, up_acc: float | None = None) -> SmplPose:
    """Standing T-pose; ``up_acc``: a measured pelvis acceleration straight up (ROS z), m/s^2."""
    msg = SmplPose()
    if up_acc is not None:
        msg.pelvis_acceleration.z, msg.acceleration_valid = up_acc, True
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    msg.header.frame_id = "world"
    x, y, z, w = quat_from_matrix(M_SMPL_TO_ROS)  # T-pose standing upright: R_pelvis_smpl = I
    msg.root_orientation = Quaternion(x=x, y=y, z=z, w=w)
    msg.local_rotations = [Quaternion(w=1.0) for _ in range(24)]
    msg.tracking_status = status
    return msg


def test_static_pose_gives_weight_and_shoulder_moment(ros_context, ros_node, spin_until):
    node = DynamicsNode(context=ros_context)
    got, markers = [], []
    ros_node.create_subscription(JointMoments, "joint_moments", got.append, qos.RELIABLE)
    ros_node.create_subscription(MarkerArray, "wrench_markers", markers.append, qos.RELIABLE)
    body_pub = ros_node.create_publisher(BodyParams, "body_params", qos.LATCHED)
    pose_pub = ros_node.create_publisher(SmplPose, "pose", qos.RELIABLE)
    body_pub.publish(BodyParams(subject_id="s1", sex=BodyParams.SEX_FEMALE, height=1.65, arm_length=0.5,
                                leg_length=0.78, mass=MASS))
    assert spin_until([node, ros_node], lambda: node.subject_id == "s1", timeout=10.0)
    sent = []

    def publish_next():
        if len(sent) < 30:
            sent.append(int(1e9) + len(sent) * 16_666_667)
            pose_pub.publish(_pose(sent[-1]))
        return len(got) >= 10 and len(markers) >= 1

    assert spin_until([node, ros_node], publish_next, timeout=20.0)
    msg = got[-1]
    assert list(msg.joint_names) == list(JOINT_NAMES) and msg.subject_id == "s1"
    assert msg.body_mass == pytest.approx(MASS)
    # Standing still: the feet carry the weight (ROS z up) and the stamp is the pose's, delay frames back.
    total_z = msg.left_grf.z + msg.right_grf.z
    assert total_z == pytest.approx(MASS * 9.81, rel=0.02)
    assert msg.left_contact and msg.right_contact
    stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
    assert stamp_ns in sent and stamp_ns < sent[len(got) - 1 + node.estimator.delay + 1]
    # The left shoulder holds the horizontal arm (along ROS +y) up: a positive moment about ROS +x.
    shoulder = msg.moments[16]
    assert shoulder.x > 1.0 and abs(shoulder.y) < 1e-3 and abs(shoulder.z) < 1e-3
    assert np.isfinite([msg.root_residual_force.x, msg.root_residual_moment.z]).all()
    node.destroy_node()


def test_lower_limb_moments_are_the_child_axis_components(ros_context, ros_node, spin_until):
    """lower_limb_moments (JointState efforts): each named moment is the signed component of that joint's
    moment in the child segment's axes (standing T-pose: child axes = world; SMPL x, y, z = ROS y, z, x)."""
    from sensor_msgs.msg import JointState

    from fip_ros.physics.joint_moments import ANATOMICAL, NAMES

    node = DynamicsNode(context=ros_context)
    anatomical = []
    ros_node.create_subscription(JointState, "lower_limb_moments", anatomical.append, qos.RELIABLE)
    moments, _ = _feed(node, ros_node, spin_until, lambda stamp, _: _pose(stamp),
                       lambda got, _: len(got) >= 5 and len(anatomical) >= 5)
    js = anatomical[-1]
    match = next(m for m in moments if m.header.stamp == js.header.stamp)
    assert list(js.name) == list(NAMES) and js.header.frame_id == match.header.frame_id
    ros_axis = {0: "y", 1: "z", 2: "x"}
    for (name, body, axis, sign), effort in zip(ANATOMICAL, js.effort, strict=True):
        assert effort == pytest.approx(sign * getattr(match.moments[body], ros_axis[axis]), abs=1e-4), name
    # The symmetric stance gives each named moment the same value on both legs (signs mirror correctly).
    effort = dict(zip(js.name, js.effort, strict=True))
    for name in NAMES[::2]:
        assert effort[name] == pytest.approx(effort[name.replace("left", "right")], abs=1e-3), name
    assert abs(effort["left_hip_abduction"]) > 10.0  # not trivially zero
    node.destroy_node()


def _feed(node, ros_node, spin_until, make_pose, done, count: int = 30):
    """Publish up to ``count`` poses ``make_pose(stamp_ns, index)`` at 60 Hz stamps until ``done(got, sent)``;
    returns the JointMoments received and the stamps sent."""
    got, sent = [], []
    ros_node.create_subscription(JointMoments, "joint_moments", got.append, qos.RELIABLE)
    pose_pub = ros_node.create_publisher(SmplPose, "pose", qos.RELIABLE)
    assert spin_until([node, ros_node], lambda: pose_pub.get_subscription_count() > 0, timeout=10.0)

    def publish_next():
        if len(sent) < count:
            sent.append(int(1e9) + len(sent) * 16_666_667)
            pose_pub.publish(make_pose(sent[-1], len(sent) - 1))
        return done(got, sent)

    assert spin_until([node, ros_node], publish_next, timeout=20.0)
    return got, sent


def test_lost_and_initializing_poses_give_no_moments(ros_context, ros_node, spin_until):
    """A LOST pose is a frozen copy and an INITIALIZING one is not settled: neither may become a moment."""
    node = DynamicsNode(context=ros_context)
    statuses = (SmplPose.STATUS_INITIALIZING, SmplPose.STATUS_LOST)
    got, _ = _feed(node, ros_node, spin_until, lambda stamp, i: _pose(stamp, statuses[i % 2]),
                   lambda got, sent: len(sent) >= 30)
    spin_until([node, ros_node], lambda: False, timeout=1.0)  # let any (wrong) output arrive
    assert got == [] and len(node.stamps) == 0
    node.destroy_node()


def test_measured_pelvis_acceleration_reaches_the_ground_reaction(ros_context, ros_node, spin_until):
    """Poses carrying a pelvis acceleration of 2 m/s^2 up: the feet push m (g + 2), not the weight alone that
    the (flat) anchored root path implies."""
    node = DynamicsNode(context=ros_context)
    got, _ = _feed(node, ros_node, spin_until, lambda stamp, _: _pose(stamp, up_acc=2.0),
                   lambda got, sent: len(got) >= 5)
    msg = got[-1]
    mass = node.estimator.mass
    assert msg.left_grf.z + msg.right_grf.z == pytest.approx(mass * (9.81 + 2.0), rel=0.01)
    node.destroy_node()


def test_the_estimators_foot_contacts_are_used(ros_context, ros_node, spin_until):
    """Poses carrying the translation estimator's contacts (left 0.9, right 0.1): the node publishes those
    and puts the weight on the left foot; without them (contact_valid false) it finds both feet down on the
    same still path."""
    for valid, expect in ((True, (0.9, 0.1)), (False, (1.0, 1.0))):
        node = DynamicsNode(context=ros_context)

        def make(stamp, _, valid=valid):
            msg = _pose(stamp)
            msg.root_translation.x, msg.root_translation.z, msg.translation_valid = 1.5, 0.95, True
            msg.foot_contact_probability, msg.contact_valid = [0.9, 0.1], valid
            return msg

        got, _ = _feed(node, ros_node, spin_until, make, lambda got, sent: len(got) >= 5)
        msg = got[-1]
        probability = (msg.left_contact_probability, msg.right_contact_probability)
        assert probability == pytest.approx(expect, abs=0.02)
        if valid:
            assert msg.left_grf.z > 0.8 * node.estimator.mass * 9.81 and msg.right_grf.z < msg.left_grf.z
        node.destroy_node()
