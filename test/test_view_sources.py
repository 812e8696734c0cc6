"""fip-view's sources, known answers: a standing clip's dynamics carry the body weight on both feet; a bag's
and the live graph's SmplPose / JointMoments / BodyParams land in the SMPL frame at the right place, per
namespace; crafted files are refused with the reason."""

import numpy as np
import pytest
import torch
from builtin_interfaces.msg import Time
from helpers import BODY, fake_smpl_model, standing_clip
from rclpy.serialization import serialize_message

from fip_msgs.msg import BodyParams, JointMoments
from fip_ros.core.body_model import offsets_for_body
from fip_ros.core.gravity import GRAVITY
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.ros import qos
from fip_ros.ros.bag_tools import POSE_TYPE, BagWriter
from fip_ros.ros.conversions import smpl_pose_msg
from fip_ros.ros.view_source import BODY_TYPE, MOMENTS_TYPE, LiveSource, load_bag
from fip_ros.visualization.tracks import load_clip

TPOSE = np.broadcast_to(np.eye(3), (24, 3, 3)).copy()
SHORT = dict(sex="female", height=1.55, arm_length=0.46, leg_length=0.74)


def tpose_joints(body, root_smpl):
    off = offsets_for_body(body).double()
    return forward_kinematics(torch.as_tensor(TPOSE), off, torch.as_tensor(root_smpl, dtype=torch.float64))[1]


def on_floor(joints, body) -> bool:
    """Placed by stance anchoring: pelvis above the origin, the lowest sole point on the floor."""
    from fip_ros.physics.contact import sole_points

    soles = sole_points(torch.as_tensor(joints), body["height"])
    return np.allclose(joints[0, [0, 2]], 0.0, atol=1e-9) and abs(float(soles[:, 1].min())) < 0.01


def moments_msg(stamp):
    m = JointMoments()
    m.header.stamp = stamp
    m.joint_names = [str(i) for i in range(24)]
    m.moments = [type(m.left_grf)(x=float(i), y=0.0, z=0.0) for i in range(24)]  # ROS x = SMPL z
    m.left_grf.z, m.right_grf.z = 700.0, 35.0  # ROS up = SMPL y
    m.left_cop.x, m.left_cop.y = 1.0, 2.0
    m.left_contact_probability, m.right_contact_probability = 0.9, 0.1
    return m


def test_standing_clip_dynamics_carry_body_weight(tmp_path):
    track = load_clip(standing_clip(tmp_path / "standing.npz"), mass=75.0)
    inner = slice(20, -20)
    assert (track.contact[inner] > 0.9).all()
    weight = track.grf[inner].sum(1)
    assert np.allclose(weight[:, 1], 75.0 * GRAVITY, rtol=0.02) and np.abs(weight[:, [0, 2]]).max() < 5.0
    assert track.joints[:, [10, 11], 1].min() == pytest.approx(0.05, abs=1e-6)  # feet 5 cm above the floor


def test_clip_dynamics_keys_are_shown_as_written(tmp_path):
    path = standing_clip(tmp_path / "standing.npz", frames=30)
    with np.load(path) as z:
        arrays = dict(z)
    grf = np.zeros((30, 2, 3))
    grf[:, 0, 1] = 123.0
    np.savez(tmp_path / "estimate.npz", **arrays, contact=np.ones((30, 2)), grf=grf, cop=np.zeros((30, 2, 3)),
             moments=np.zeros((30, 24, 3)))
    track = load_clip(tmp_path / "estimate.npz")
    assert track.name == "standing" and np.array_equal(track.grf, grf) and len(track) == 30


@pytest.mark.parametrize("content,reason", [
    (dict(local_rot=np.zeros((2, 24, 3, 3))), "missing tran, offsets, body, fps"),
    ("object", "cannot read .*allow_pickle=False"),
    ("nan", "non-finite"),
    (b"not a zip file", "cannot read"),
])
def test_crafted_clip_files_are_refused(tmp_path, content, reason):
    path = tmp_path / "bad.npz"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        np.savez(path, **content)
    else:
        with np.load(standing_clip(tmp_path / "ok.npz", frames=30)) as z:
            arrays = dict(z)
        if content == "object":
            arrays["tran"] = np.array([{"x": 1}] * 30, dtype=object)
        else:
            arrays["tran"][3, 1] = np.nan
        np.savez(path, **arrays)
    with pytest.raises(ValueError, match=reason):
        load_clip(path)


