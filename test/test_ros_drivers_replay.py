"""imu_replay through DDS: six REP 145 streams from a synthesised clip, /clock, ground truth, loop.

The received raw data must calibrate (core calibration, as the estimator does) back to the clip's bone
orientations, which checks frames, mounting, heading and gravity handling end to end.
"""

from pathlib import Path

import numpy as np
import torch
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import Imu

from fip_msgs.msg import SmplPose
from fip_ros.core.body_model import offsets_for_body
from fip_ros.core.calibration import apply_calibration, estimate_calibration
from fip_ros.core.imu_synthesis import STENCIL, synthesize
from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.core.smpl_tree import SENSOR_NAMES
from fip_ros.data.motion import Motion
from fip_ros.ros import qos
from fip_ros.ros.conversions import M_SMPL_TO_ROS, imu_topic, time_to_ns
from fip_ros.ros.nodes.imu_replay import ImuReplay

BODY = dict(sex="male", height=1.75, arm_length=0.51, leg_length=0.84)
FRAMES, TPOSE, BLEND = 60, 30, 30  # the clip; the still T-pose and the blend into the clip in front
LEAD = TPOSE + BLEND
DRIVERS_YAML = str(Path(__file__).resolve().parents[1] / "config" / "drivers.yaml")


def make_clip(path):
    t = np.arange(FRAMES) / 60.0
    rotvec = np.zeros((FRAMES, 24, 3))
    rotvec[:, 18, 1] = 0.6 * np.sin(2 * np.pi * t)
    rotvec[:, 4, 0] = 0.4 * np.sin(2 * np.pi * t)
    rotvec[:, 0, 1] = 0.3 * t  # the pelvis turns: heading matters
    tran = np.stack([0 * t, 0.95 + 0 * t, 0.6 * t], -1)
    motion = Motion(axis_angle_to_matrix(torch.tensor(rotvec)).numpy(), tran, offsets_for_body(BODY).numpy(),
                    BODY["sex"], name="test")
    motion.save_npz(path)
    return motion


def subscribe(node):
    got = {s: [] for s in SENSOR_NAMES}
    for site in SENSOR_NAMES:
        node.create_subscription(Imu, imu_topic(site), lambda m, s=site: got[s].append(m), qos.SENSOR_DATA)
    gt, clock = [], []
    node.create_subscription(SmplPose, "ground_truth/pose", gt.append, qos.RELIABLE)
    node.create_subscription(Clock, "/clock", clock.append, 100)
    return got, gt, clock


def params(clip, **extra):
    values = dict(dict(source=str(clip), tpose_seconds=0.5, rate=2.0, publish_clock=True, start_time=50.0,
                       orientation_stddev=0.01), **extra)
    return [Parameter(k, value=v) for k, v in values.items()]


def arrays(msgs):
    quat = np.array([[m.orientation.x, m.orientation.y, m.orientation.z, m.orientation.w] for m in msgs])
    acc = np.array([[m.linear_acceleration.x, m.linear_acceleration.y, m.linear_acceleration.z]
                    for m in msgs])
    gyro = np.array([[m.angular_velocity.x, m.angular_velocity.y, m.angular_velocity.z] for m in msgs])
    return Rotation.from_quat(quat).as_matrix(), acc, gyro


