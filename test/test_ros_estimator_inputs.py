"""Estimator node through real DDS: calibration, bad input (NaN, range, quaternion, missing sensor,
time going backwards), the calibrate service; nothing invalid is ever published."""

import threading
import time

import numpy as np
import pytest
from helpers import random_checkpoint

from fip_ros.core.smpl_tree import SENSOR_NAMES

G = 9.80665
STILL_ACC = np.array([0.0, 0.0, G])  # REP 145 specific force of a level sensor at rest
IDENTITY = np.array([0.0, 0.0, 0.0, 1.0])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return random_checkpoint(tmp_path_factory.mktemp("fip") / "random.pt")


class Rig:
    """Estimator + a feeder node publishing IMU frames, spun by one single-threaded executor in a thread (as
    the node's own process spins it; the calibrate service is a coroutine, so one thread serves it and the IMU
    callbacks)."""

    def __init__(self, context, checkpoint, **params):
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from rclpy.parameter import Parameter
        from sensor_msgs.msg import Imu

        from fip_msgs.msg import SmplPose
        from fip_ros.ros import qos
        from fip_ros.ros.conversions import imu_topic
        from fip_ros.ros.nodes.estimator import Estimator

        # backend torch: random weights have no shipped ONNX graphs (onnx would export them at start-up)
        overrides = dict(model_path=checkpoint, backend="torch", auto_calibration_duration=0.25,
                         diagnostics_period=0.2, **params)
        self.est = Estimator(context=context,
                             parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
        self.t = self.est.trackers[0]  # the one person's ROS-free tracker
        self.feeder = Node("feeder", context=context)
        self.pubs = [self.feeder.create_publisher(Imu, imu_topic(s), qos.RELIABLE) for s in SENSOR_NAMES]
        self.poses = []
        self.feeder.create_subscription(SmplPose, "pose", self.poses.append, qos.RELIABLE)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.est)
        self.executor.add_node(self.feeder)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        self.stamp_ns = time.time_ns()  # plausible against the node's clock
        self.sent = []
        deadline = time.monotonic() + 10
        while any(p.get_subscription_count() == 0 for p in self.pubs) and time.monotonic() < deadline:
            time.sleep(0.05)

    def frame(self, quat=IDENTITY, acc=STILL_ACC, skip=(), stamp_ns=None, rng=None):
        """Publish one frame of six messages (sensor indices in ``skip`` left out); returns its stamp."""
        from fip_ros.ros.conversions import make_imu, time_from_ns

        self.stamp_ns = self.stamp_ns + 16_666_667 if stamp_ns is None else stamp_ns
        self.sent.append(self.stamp_ns)
        stamp = time_from_ns(self.stamp_ns)
        taken = self.t.sync.stats.received + len(self.pubs) - len(skip)
        for i, pub in enumerate(self.pubs):
            if i in skip:
                continue
            q, a = np.array(quat, float), np.array(acc, float)
            if rng is not None:  # a little motion so the network sees changing input
                q = q + rng.normal(0, 0.02, 4)
                q /= np.linalg.norm(q)
                a = a + rng.normal(0, 0.5, 3)
            pub.publish(make_imu(stamp, f"imu_{SENSOR_NAMES[i]}", q, [0.0, 0.0, 0.0], a))
        time.sleep(1 / 60)  # paced like the sensors
        # and in lockstep: the subscriber is best effort, depth 5, so an estimator slowed down by a loaded
        # machine would otherwise lose whole frames (the bad one under test, or enough for a gap reset).
        self.wait(lambda: self.t.sync.stats.received >= taken, timeout=2.0)
        return self.stamp_ns

    def wait(self, condition, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.02)
        return condition()

    def close(self):
        self.executor.shutdown(timeout_sec=2)
        self.thread.join(timeout=5)
        self.est.destroy_node()
        self.feeder.destroy_node()


@pytest.fixture
def rig(ros_context, checkpoint):
    rigs = []

    def make(**params):
        rigs.append(Rig(ros_context, checkpoint, **params))
        return rigs[-1]

    yield make
    for r in rigs:
        r.close()


