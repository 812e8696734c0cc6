"""End to end through real DDS: `fip-bringup --graph replay` (one process: imu_replay -> estimator ->
smpl_tf_broadcaster, body_params) seen by this test process as a plain tf2 listener would see it."""

import signal

import numpy as np
from helpers import random_checkpoint, synthetic_clip

from fip_ros.ros.smpl_frames import joint_frames, origin_frame, parent_frames


def _ns(stamp):
    return stamp.sec * 10**9 + stamp.nanosec


def test_replay_graph_publishes_valid_tf_for_all_joints(ros_context, spawn_python, spin_until, tmp_path,
                                                        monkeypatch):
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Imu
    from tf2_msgs.msg import TFMessage
    from visualization_msgs.msg import MarkerArray

    from fip_ros.ros import qos

    monkeypatch.setenv("ROS_HOME", str(tmp_path))  # body_params persists its state there
    ckpt = random_checkpoint(tmp_path / "random.pt")
    clip = synthetic_clip(tmp_path / "clip.npz", seconds=3.0)
    replay_params = tmp_path / "replay.yaml"
    replay_params.write_text("/**:\n  ros__parameters:\n    tpose_seconds: 2.0\n")

    node = Node("tf_listener", context=ros_context)
    tf, static, markers, imu_stamps = [], [], [], set()
    node.create_subscription(TFMessage, "/tf", tf.append, qos.TF)
    node.create_subscription(TFMessage, "/tf_static", static.append, qos.TF_STATIC)
    node.create_subscription(MarkerArray, "skeleton_markers", markers.append, qos.RELIABLE)
    # Deep history: this listener must not miss an input stamp while it is busy (keep-last 10 would).
    node.create_subscription(Imu, "imu/pelvis/data", lambda m: imu_stamps.add(_ns(m.header.stamp)),
                             QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE))
    proc = spawn_python("-m", "fip_ros.cli.bringup", "--graph", "replay", "--clip", clip, "--model", ckpt,
                        "--body-id", "7", "--params", f"imu_replay={replay_params}", "--duration", "40")
    try:
        assert spin_until(node, lambda: len(tf) >= 90, timeout=45), f"{len(tf)} /tf messages"
        children = joint_frames("7")
        parents = dict(zip(children, parent_frames("7"), strict=True))
        for msg in tf:
            assert sorted(t.child_frame_id for t in msg.transforms) == sorted(children)
            for t in msg.transforms:
                assert t.header.frame_id == parents[t.child_frame_id]
                r, p = t.transform.rotation, t.transform.translation
                q = np.array([r.x, r.y, r.z, r.w])
                assert np.isfinite(q).all() and np.isfinite([p.x, p.y, p.z]).all()
                assert abs(np.linalg.norm(q) - 1.0) < 1e-6
        # Output stamp = input stamp: one /tf per input frame, carrying its stamp. (This busy listener may
        # miss a few IMU messages itself: a reliable keep-last writer drops samples for slow readers.)
        tf_stamps = {_ns(m.transforms[0].header.stamp) for m in tf}
        seen = {s for s in tf_stamps if min(imu_stamps) <= s <= max(imu_stamps)}
        assert len(tf_stamps) == len(tf) and len(seen) >= 60
        assert len(seen & imu_stamps) >= 0.9 * len(seen), (len(seen & imu_stamps), len(seen))
        assert any(t.child_frame_id == origin_frame("7") and t.header.frame_id == "world"
                   for m in static for t in m.transforms)
        assert markers and len(markers[-1].markers[1].points) == 24
        # Bone lengths on /tf are the body's: the pelvis -> left hip offset is a few centimetres.
        hip = next(t for t in tf[-1].transforms if t.child_frame_id == "left_hip_7").transform.translation
        assert 0.03 < np.linalg.norm([hip.x, hip.y, hip.z]) < 0.2
    finally:
        node.destroy_node()
        proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0, proc.stdout.read()