def test_replay_clip_rep145_calibrates_back(tmp_path, ros_context, ros_node, spin_until):
    motion = make_clip(tmp_path / "clip.npz")
    got, gt, clock = subscribe(ros_node)
    node = ImuReplay(context=ros_context, parameter_overrides=params(tmp_path / "clip.npz"))
    total = FRAMES + LEAD
    try:
        assert spin_until([node, ros_node], lambda: all(len(v) == total for v in got.values()) and
                          len(gt) == total, 20), {s: len(v) for s, v in got.items()}
        spin_until([node, ros_node], lambda: False, 0.3)  # nothing more may come without loop
    finally:
        node.destroy_node()
    assert all(len(v) == total for v in got.values()) and len(clock) == total

    rot, acc, gyro = (np.stack(a, 1) for a in zip(*(arrays(got[s]) for s in SENSOR_NAMES), strict=True))
    first = got["pelvis"][0]
    assert first.header.frame_id == "imu_pelvis"
    stamps = np.array([time_to_ns(m.header.stamp) for m in got["head"]])
    assert stamps[0] == 50 * 10**9 and np.allclose(np.diff(stamps), 1e9 / 60, atol=1)
    assert time_to_ns(clock[0].clock) == stamps[0]
    # REP 145 covariances: given stddev -> variance on the diagonal; 0 -> unknown (all zeros).
    assert np.allclose(first.orientation_covariance, np.diag([1e-4] * 3).ravel())
    assert not any(first.linear_acceleration_covariance)
    # At rest the specific force is +g up in the device world frame (ENU, z up), in every sensor.
    world_force = (rot[:TPOSE] @ acc[:TPOSE, ..., None])[..., 0]
    assert np.allclose(world_force, [0.0, 0.0, 9.81], atol=1e-4)
    # Gyro = body-frame rate from orientation differences.
    rel = Rotation.from_matrix((np.swapaxes(rot[:-1], -1, -2) @ rot[1:]).reshape(-1, 3, 3))
    assert np.allclose(gyro[1:], rel.as_rotvec().reshape(-1, 6, 3) * 60, atol=1e-4)

    # Calibrate on the T-pose as the estimator does; the motion must come back as the clip's bones.
    raw_ori, raw_acc = torch.tensor(rot), torch.tensor(acc)
    cal = estimate_calibration(raw_ori[5:TPOSE - 5], raw_acc[5:TPOSE - 5])
    acc_cal, ori_cal = apply_calibration(cal, raw_ori, raw_acc)
    imu = synthesize(torch.tensor(motion.local_rot, dtype=torch.float64),
                     torch.tensor(motion.offsets, dtype=torch.float64),
                     torch.tensor(motion.tran, dtype=torch.float64))
    assert torch.allclose(ori_cal[LEAD:], imu["ori"], atol=1e-4)
    # The acceleration's stencil reaches back into the lead-in for the clip's first frames, where the pelvis
    # starts moving.
    assert torch.allclose(acc_cal[LEAD + STENCIL:], imu["acc"][STENCIL:], atol=1e-3)
    # The lead-in: T-pose bones (identity) while still, then a smooth blend ending at the clip's first pose.
    assert torch.allclose(ori_cal[:TPOSE], torch.eye(3, dtype=ori_cal.dtype), atol=1e-4)
    assert torch.allclose(acc_cal[:TPOSE], torch.zeros(3, dtype=acc_cal.dtype), atol=1e-3)
    blend_ori = ori_cal[TPOSE - 1:LEAD + 1]
    turn = (blend_ori[1:] - blend_ori[:-1]).flatten(1).norm(dim=-1)
    assert turn.max() < 0.1 and (ori_cal[LEAD - 1] - imu["ori"][0]).abs().max() < 0.02

    # Ground truth: root orientation in ROS axes, local rotations unchanged, translation in ROS axes.
    pose = gt[LEAD + 10]
    q = pose.root_orientation
    root = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
    assert np.allclose(root, M_SMPL_TO_ROS @ motion.local_rot[10, 0], atol=1e-5)
    q = pose.local_rotations[18]
    elbow = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
    assert np.allclose(elbow, motion.local_rot[10, 18], atol=1e-5)
    t = pose.root_translation
    assert np.allclose([t.x, t.y, t.z], M_SMPL_TO_ROS @ motion.tran[10], atol=1e-5)
    assert pose.translation_valid
    assert not pose.contact_valid  # mocap has no contact estimate: the dynamics node finds its own


def test_replay_config_file_namespace_and_loop(tmp_path, ros_context, ros_node, spin_until):
    """config/drivers.yaml (`/**/imu_replay:` keys) applies to a namespaced node; loop keeps stamps rising."""
    make_clip(tmp_path / "clip.npz")
    got = {"head": []}
    ros_node.create_subscription(Imu, "/subject1/imu/head/data", got["head"].append, qos.SENSOR_DATA)
    node = ImuReplay(context=ros_context, namespace="subject1", cli_args=[
        "--ros-args", "--params-file", DRIVERS_YAML, "-p", f"source:={tmp_path / 'clip.npz'}",
        "-p", "loop:=true", "-p", "rate:=4.0", "-p", "tpose_seconds:=0.5", "-p", "frame_prefix:=s1_"])
    try:
        assert node.get_parameter("world_frame").value == "world"  # from the file
        assert spin_until([node, ros_node], lambda: len(got["head"]) > FRAMES + LEAD + 20, 20)
    finally:
        node.destroy_node()
    stamps = np.array([time_to_ns(m.header.stamp) for m in got["head"]])
    assert np.all(np.diff(stamps) > 0)
    assert got["head"][0].header.frame_id == "s1_imu_head"