def assert_valid(poses):
    for p in poses:
        q = np.array([[r.x, r.y, r.z, r.w] for r in [p.root_orientation, *p.local_rotations]])
        assert np.isfinite(q).all() and np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-3)


def calibrate(r):
    """Still frames until auto-calibration is done and the first poses (slow, warm-up) are out."""
    for _ in range(120):
        r.frame()
        if r.t.counters["published"] >= 3:
            break
    assert r.wait(lambda: r.t.counters["published"] >= 3), r.t.counters


def test_auto_calibration_then_tracking_with_input_stamps(rig):
    r = rig()
    calibrate(r)
    rng = np.random.default_rng(0)
    for _ in range(30):
        r.frame(rng=rng)
    assert r.wait(lambda: len(r.poses) >= 25), (len(r.poses), r.t.counters, r.t.sync.stats)
    assert {p.header.stamp.sec * 10**9 + p.header.stamp.nanosec for p in r.poses} <= set(r.sent)
    assert_valid(r.poses)
    p = r.poses[-1]
    assert p.subject_id == "0" and p.header.frame_id == "world" and p.processing_latency > 0
    assert list(p.estimated).count(True) == 15
    # The root translation and, with it, the translation estimator's foot contacts for the dynamics node.
    assert p.translation_valid and p.contact_valid
    assert all(0.0 <= c <= 1.0 for c in p.foot_contact_probability)


def test_pose_carries_the_calibrated_pelvis_acceleration(rig):
    """Level sensors accelerating up at 2 m/s^2: each pose carries the pelvis sensor's free acceleration, in
    ROS world axes (z up), for the dynamics node."""
    r = rig()
    calibrate(r)
    n = len(r.poses)
    for _ in range(12):
        r.frame(acc=STILL_ACC + [0.0, 0.0, 2.0])
    assert r.wait(lambda: len(r.poses) >= n + 10), (len(r.poses), r.t.counters)
    p = r.poses[-1]
    assert p.acceleration_valid
    a = p.pelvis_acceleration
    assert np.allclose([a.x, a.y, a.z], [0.0, 0.0, 2.0], atol=0.05)


def test_bad_samples_are_rejected_and_node_survives(rig):
    r = rig()
    calibrate(r)
    bad = [r.frame(acc=[np.nan, 0.0, G]),                    # NaN
           r.frame(quat=[0.0, 0.0, 0.0, 1.5]),               # non-unit quaternion
           r.frame(acc=[0.0, 0.0, 1000.0]),                  # beyond the accelerometer range
           r.frame(skip=(2,))]                               # one sensor missing
    good = [r.frame() for _ in range(10)]
    assert r.wait(lambda: r.t.counters["published"] >= 8)
    c = r.t.counters
    assert c["rejected_nan"] == 1 and c["rejected_quat"] == 1 and c["rejected_range"] == 1, c
    published = {p.header.stamp.sec * 10**9 + p.header.stamp.nanosec for p in r.poses}
    assert not published & set(bad)
    assert published & set(good)
    # Time jumps backwards (a restarted player): state is reset and tracking carries on in the new timeline.
    r.stamp_ns -= 60 * 10**9
    back = [r.frame() for _ in range(10)]
    assert r.wait(lambda: r.t.counters["time_resets"] == 1 and any(
        p.header.stamp.sec * 10**9 + p.header.stamp.nanosec in back for p in r.poses)), r.t.counters
    assert_valid(r.poses)


def test_nothing_published_before_calibration(rig):
    r = rig(auto_calibrate=False)
    for _ in range(20):
        r.frame()
    time.sleep(0.3)
    assert r.poses == [] and r.t.calibration is None


def call(r, pose, duration, frames, **frame_kw):
    """Call calibrate while frames stream; returns the response."""
    from fip_msgs.srv import Calibrate

    client = r.feeder.create_client(Calibrate, "calibrate")
    assert client.wait_for_service(timeout_sec=5)
    future = client.call_async(Calibrate.Request(pose=pose, duration=duration))
    for _ in range(frames):
        if future.done():
            break
        r.frame(**frame_kw)
    assert r.wait(future.done, timeout=duration + 5)
    return future.result()


