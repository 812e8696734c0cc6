"""Bag round trip through DDS: clip -> fip-bag convert -> bag_player -> bag_recorder -> compare.

Both storages. The player publishes raw CDR, the recorder subscribes raw, so every recorded message must
be byte-identical to the converted one (counts, stamps and values all follow).
"""

import numpy as np
import pytest
import torch
from rclpy.serialization import deserialize_message
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu

from fip_ros.cli.bag import main as fip_bag
from fip_ros.core.body_model import offsets_for_body
from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.data.motion import Motion
from fip_ros.ros.bag_tools import bag_topics, read_bag
from fip_ros.ros.conversions import time_to_ns
from fip_ros.ros.nodes.bag_player import BagPlayer
from fip_ros.ros.nodes.bag_recorder import BagRecorder

BODY = dict(sex="male", height=1.75, arm_length=0.51, leg_length=0.84)


def make_clip(path, frames=60):
    t = np.arange(frames) / 60.0
    rotvec = np.zeros((frames, 24, 3))
    rotvec[:, 18, 1] = 0.6 * np.sin(2 * np.pi * t)
    rotvec[:, 4, 0] = 0.4 * np.sin(2 * np.pi * t)
    tran = np.stack([0 * t, 0.95 + 0 * t, 0.6 * t], -1)
    Motion(axis_angle_to_matrix(torch.tensor(rotvec)).numpy(), tran, offsets_for_body(BODY).numpy(),
           BODY["sex"], name="test").save_npz(path)
    return path


def grouped(path):
    out = {}
    for topic, msgtype, _, data in read_bag(path):
        out.setdefault(topic, []).append((msgtype, bytes(data)))
    return out


def test_info_shows_start_time_and_duration(tmp_path, capsys):
    bag = tmp_path / "bag"
    assert fip_bag(["convert", "--clip", str(make_clip(tmp_path / "clip.npz")), "--out", str(bag),
                    "--tpose-seconds", "0.5", "--start-time", "100"]) == 0
    capsys.readouterr()
    assert fip_bag(["info", str(bag)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "start:     1970-01-01T00:01:40.000+00:00 (100.000 s)"
    assert lines[1] == f"duration:  {119 / 60:.3f} s"  # 120 samples at 60 Hz: T-pose, blend, clip
    assert sum(" 120 msgs " in line for line in lines) == 7
    assert fip_bag(["info", str(tmp_path / "clip.npz")]) == 2  # not a bag: one line, no traceback


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_convert_play_record_roundtrip(tmp_path, ros_context, ros_node, spin_until, storage):
    clip = make_clip(tmp_path / "clip.npz")
    original = tmp_path / "converted"
    assert fip_bag(["convert", "--clip", str(clip), "--out", str(original), "--storage", storage,
                    "--tpose-seconds", "0.5", "--start-time", "100"]) == 0
    topics = bag_topics(original)
    assert len(topics) == 7 and all(count == 120 for _, count, _ in topics.values())
    assert all(q[0].reliability.name == "RELIABLE" for _, _, q in topics.values())

    recorded = tmp_path / "recorded"
    recorder = BagRecorder(context=ros_context, parameter_overrides=[
        _param("output", str(recorded)), _param("storage", storage), _param("topics", list(topics))])
    clock = []
    ros_node.create_subscription(Clock, "/clock", clock.append, 1000)
    player = BagPlayer(context=ros_context, parameter_overrides=[
        _param("bag", str(original)), _param("rate", 3.0), _param("wait_for_subscribers", 1),
        _param("publish_clock", True)])
    try:
        def finished():
            return player.done and sum(recorder.counts.values()) >= 7 * 120
        assert spin_until([recorder, player, ros_node], finished, 25)
        assert player.published == 7 * 120
    finally:
        player.destroy_node()
        recorder.destroy_node()

    a, b = grouped(original), grouped(recorded)
    assert set(a) == set(b)
    for topic in a:
        assert len(b[topic]) == len(a[topic]) == 120, topic
        assert b[topic] == a[topic], f"{topic}: recorded messages differ from the converted ones"
    # /clock carried the bag time: 100 s + 119 frames at 60 Hz.
    last = 100 * 10**9 + round(119e9 / 60)
    assert spin_until(ros_node, lambda: clock and time_to_ns(clock[-1].clock) == last, 5)
    imus = [deserialize_message(data, Imu) for _, data in b["/imu/pelvis/data"]]
    stamps = np.array([time_to_ns(m.header.stamp) for m in imus])
    assert stamps[0] == 100 * 10**9 and np.allclose(np.diff(stamps), 1e9 / 60, atol=1)
    # Raw REP 145 data: at rest (T-pose segment) the specific force reads +g, gyro ~ 0.
    acc = np.array([[m.linear_acceleration.x, m.linear_acceleration.y, m.linear_acceleration.z]
                    for m in imus])
    assert np.allclose(np.linalg.norm(acc[:20], axis=1), 9.81, atol=1e-3)
    assert imus[0].header.frame_id == "imu_pelvis"


def _param(name, value):
    from rclpy.parameter import Parameter
    return Parameter(name, value=value)


def test_bag_type_hashes_match_the_built_interfaces():
    """Bags written here carry the same RIHS01 type hashes as rosidl computed for fip_msgs, so ROS tools
    accept them."""
    import json
    import os

    from fip_ros.ros.bag_tools import typestore

    store = typestore()
    checked = 0
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        for name in ("SmplPose", "BodyParams", "JointMoments"):
            path = os.path.join(prefix, "share", "fip_msgs", "msg", f"{name}.json")
            if os.path.exists(path):
                hashes = {h["type_name"]: h["hash_string"] for h in json.load(open(path))["type_hashes"]}
                assert store.hash_rihs01(f"fip_msgs/msg/{name}") == hashes[f"fip_msgs/msg/{name}"]
                checked += 1
    assert checked >= 3, "fip_msgs is not built/sourced (source env.sh)"
