"""Players start when the estimator listens: imu_replay holds its T-pose until every IMU topic has a
subscriber (nothing is lost to a slow start) and sends the clip's measured body to body_params; bag_player
waits only for the topics someone will subscribe to (its IMU topics, not ground_truth/pose); the bag graph
(`fip-bringup --graph bag --bag DIR`) runs end to end."""

import copy
import os
import signal
import subprocess
from pathlib import Path

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from helpers import synthetic_clip
from rclpy.parameter import Parameter
from sensor_msgs.msg import Imu

from fip_msgs.msg import BodyParams, SmplPose
from fip_ros.core.smpl_tree import SENSOR_NAMES
from fip_ros.ros import qos
from fip_ros.ros.bag_tools import write_recording
from fip_ros.ros.conversions import imu_topic, time_to_ns
from fip_ros.ros.nodes.bag_player import BagPlayer
from fip_ros.ros.nodes.body_params import BodyParamsNode
from fip_ros.ros.nodes.imu_replay import ImuReplay
from fip_ros.ros.recordings import load_recording

EXE = Path(__file__).resolve().parents[1] / "install" / "fip_ros" / "lib" / "fip_ros"
BODY = dict(sex="female", height=1.62, arm_length=0.48, leg_length=0.77)


def _deep(profile, depth=1000):
    profile = copy.copy(profile)
    profile.depth = depth
    return profile


def _subscribe_all(node, profile=qos.SENSOR_DATA):
    got = {s: [] for s in SENSOR_NAMES}
    subs = [node.create_subscription(Imu, "/" + imu_topic(s), got[s].append, profile) for s in SENSOR_NAMES]
    return got, subs


def test_replay_waits_for_subscribers_and_sends_the_clip_body(tmp_path, ros_context, ros_node, spin_until):
    body_node = BodyParamsNode(context=ros_context, parameter_overrides=[
        Parameter("storage_path", value=str(tmp_path / "body.yaml"))])
    replay = ImuReplay(context=ros_context, parameter_overrides=[
        Parameter("source", value=synthetic_clip(tmp_path / "clip.npz", 1.0, body=BODY)),
        Parameter("tpose_seconds", value=0.5),
        Parameter("publish_clock", value=True), Parameter("start_time", value=7.0),
        Parameter("wait_for_subscribers", value=1), Parameter("set_body_params", value=True)])
    nodes = [replay, body_node, ros_node]
    try:
        # The clip's body reaches body_params (its mass stays the person's), while nobody listens yet.
        assert spin_until(nodes, lambda: body_node.values["height"] == 1.62, 15)
        assert body_node.values["sex"] == "female" and body_node.values["mass"] == 70.0
        spin_until(nodes, lambda: False, 1.0)
        assert replay.published == 0  # five of six topics subscribed are not enough either:
        got, subs = _subscribe_all(ros_node)
        ros_node.destroy_subscription(subs[0])
        spin_until(nodes, lambda: False, 0.5)
        assert replay.published == 0
        ros_node.create_subscription(Imu, imu_topic(SENSOR_NAMES[0]), got[SENSOR_NAMES[0]].append,
                                     qos.SENSOR_DATA)
        total = 60 + 30
        assert spin_until(nodes, lambda: all(len(v) == total for v in got.values()), 20)
    finally:
        replay.destroy_node()
        body_node.destroy_node()
    # Every frame arrived, the first T-pose frame first.
    stamps = [time_to_ns(m.header.stamp) for m in got["head"]]
    assert stamps[0] == 7 * 10**9 and np.all(np.diff(stamps) > 0)


def test_bag_player_waits_for_imu_topics_only(tmp_path, ros_context, ros_node, spin_until):
    bag = tmp_path / "bag"
    clip = synthetic_clip(tmp_path / "clip.npz", 1.0, body=BODY)
    write_recording(load_recording(clip, tpose_seconds=0.5), bag)
    player = BagPlayer(context=ros_context, parameter_overrides=[
        Parameter("bag", value=str(bag)), Parameter("rate", value=4.0),
        Parameter("wait_for_subscribers", value=1)])
    try:
        spin_until([player, ros_node], lambda: False, 0.5)
        assert player.published == 0
        got, _ = _subscribe_all(ros_node, 200)  # reliable, every message; nobody takes ground_truth/pose
        # done: the player's thread sets it after its last publish, which may reach us first; 120 samples per
        # stream: 0.5 s T-pose, 0.5 s blend into the clip, the 1 s clip
        assert spin_until([player, ros_node], lambda: all(len(v) == 120 for v in got.values())
                          and player.done, 20), ({s: len(v) for s, v in got.items()}, player.done)
    finally:
        player.destroy_node()


def test_bag_graph_end_to_end(tmp_path, ros_node, spin_until):
    bag = tmp_path / "bag"
    clip = synthetic_clip(tmp_path / "clip.npz", 2.0, body=BODY)
    write_recording(load_recording(clip, tpose_seconds=2.0), bag)
    poses, bodies, published = [], [], [0]

    def on_diagnostics(msg):
        for status in msg.status:
            values = {v.key: v.value for v in status.values}
            if status.name.endswith("FIP estimator") and "published" in values:
                published[0] = int(values["published"])

    # The count is the estimator's own (its /diagnostics): a busy test process may lose poses itself, since
    # the pose writer keeps 10 for a reader that lags, and /pose is volatile, so a reader matched late misses
    # the first ones. /pose only has to show the graph's subject.
    ros_node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, qos.RELIABLE)
    ros_node.create_subscription(SmplPose, "/pose", poses.append, _deep(qos.RELIABLE))
    ros_node.create_subscription(BodyParams, "/body_params", bodies.append, qos.LATCHED)
    cmd = [str(EXE / "fip-bringup"), "--graph", "bag", "--bag", str(bag), "--backend", "onnx"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            env=dict(os.environ, ROS_HOME=str(tmp_path)))
    try:
        # The player waited for the estimator, so the 2 s T-pose calibrated it and the motion came through.
        came = spin_until(ros_node, lambda: published[0] >= 100 and poses, 60)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        out = proc.communicate(timeout=10)[0].decode()
    assert came, f"{published[0]} poses published, {len(poses)} received\n{out}"
    assert proc.returncode == 0 and "Traceback" not in out, out
    assert bodies and poses[-1].subject_id == bodies[-1].subject_id == "0"