def test_calibrate_service_good_and_bad_requests(rig):
    from fip_msgs.srv import Calibrate

    r = rig(auto_calibrate=False)
    res = call(r, Calibrate.Request.N_POSE, 0.2, 40)
    assert res.success, res.message
    assert r.t.calibration is not None and r.t.calibration.pose == "npose"
    assert not call(r, 7, 0.2, 0).success                       # unknown pose
    assert not call(r, Calibrate.Request.T_POSE, -1.0, 0).success   # negative duration
    assert not call(r, Calibrate.Request.T_POSE, 1e6, 0).success    # longer than allowed
    rng = np.random.default_rng(1)
    moving = call(r, Calibrate.Request.T_POSE, 0.2, 40, quat=[0.0, 0.0, 0.38, 0.92], rng=rng)
    assert not moving.success and "still" in moving.message
    assert r.t.calibration.pose == "npose"                    # the previous calibration stays in use


def test_body_params_topic_gap_reset_and_diagnostics(rig):
    from diagnostic_msgs.msg import DiagnosticArray

    from fip_msgs.msg import BodyParams
    from fip_ros.ros import qos

    r = rig()
    diags = []
    r.feeder.create_subscription(DiagnosticArray, "/diagnostics", diags.append, qos.RELIABLE)
    latched = r.feeder.create_publisher(BodyParams, "body_params", qos.LATCHED)
    latched.publish(BodyParams(subject_id="0", sex=BodyParams.SEX_FEMALE, height=1.6, arm_length=0.47,
                               leg_length=0.76, mass=55.0))
    assert r.wait(lambda: r.t.body["sex"] == "female" and abs(r.t.body["height"] - 1.6) < 1e-6)
    # An implausible body (centimetres) is refused; the previous one stays in use.
    latched.publish(BodyParams(subject_id="0", sex=BodyParams.SEX_MALE, height=175.0, arm_length=0.5,
                               leg_length=0.8, mass=70.0))
    calibrate(r)
    assert r.t.body["sex"] == "female"
    published = r.t.counters["published"]
    r.stamp_ns += 500_000_000                                   # a 0.5 s gap (> max_gap)
    for _ in range(5):
        r.frame()
    assert r.wait(lambda: r.t.counters["published"] >= published + 4)
    assert r.t.counters["gap_resets"] == 1

    def report():
        reports = [{v.key: v.value for v in s.values} for d in diags for s in d.status
                   if s.name.endswith("FIP estimator")]
        return reports and reports[-1]["gap_resets"] == "1" and reports[-1]

    assert r.wait(report)
    assert report()["state"] == "tracking" and "latency_p99_ms" in report()


