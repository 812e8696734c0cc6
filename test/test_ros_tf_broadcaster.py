"""SMPL TF broadcaster: transform maths against forward kinematics, and the node through real DDS
(frame names with prefix/body id, /tf_static origin, invalid poses never reach /tf)."""

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from fip_ros.core.body_model import offsets_for_body
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.smpl_tree import JOINT_NAMES
from fip_ros.ros.body_tf import joint_transforms
from fip_ros.ros.conversions import (
    M_SMPL_TO_ROS,
    QUAT_TOLERANCE,
    quat_from_matrix,
    smpl_pose_msg,
    time_from_ns,
    valid_quats,
)
from fip_ros.ros.smpl_frames import joint_frames, origin_frame, parent_frames

BODY = dict(sex="female", height=1.65, arm_length=0.48, leg_length=0.79)


def _random_pose(seed):
    return Rotation.random(24, random_state=seed).as_matrix()


def test_valid_quats_wants_finite_unit_quaternions():
    q = quat_from_matrix(_random_pose(0))
    assert valid_quats(q) and valid_quats(q * (1 + 0.5 * QUAT_TOLERANCE))
    assert not valid_quats(q * (1 + 2 * QUAT_TOLERANCE))
    for bad in (np.nan, np.inf):
        q[3, 1] = bad
        assert not valid_quats(q)


def test_tpose_frames_are_upright_and_bones_follow_ros_axes():
    offsets = offsets_for_body(BODY).double().numpy()
    trans, quats, pos = joint_transforms(np.tile(np.eye(3), (24, 1, 1)), offsets)
    assert np.allclose(np.abs(quats[:, 3]), 1.0)                 # REP 103 axes in T-pose: identity
    name = {n: i for i, n in enumerate(JOINT_NAMES)}
    assert pos[name["left_hip"], 1] > 0.03                       # left = +y
    assert pos[name["head"], 2] > 0.4                            # up = +z
    assert pos[name["left_ankle"], 2] < -0.6
    assert np.allclose(trans[1:], offsets[1:] @ M_SMPL_TO_ROS.T)


def test_positions_match_forward_kinematics_in_ros_axes():
    offsets = offsets_for_body(BODY).double().numpy()
    local = _random_pose(0)
    _, fk = forward_kinematics(torch.from_numpy(local), torch.from_numpy(offsets))
    _, quats, pos = joint_transforms(local, offsets)
    assert np.allclose(pos, fk.numpy() @ M_SMPL_TO_ROS.T, atol=1e-6)
    assert np.allclose(np.linalg.norm(quats, axis=1), 1.0)