def test_bag_people_by_namespace(tmp_path):
    bag = BagWriter(tmp_path / "bag")
    for topic, msgtype in (("/alice/pose", POSE_TYPE), ("/alice/joint_moments", MOMENTS_TYPE),
                           ("/alice/body_params", BODY_TYPE), ("/pose", POSE_TYPE)):
        bag.add_topic(topic, msgtype)
    bag.write("/alice/body_params", 0, serialize_message(BodyParams(sex=BodyParams.SEX_FEMALE, **{
        k: v for k, v in SHORT.items() if k != "sex"})))
    for i in range(10):
        stamp = Time(sec=100, nanosec=i * 16_666_667)
        t_ns = 100 * 10**9 + i * 16_666_667
        bag.write("/alice/pose", t_ns, serialize_message(smpl_pose_msg(stamp, "world", "alice", TPOSE,
                                                                       (1.0 + i, 2.0, 0.9))))
        bag.write("/pose", t_ns, serialize_message(smpl_pose_msg(stamp, "world", "bob", TPOSE)))
        if i == 5:  # a broken pose in between is left out, the others stay
            bad = smpl_pose_msg(Time(sec=100, nanosec=i * 16_666_667 + 1), "world", "bob", TPOSE)
            bad.local_rotations[3].w = float("nan")
            bag.write("/pose", t_ns + 1, serialize_message(bad))
        if i >= 3:  # the dynamics node's output starts after its filter delay
            bag.write("/alice/joint_moments", t_ns, serialize_message(moments_msg(stamp)))
    bag.close()

    bob, alice = load_bag(tmp_path / "bag")  # sorted by namespace: "" first
    assert (alice.name, bob.name) == ("alice", "pose") and len(alice) == len(bob) == 10
    assert np.allclose(alice.times, np.arange(10) / 60.0, atol=1e-6)
    # ROS (x forward, y left, z up) -> SMPL (x left, y up, z forward); the body of /alice/body_params.
    assert np.allclose(alice.joints[4], tpose_joints(SHORT, (2.0, 0.9, 5.0)), atol=1e-5)
    rel = tpose_joints(BODY, (0.0, 0.0, 0.0)).numpy()  # bob's poses carry no translation
    assert np.allclose(bob.joints - bob.joints[:, :1], rel - rel[0], atol=1e-5)
    assert on_floor(bob.joints[9], BODY)
    assert np.isnan(alice.grf[:3]).all() and bob.grf is None
    assert np.allclose(alice.grf[3:, 0], [0, 700, 0]) and np.allclose(alice.grf[3:, 1], [0, 35, 0])
    assert np.allclose(alice.cop[5, 0], [2.0, 0.0, 1.0]) and np.allclose(alice.contact[5], [0.9, 0.1])
    assert np.allclose(alice.moments[5, 7], [0.0, 0.0, 7.0])


def test_bag_without_poses_is_refused(tmp_path):
    bag = BagWriter(tmp_path / "bag")
    bag.add_topic("/alice/body_params", BODY_TYPE)
    bag.close()
    with pytest.raises(ValueError, match="no fip_msgs/SmplPose topic"):
        load_bag(tmp_path / "bag")


class FakeViewer:
    def __init__(self):
        self.shown, self.paths, self.statuses = [], [], []

    def show(self, name, frame, faces=None):
        self.shown.append((name, frame))

    def trajectory(self, name, pelvis):
        self.paths.append((name, pelvis))

    def look_at(self, point):
        pass

    def follow(self, point):
        pass

    def status(self, name, text):
        self.statuses.append((name, text))


def test_live_poses_and_dynamics_per_namespace(ros_context, ros_node, spin_until):
    from fip_msgs.msg import SmplPose

    viewer = FakeViewer()
    live = LiveSource(viewer, ["alice", ""], context=ros_context)
    pubs = {name: ros_node.create_publisher(SmplPose, f"{ns}/pose", qos.RELIABLE)
            for name, ns in (("alice", "/alice"), ("pose", ""))}
    body = ros_node.create_publisher(BodyParams, "/alice/body_params", qos.LATCHED)
    moments = ros_node.create_publisher(JointMoments, "/alice/joint_moments", qos.RELIABLE)
    body.publish(BodyParams(sex=BodyParams.SEX_FEMALE, **{k: v for k, v in SHORT.items() if k != "sex"}))
    nodes = [live.node, ros_node]
    assert spin_until(nodes, lambda: live.node.count_publishers("/alice/pose") == 1
                      and ros_node.count_subscribers("/alice/joint_moments") == 1, 10)
    short = offsets_for_body(SHORT).double()
    assert spin_until(nodes, lambda: torch.allclose(live.state["alice"]["skel"].offsets, short), 10)
    moments.publish(moments_msg(Time()))
    assert spin_until(nodes, lambda: bool(live.state["alice"]["dyn"]), 10)
    pubs["alice"].publish(smpl_pose_msg(Time(sec=1), "world", "alice", TPOSE, (0.5, -1.0, 0.9)))
    assert spin_until(nodes, lambda: any(n == "alice" for n, _ in viewer.shown), 10)
    frame = next(f for n, f in viewer.shown if n == "alice")
    assert np.allclose(frame["joints"], tpose_joints(SHORT, (-1.0, 0.9, 0.5)), atol=1e-5)
    assert np.allclose(frame["grf"][0], [0.0, 700.0, 0.0]) and np.allclose(frame["contact"], [0.9, 0.1])
    assert viewer.statuses == [("alice", "OK")]
    bad = smpl_pose_msg(Time(sec=2), "world", "bob", TPOSE)
    bad.root_orientation.w = float("nan")  # refused, the stream goes on
    pubs["pose"].publish(bad)
    pubs["pose"].publish(smpl_pose_msg(Time(sec=3), "world", "bob", TPOSE))
    assert spin_until(nodes, lambda: any(n == "pose" for n, _ in viewer.shown), 10)
    frames = [f for n, f in viewer.shown if n == "pose"]
    assert len(frames) == 1 and on_floor(frames[0]["joints"], BODY)
    live.node.destroy_node()


def test_clip_mesh_from_smpl_model(tmp_path):
    """--smpl: the posed mesh of a generated model file in the SMPL format (vertex clusters around the joints,
    helpers.fake_smpl_model), its pelvis cluster at the clip's pelvis position."""
    from fip_ros.core.smpl_model import SmplBody

    fake_smpl_model(tmp_path / "SMPL_NEUTRAL.npz", vertices_per_joint=3)
    track = load_clip(standing_clip(tmp_path / "standing.npz", frames=30), smpl=SmplBody(str(tmp_path)))
    assert track.vertices.shape == (30, 24 * 3, 3) and track.faces.shape == (24, 3)
    assert np.allclose(track.vertices[:, :3].mean(1), track.joints[:, 0], atol=1e-6)