def test_fast_sensors_thinned_to_60_hz_and_slow_ones_reported(rig):
    """Sensors stamped at 120 Hz give poses every other set (60 Hz, the networks' rate); at 40 Hz the
    diagnostics warn that the network sees the motion slowed down."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    from fip_ros.ros import qos

    r = rig()
    diags = []
    r.feeder.create_subscription(DiagnosticArray, "/diagnostics", diags.append, qos.RELIABLE)
    fast = [r.frame(stamp_ns=r.stamp_ns + 8_333_333) for _ in range(120)]
    assert r.wait(lambda: r.poses and stamp_ns(r.poses[-1]) >= fast[-2])
    taken = [stamp_ns(p) for p in r.poses if stamp_ns(p) >= fast[60]]
    assert len(taken) >= 25 and set(np.diff(taken)) <= {16_666_666, 16_666_667}
    assert r.t.counters["thinned"] >= 55

    def report():
        for d in reversed(diags):
            for s in d.status:
                if s.name.endswith("FIP estimator"):
                    values = {v.key: v.value for v in s.values}
                    return s if values["input_rate_hz"] and float(values["input_rate_hz"]) < 45 else None
        return None

    assert not report()
    for _ in range(60):
        r.frame(stamp_ns=r.stamp_ns + 25_000_000)
    assert r.wait(report)
    assert report().level == DiagnosticStatus.WARN and "the network runs at 60 Hz" in report().message


def stamp_ns(pose):
    return pose.header.stamp.sec * 10**9 + pose.header.stamp.nanosec


def feed_until(r, condition, max_frames, **frame_kw):
    """Stream frames until ``condition()`` holds (the estimator lags the feeder a little); returns it."""
    for _ in range(max_frames):
        if condition():
            return True
        r.frame(**frame_kw)
    return r.wait(condition, timeout=5.0)


def test_tracking_status_follows_calibration_sensor_dropout_and_recovery(rig):
    """The status says what a user must know: just (re)started, a sensor held in, a sensor gone; and the
    /diagnostics level mirrors it. It used to be OK always, and a missing sensor stopped all output."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    from fip_msgs.msg import SmplPose
    from fip_ros.ros import qos

    OK, DEGRADED, LOST, INITIALIZING = (SmplPose.STATUS_OK, SmplPose.STATUS_DEGRADED, SmplPose.STATUS_LOST,
                                        SmplPose.STATUS_INITIALIZING)
    r = rig(status_window=0.25, hold_after=0.1, lost_after=0.4)
    diags = []
    r.feeder.create_subscription(DiagnosticArray, "/diagnostics",
                                 lambda m: diags.extend(s for s in m.status if s.name.endswith("estimator")),
                                 qos.RELIABLE)

    def statuses(since_ns, until_ns=None):
        """Statuses of the poses stamped in [since_ns, until_ns), in stamp order."""
        return [p.tracking_status for p in sorted(r.poses, key=stamp_ns)
                if since_ns <= stamp_ns(p) and (until_ns is None or stamp_ns(p) < until_ns)]

    def first_stamp(status, since_ns):
        return min((stamp_ns(p) for p in r.poses if p.tracking_status == status and stamp_ns(p) >= since_ns),
                   default=None)

    def diag(level, name):
        def seen():
            return any(d.level == level and {v.key: v.value for v in d.values}["tracking_status"] == name
                       for d in diags[-3:])
        return seen

    # Calibration restarts the state: INITIALIZING first, OK once status_window has passed.
    calibrate(r)
    assert r.poses[0].tracking_status == INITIALIZING
    assert feed_until(r, lambda: first_stamp(OK, 0), 90), statuses(0)

    # Sensor 2 silent for 0.25 s (> hold_after, < lost_after): its last sample is held in and the poses go on,
    # DEGRADED; after its return they stay DEGRADED for status_window, then OK again.
    skipped = [r.frame(skip=(2,)) for _ in range(15)]
    assert feed_until(r, lambda: first_stamp(OK, skipped[-1]), 90), statuses(skipped[0])
    during = statuses(skipped[0], skipped[-1] + 1)
    assert during and set(during) == {DEGRADED}, during
    assert set(statuses(skipped[0], first_stamp(OK, skipped[-1]))) == {DEGRADED}, statuses(skipped[0])
    assert r.t.counters["held"] > 0 and r.t.counters["lost"] == 0

    # Sensor 2 gone for longer than lost_after: LOST, the last pose republished unchanged; ERROR on
    # /diagnostics. On its return the state restarts from that pose: INITIALIZING, then OK.
    gone = r.stamp_ns + 1
    assert feed_until(r, lambda: first_stamp(LOST, gone), 120, skip=(2,)), statuses(gone)
    assert feed_until(r, diag(DiagnosticStatus.ERROR, "LOST"), 120, skip=(2,)), diags[-1:]
    lost = [p for p in r.poses if p.tracking_status == LOST]
    assert all(p.local_rotations == lost[0].local_rotations for p in lost)
    back = r.stamp_ns + 1
    assert feed_until(r, lambda: first_stamp(OK, back), 90), statuses(back)
    assert INITIALIZING in statuses(back, first_stamp(OK, back)), statuses(back)
    assert feed_until(r, diag(DiagnosticStatus.OK, "OK"), 90), diags[-1:]
    assert_valid(r.poses)