def test_node_publishes_tf_static_and_rejects_invalid_poses(ros_context, spin_until):
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from tf2_msgs.msg import TFMessage
    from visualization_msgs.msg import MarkerArray

    from fip_msgs.msg import SmplPose
    from fip_ros.ros import qos
    from fip_ros.ros.nodes.smpl_tf_broadcaster import SmplTfBroadcaster

    params = dict(body_id="3", frame_prefix="alice/", world_frame="map", origin_offset=[1.0, 2.0, 0.9])
    node = SmplTfBroadcaster(context=ros_context,
                             parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    probe = Node("probe", context=ros_context)
    tf, static, markers = [], [], []
    probe.create_subscription(TFMessage, "/tf", tf.append, qos.TF)
    probe.create_subscription(TFMessage, "/tf_static", static.append, qos.TF_STATIC)
    probe.create_subscription(MarkerArray, "skeleton_markers", markers.append, qos.RELIABLE)
    pub = probe.create_publisher(SmplPose, "pose", qos.RELIABLE)
    nodes = [node, probe]
    try:
        assert spin_until(nodes, lambda: pub.get_subscription_count() > 0 and static, timeout=10)
        origin = [t for m in static for t in m.transforms if t.child_frame_id == origin_frame("3", "alice/")]
        assert origin and origin[0].header.frame_id == "map" and origin[0].transform.translation.y == 2.0

        good = smpl_pose_msg(time_from_ns(1_000), "map", "3", _random_pose(1))
        nan = smpl_pose_msg(time_from_ns(2_000), "map", "3", _random_pose(2))
        nan.local_rotations[5].x = float("nan")
        non_unit = smpl_pose_msg(time_from_ns(3_000), "map", "3", _random_pose(3))
        non_unit.root_orientation.w = 2.0
        last = smpl_pose_msg(time_from_ns(4_000), "map", "3", _random_pose(4))
        for msg in (good, nan, non_unit, last):
            pub.publish(msg)
        assert spin_until(nodes, lambda: len(tf) >= 2, timeout=10)
        spin_until(nodes, lambda: False, timeout=0.3)
        assert [m.transforms[0].header.stamp.nanosec for m in tf] == [1_000, 4_000]
        assert node.rejected == 2
        frames = joint_frames("3", "alice/")
        assert frames[0] == "alice/body_3" and frames[4] == "alice/left_knee_3"
        for m in tf:
            assert [t.child_frame_id for t in m.transforms] == frames
            assert [t.header.frame_id for t in m.transforms] == parent_frames("3", "alice/")
        assert markers and markers[-1].markers[0].header.frame_id == "alice/origin_3"
    finally:
        node.destroy_node()
        probe.destroy_node()


def test_mesh_markers_with_an_smpl_model(ros_context, spin_until, tmp_path):
    from helpers import fake_smpl_model
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from visualization_msgs.msg import Marker, MarkerArray

    from fip_msgs.msg import SmplPose
    from fip_ros.ros import qos
    from fip_ros.ros.nodes.smpl_tf_broadcaster import SmplTfBroadcaster

    model = fake_smpl_model(tmp_path / "SMPL_MALE.npz")
    node = SmplTfBroadcaster(context=ros_context, parameter_overrides=[
        Parameter("smpl_model_path", value=model), Parameter("mesh_period", value=0.0)])
    probe = Node("probe", context=ros_context)
    mesh = []
    probe.create_subscription(MarkerArray, "mesh_markers", mesh.append, qos.RELIABLE)
    pub = probe.create_publisher(SmplPose, "pose", qos.RELIABLE)
    try:
        assert node.mesh is not None
        assert spin_until([node, probe], lambda: pub.get_subscription_count() > 0, timeout=10)
        pub.publish(smpl_pose_msg(time_from_ns(5_000), "world", "0", _random_pose(5)))
        assert spin_until([node, probe], lambda: mesh, timeout=10)
        m = mesh[0].markers[0]
        assert m.type == Marker.TRIANGLE_LIST and len(m.points) == 3 * 24 and m.header.frame_id == "origin_0"
        pts = np.array([[p.x, p.y, p.z] for p in m.points])
        assert np.isfinite(pts).all() and np.abs(pts).max() < 2.0
    finally:
        node.destroy_node()
        probe.destroy_node()


def test_serialised_tf_matches_the_transforms():
    """BodyTf writes the pose into its serialised TFMessage in place: deserialised, it is the message one
    would build from joint_transforms, with every frame id and the stamp."""
    from rclpy.serialization import deserialize_message
    from tf2_msgs.msg import TFMessage

    from fip_ros.ros.body_tf import BodyTf

    offsets = offsets_for_body(BODY).double().numpy()
    local = _random_pose(3)
    for body_id, prefix in (("0", ""), ("p12", "alice/")):  # frame ids of other lengths: other alignments
        tf = BodyTf(body_id, prefix)
        stamp = time_from_ns(1_700_000_000_987_654_321)
        tf.fill(stamp, local, offsets)
        msg = deserialize_message(tf.data, TFMessage)
        trans, quats, _ = joint_transforms(local, offsets)
        assert [t.child_frame_id for t in msg.transforms] == joint_frames(body_id, prefix)
        assert [t.header.frame_id for t in msg.transforms] == parent_frames(body_id, prefix)
        for t, tr, q in zip(msg.transforms, trans, quats, strict=True):
            assert (t.header.stamp.sec, t.header.stamp.nanosec) == (stamp.sec, stamp.nanosec)
            tt, r = t.transform.translation, t.transform.rotation
            assert [tt.x, tt.y, tt.z, r.x, r.y, r.z, r.w] == [*tr, *q]
