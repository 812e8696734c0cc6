"""End to end through real DDS: `fip-bringup --graph replay` with the shipped weights replays a held-out
walking clip (CMU 07, test split, from the shared mocap); the TF body frame origin_<id> -> body_<id> must
travel the clip's own path (REP 103 axes). Skips cleanly without ../shared."""

import signal
import time
from pathlib import Path

import numpy as np
import pytest

MOCAP = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mocap"
CLIP = "cmu-iclone/007_01.bvh"


def test_replay_graph_body_frame_follows_the_clip(ros_context, spawn_python, spin_until, tmp_path,
                                                  monkeypatch):
    if not (MOCAP / CLIP).is_file():
        pytest.skip("shared mocap (../shared/data/mocap) absent")
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Imu
    from tf2_msgs.msg import TFMessage

    from fip_ros.finetune.clips import from_mocap
    from fip_ros.ros import qos
    from fip_ros.ros.conversions import time_to_ns, vec_smpl_to_ros
    from fip_ros.ros.recordings import BLEND_SECONDS
    from fip_ros.ros.smpl_frames import origin_frame

    monkeypatch.setenv("ROS_HOME", str(tmp_path))
    motion = from_mocap(CLIP)
    clip = str(motion.save_npz(tmp_path / "walk.npz"))
    true = vec_smpl_to_ros(np.asarray(motion.tran, float) - motion.tran[0])
    distance = float(np.linalg.norm(np.diff(true[:, :2], axis=0), axis=-1).sum())
    replay_params = tmp_path / "replay.yaml"
    tpose_seconds = 6.0
    replay_params.write_text(f"/**:\n  ros__parameters:\n    tpose_seconds: {tpose_seconds}\n")

    node = Node("tf_listener", context=ros_context)
    body = []  # (stamp ns, position) of body_7 in origin_7
    origin = origin_frame("7")

    def on_tf(msg):
        for t in msg.transforms:
            if t.header.frame_id == origin:
                p = t.transform.translation
                body.append((time_to_ns(t.header.stamp), np.array([p.x, p.y, p.z])))

    node.create_subscription(TFMessage, "/tf", on_tf, qos.TF)
    sent = {}  # stamp -> orientation (x, y, z, w) of the replayed pelvis frames (the synchroniser's clock)
    last_sent = [0.0]  # monotonic time of the latest one

    def on_imu(msg):
        q = msg.orientation
        sent[time_to_ns(msg.header.stamp)] = np.array([q.x, q.y, q.z, q.w])
        last_sent[0] = time.monotonic()

    node.create_subscription(Imu, "imu/pelvis/data", on_imu,
                             QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE))
    proc = spawn_python("-m", "fip_ros.cli.bringup", "--graph", "replay", "--clip", clip, "--body-id", "7",
                        "--params", f"imu_replay={replay_params}", "--duration", "40")
    frames = motion.frames
    total = round((tpose_seconds + BLEND_SECONDS) * motion.fps) + frames  # T-pose, blend into the clip, clip

    def replayed():
        # The stream has ended (the replay waits for the graph's subscribers, not for this test's, so a busy
        # machine may lose the first T-pose frames here) and the pose of its last frame is on /tf (stamp =
        # its IMU stamp); the replay's log says below that it sent every frame.
        quiet = sent and time.monotonic() - last_sent[0] > 3.0
        return bool(quiet) and max(sent) in {stamp for stamp, _ in body}

    try:
        # The calibration takes the first second of the still T-pose; then 5 s still, the blend, the clip.
        done = spin_until(node, replayed, timeout=90)
    finally:
        node.destroy_node()
        proc.send_signal(signal.SIGINT)
    code, out = proc.wait(timeout=20), proc.stdout.read()
    assert done and code == 0, f"{len(sent)}/{total} frames received, {len(body)} poses, exit {code}:\n{out}"
    assert f"replay finished after {total} frames" in out.decode(), out
    body.sort(key=lambda x: x[0])
    stamps, pos = np.array([t for t, _ in body]), np.stack([p for _, p in body])
    # Standing still in the T-pose after calibration: the calibration takes the T-pose's first second, the
    # network's legs then settle (about 8 s on ideal IMUs, docs/translation.md), and the body frame stays
    # put until the blend into the clip, which starts where the pelvis sensor first turns. Checked by stamp
    # (a busy machine may deliver the first frames and poses to this test late or not at all) over the 1.8 s
    # before the blend. Put means within the sway and settling of FIP's still legs: for this clip's body
    # (1.85 m) the anchored root moves by 0.9 cm in that window with the shipped weights; the walk below
    # travels 4.1 m.
    ori = sorted(sent.items())
    blend = next(t for t, q in ori if abs(np.dot(q, ori[0][1])) < 1.0 - 1e-6)
    still = (stamps >= blend - 2.0e9) & (stamps < blend - 0.2e9)
    settled = pos[still]
    assert len(pos) > frames and still.sum() > motion.fps
    assert np.linalg.norm(settled - settled[0], axis=-1).max() < 0.015
    # Walking: the body frame travels the clip's path within the bound, 10 % of the distance (the
    # replay eases from the T-pose into the clip as a person does; measured 0.9 % of the 4.1 m).
    moved = (pos[-1] - settled[-1])[:2]
    end = np.linalg.norm(moved - true[-1, :2])
    assert end <= 0.10 * distance, (end, distance, moved, true[-1])
    assert np.dot(moved, true[-1, :2]) > 0.9 * np.linalg.norm(moved) * np.linalg.norm(true[-1, :2])
