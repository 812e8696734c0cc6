"""The estimator node on the torch-free runtime: backend onnx never imports torch (a real node in its own
process), and one node serves two people over real DDS, each with their own topics, body, calibration
service, status and /diagnostics entry."""

import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from fip_ros.core.smpl_tree import SENSOR_NAMES

G = 9.80665

NODE_WITHOUT_TORCH = """
import sys, time
import numpy as np
import rclpy
from rclpy.parameter import Parameter
from rclpy.serialization import serialize_message
from fip_ros.ros.conversions import make_imu, time_from_ns
from fip_ros.ros.nodes.estimator import Estimator

rclpy.init()
node = Estimator(parameter_overrides=[Parameter("backend", value="onnx"),
                                      Parameter("model_path", value=sys.argv[1]),
                                      Parameter("auto_calibration_duration", value=0.25)])
stamp = time.time_ns()
for _ in range(40):  # the callbacks as the executor calls them (raw subscriptions: serialised messages)
    stamp += 16_666_667
    for c in range(6):
        msg = make_imu(time_from_ns(stamp), "imu", [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 9.80665])
        node._on_imu(node.people[0], c, serialize_message(msg))
published = node.trackers[0].counters["published"]
assert published >= 20, node.trackers[0].counters
assert "torch" not in sys.modules, "the onnx estimator imported torch"
node.destroy_node()
rclpy.shutdown()
print("published", published)
"""


@pytest.mark.parametrize("model_path", ["", "shipped .pt"])
def test_onnx_estimator_never_imports_torch(model_path):
    """The shipped graphs by default, and for the shipped checkpoint named explicitly (found by its hash)."""
    from fip_ros.runtime.graph import WEIGHTS_DIR

    path = str(WEIGHTS_DIR / "fip_default.pt") if model_path else ""
    out = subprocess.run([sys.executable, "-c", NODE_WITHOUT_TORCH, path], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "published" in out.stdout


def test_one_node_serves_two_people(ros_context):
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Imu
    from tf2_msgs.msg import TFMessage

    from fip_msgs.msg import BodyParams, SmplPose
    from fip_msgs.srv import Calibrate
    from fip_ros.ros import qos
    from fip_ros.ros.conversions import imu_topic, make_imu, time_from_ns
    from fip_ros.ros.nodes.estimator import Estimator

    est = Estimator(context=ros_context, parameter_overrides=[
        Parameter("backend", value="onnx"), Parameter("bodies", value=["p1", "p2"]),
        Parameter("auto_calibrate", value=False), Parameter("diagnostics_period", value=0.2),
        Parameter("publish_tf", value=True)])
    feeder = Node("feeder", context=ros_context)
    pubs = {p: [feeder.create_publisher(Imu, f"{p}/{imu_topic(s)}", qos.RELIABLE) for s in SENSOR_NAMES]
            for p in ("p1", "p2")}
    poses = {"p1": [], "p2": []}
    for p in poses:
        feeder.create_subscription(SmplPose, f"{p}/pose", poses[p].append, qos.RELIABLE)
    diags, tf, tf_static = [], [], []
    feeder.create_subscription(DiagnosticArray, "/diagnostics", diags.append, qos.RELIABLE)
    feeder.create_subscription(TFMessage, "/tf", tf.append, qos.TF)
    feeder.create_subscription(TFMessage, "/tf_static", tf_static.append, qos.TF_STATIC)
    latched = feeder.create_publisher(BodyParams, "p2/body_params", qos.LATCHED)
    latched.publish(BodyParams(subject_id="p2", sex=BodyParams.SEX_FEMALE, height=1.6, arm_length=0.47,
                               leg_length=0.76, mass=55.0))
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(est)
    executor.add_node(feeder)
    stamp = [time.time_ns()]

    def spin(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.005)

    def frames(n, who=("p1", "p2")):
        for _ in range(n):
            stamp[0] += 16_666_667
            for p in who:
                for pub in pubs[p]:
                    pub.publish(make_imu(time_from_ns(stamp[0]), "imu", [0.0, 0.0, 0.0, 1.0], [0.0] * 3,
                                         [0.0, 0.0, G]))
            spin(1 / 60)

    try:
        deadline = time.monotonic() + 10
        while any(pub.get_subscription_count() == 0 for ps in pubs.values() for pub in ps):
            assert time.monotonic() < deadline
            spin(0.05)
        spin(0.3)
        p1, p2 = est.trackers
        assert p2.body["sex"] == "female" and p1.body["sex"] == "male"
        # Only p2 calibrates (its own service): only p2 gets poses.
        client = feeder.create_client(Calibrate, "p2/calibrate")
        assert client.wait_for_service(timeout_sec=5)
        future = client.call_async(Calibrate.Request(pose=Calibrate.Request.T_POSE, duration=0.2))
        for _ in range(60):
            if future.done():
                break
            frames(1)
        assert future.done() and future.result().success, future.result()
        frames(30)
        spin(0.3)
        assert p1.calibration is None and poses["p1"] == []
        assert len(poses["p2"]) >= 20 and {m.subject_id for m in poses["p2"]} == {"p2"}
        # Then p1 too: both are tracked, each with their own status and /diagnostics entry.
        future = feeder.create_client(Calibrate, "p1/calibrate").call_async(
            Calibrate.Request(pose=Calibrate.Request.T_POSE, duration=0.2))
        for _ in range(60):
            if future.done():
                break
            frames(1)
        assert future.result().success
        frames(30)
        spin(0.5)
        assert len(poses["p1"]) >= 20 and {m.subject_id for m in poses["p1"]} == {"p1"}
        # /tf from the estimator: 24 frames per person under its own origin, stamped with the IMU stamps.
        stamps = {m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in poses["p1"]}
        body_tf = {m.transforms[0].child_frame_id: m for m in tf}
        assert set(body_tf) == {"body_p1", "body_p2"} and all(len(m.transforms) == 24 for m in tf)
        assert {m.transforms[0].header.stamp.sec * 10**9 + m.transforms[0].header.stamp.nanosec for m in tf
                if m.transforms[0].child_frame_id == "body_p1"} == stamps
        origins = {t.child_frame_id: t.transform.translation.y for m in tf_static for t in m.transforms}
        assert origins == {"origin_p1": 0.0, "origin_p2": 1.0}
        names = {s.name for d in diags for s in d.status}
        assert any("[p1]" in n for n in names) and any("[p2]" in n for n in names), names
        # p2's sensors stop: p2 is held and then LOST, p1 goes on OK.
        n1 = len(poses["p1"])
        frames(60, who=("p1",))
        spin(0.3)
        assert len(poses["p1"]) >= n1 + 50 and poses["p1"][-1].tracking_status == SmplPose.STATUS_OK
        for m in poses["p1"] + poses["p2"]:
            q = np.array([[r.x, r.y, r.z, r.w] for r in [m.root_orientation, *m.local_rotations]])
            assert np.isfinite(q).all()
    finally:
        executor.shutdown()
        est.destroy_node()
        feeder.destroy_node()


def test_imu_read_in_place_from_its_serialisation():
    """The estimator's raw IMU subscriptions read the CDR bytes directly: the same values as rclpy's
    deserialisation, whatever the frame id's length (alignment) and whichever fields are marked missing."""
    from rclpy.serialization import serialize_message

    from fip_ros.ros.conversions import imu_sample, imu_sample_from_cdr, make_imu, time_from_ns

    rng = np.random.default_rng(0)
    for n in range(12):
        q, w, a = rng.normal(size=4), rng.normal(size=3), rng.normal(size=3)
        for missing in (None, "quat", "gyro", "acc"):
            msg = make_imu(time_from_ns(1_700_000_000_123_456_789 + n), "f" * n,
                           None if missing == "quat" else q, None if missing == "gyro" else w,
                           None if missing == "acc" else a, 0.1, 0.2, 0.3)
            assert imu_sample_from_cdr(serialize_message(msg)) == imu_sample(msg)
    # A big-endian XCDR2 sender (doubles aligned to 4), packed by hand: the same fields come out.
    frame = b"imu_head\0"
    body = struct.pack(">iIi", 5, 7, len(frame)) + frame
    body += b"\0" * (-len(body) % 4)
    values = ([0.0, 0.0, 0.6, 0.8] + [0.0] * 9 + [1.0, 2.0, 3.0] + [-1.0] + [0.0] * 8  # gyro marked missing
              + [4.0, 5.0, 6.0] + [0.0] * 9)
    data = b"\x00\x06\x00\x00" + body + struct.pack(">37d", *values)
    assert imu_sample_from_cdr(data) == (5_000_000_007, (0.0, 0.0, 0.6, 0.8), None, (4.0, 5.0, 6.0))


def test_bad_body_lists_are_refused_in_one_line(ros_context):
    from rclpy.parameter import Parameter

    from fip_ros.ros.nodes.estimator import Estimator

    for bodies in (["p1", "p1"], ["bad id"], ["/absolute"], ["p1", "9lives"]):
        with pytest.raises(ValueError, match="bodies must be distinct relative ROS names"):
            Estimator(context=ros_context, parameter_overrides=[Parameter("backend", value="onnx"),
                                                                Parameter("bodies", value=bodies)])


def test_implausible_stamps_and_the_calibration_wait_reach_diagnostics(ros_context):
    """Stamps 11 days ahead of the node's clock: poses DEGRADED, /diagnostics WARN with the offset; before
    that, the diagnostics say why the person is not tracked yet (a moving window: the retry's reason)."""
    from diagnostic_msgs.msg import DiagnosticStatus
    from rclpy.parameter import Parameter
    from rclpy.serialization import serialize_message

    from fip_msgs.msg import SmplPose
    from fip_ros.ros.conversions import make_imu, time_from_ns
    from fip_ros.ros.nodes.estimator import Estimator

    node = Estimator(context=ros_context, parameter_overrides=[
        Parameter("backend", value="onnx"), Parameter("auto_calibration_duration", value=0.25)])
    person = node.people[0]
    published = []
    node._publish = lambda items: published.extend(pose for _, pose in items)
    rng = np.random.default_rng(0)
    ahead = 11 * 86400 * 10**9
    stamp = time.time_ns() + ahead
    try:
        def feed(frames, moving=False):
            nonlocal stamp
            for _ in range(frames):
                stamp += 16_666_667
                for c in range(6):
                    q = np.array([0.0, 0.0, 0.0, 1.0]) + (rng.normal(0, 0.2, 4) if moving else 0)
                    msg = make_imu(time_from_ns(stamp), "imu", q / np.linalg.norm(q), [0.0] * 3,
                                   [0.0, 0.0, G + (rng.normal() * 3 if moving else 0)])
                    node._on_imu(person, c, serialize_message(msg))

        feed(20, moving=True)
        d = node._diagnostic(person)
        assert d.level == DiagnosticStatus.WARN and "retrying" in d.message and "still" in d.message
        feed(120)  # calibrates; INITIALIZING for status_window, then DEGRADED (never OK)
        statuses = [p.status for p in published]
        assert SmplPose.STATUS_OK not in statuses and statuses[-30:] == [SmplPose.STATUS_DEGRADED] * 30
        d = node._diagnostic(person)
        values = {v.key: v.value for v in d.values}
        assert d.level == DiagnosticStatus.WARN and "implausible stamps" in d.message
        assert float(values["clock_offset_s"]) == pytest.approx(11 * 86400, rel=1e-3)
        assert int(values["implausible_stamps"]) >= 40
        assert d.name.endswith("[0]: FIP estimator") and d.hardware_id == "0"
    finally:
        node.destroy_node()


def test_estimator_process_answers_calibrate_while_it_takes_the_frames(ros_node, spawn_python):
    """The estimator's own process (rclpy's events executor where it has one): the calibrate service, a
    coroutine, waits for a window of frames that the same executor goes on taking, then answers."""
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Imu

    from fip_msgs.srv import Calibrate
    from fip_ros.ros import qos
    from fip_ros.ros.conversions import imu_topic, make_imu, time_from_ns

    spawn_python("-m", "fip_ros.ros.nodes.estimator", "--ros-args", "-p", "auto_calibrate:=false")
    pubs = [ros_node.create_publisher(Imu, imu_topic(s), qos.RELIABLE) for s in SENSOR_NAMES]
    client = ros_node.create_client(Calibrate, "calibrate")
    assert client.wait_for_service(timeout_sec=60)
    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)
    try:
        deadline = time.monotonic() + 10
        while any(p.get_subscription_count() == 0 for p in pubs) and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        future = client.call_async(Calibrate.Request(pose=Calibrate.Request.N_POSE, duration=0.5))
        while not future.done() and time.monotonic() < deadline + 10:  # still frames at 60 Hz
            stamp = time_from_ns(time.time_ns())
            for site, pub in zip(SENSOR_NAMES, pubs, strict=True):
                pub.publish(make_imu(stamp, f"imu_{site}", [0.0, 0.0, 0.0, 1.0], [0.0] * 3, [0.0, 0.0, G]))
            executor.spin_once(timeout_sec=1 / 60)
    finally:
        executor.remove_node(ros_node)
        executor.shutdown()
    assert future.done() and future.result().success, future.result()
    assert "npose calibration from" in future.result().message
