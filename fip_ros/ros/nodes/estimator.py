"""FIP estimator node: six REP-145 IMU streams per person -> fip_msgs/SmplPose, sensor_msgs/JointState,
/diagnostics.

A thin adapter over the ROS-free runtime (``fip_ros.runtime.tracker``): one ``Tracker`` per person owns the
synchronisation, validation, calibration window, gap/held/lost rules and status; a ``Team`` steps the people
through one batched network call. This node declares the parameters, subscribes, serves ``calibrate``,
publishes and reports on /diagnostics. With ``backend: onnx`` and ONNX graphs (the shipped ones by default)
it imports no torch.

People (``bodies``): empty = one person in the node's namespace (topics ``imu/<site>/data``, ``pose``, ...,
subject ``subject_id``); else one person per entry ``<b>`` with topics ``<b>/imu/<site>/data``,
``<b>/body_params``, ``<b>/pose``, ``<b>/joint_states``, service ``<b>/calibrate`` and subject id ``<b>``.
"""

import copy
import re
import threading
import time
from collections import deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.task import Future
from sensor_msgs.msg import Imu, JointState
from tf2_msgs.msg import TFMessage

from fip_msgs.msg import BodyParams, SmplPose
from fip_msgs.srv import Calibrate
from fip_ros.core.gravity import G_UNIT
from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, JOINT_NAMES, SENSOR_NAMES
from fip_ros.core.translation import VelocityNet
from fip_ros.ros import qos
from fip_ros.ros.body_tf import BodyTf, relative_transforms
from fip_ros.ros.conversions import (
    QUAT_TOLERANCE,
    imu_sample_from_cdr,
    imu_topic,
    rot_smpl_to_ros,
    time_from_ns,
    vec_smpl_to_ros,
    write_smpl_pose,
)
from fip_ros.ros.nodes import parameter, run_node
from fip_ros.ros.params import FALLBACK_BODY, body_from_msg, declare_parameters, descriptor, fallback_body
from fip_ros.ros.smpl_frames import DEFAULT_SUBJECT_ID, check_id
from fip_ros.ros.tf_publisher import StaticTransformBroadcaster
from fip_ros.runtime.tracker import NETWORK_FPS, STATUS_NAMES, Pose, Team, Tracker, TrackerConfig

POSE_NAMES = {Calibrate.Request.T_POSE: "tpose", Calibrate.Request.N_POSE: "npose"}  # core names
# JointState convention: each SMPL joint is 3 revolute-equivalent entries, intrinsic Z-Y-X (yaw, pitch,
# roll) of its local rotation re-expressed in REP-103 axes (M R M^T); entry 0 is the pelvis in the world.
JOINT_STATE_NAMES = [f"{j}_{axis}" for j in JOINT_NAMES for axis in ("yaw", "pitch", "roll")]
# /diagnostics level per tracking status: WARN while the pose is usable with care, ERROR while it is frozen.
STATUS_LEVELS = {SmplPose.STATUS_OK: DiagnosticStatus.OK, SmplPose.STATUS_DEGRADED: DiagnosticStatus.WARN,
                 SmplPose.STATUS_INITIALIZING: DiagnosticStatus.WARN,
                 SmplPose.STATUS_LOST: DiagnosticStatus.ERROR}
BODY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*")  # a relative ROS namespace
ACTIVE_S = 0.05  # a person whose last message is older than this is not waited for by the batch


def make_engine(backend: str, model_path: str, bodies: list[dict]):
    """The batched streaming engine: ONNX graphs (and the shipped checkpoint, whose graphs ship) load without
    torch (``fip_ros.runtime.graph``); another ``.pt`` checkpoint or the torch backend goes through
    ``fip_ros.api`` (torch)."""
    if backend not in ("torch", "onnx"):
        raise ValueError(f"backend must be torch or onnx, got {backend!r}")
    if backend == "onnx":
        from fip_ros.runtime.engine import OnnxStreamingEngine
        from fip_ros.runtime.graph import load_sessions, session_batch, shipped_sessions_for

        batch = session_batch(len(bodies))
        sessions = (shipped_sessions_for(model_path, batch=batch) if model_path.endswith(".pt") else
                    load_sessions(model_path or None, batch=batch))
        if sessions is not None:
            return OnnxStreamingEngine.from_sessions(*sessions, batch=len(bodies))
    from fip_ros.api import load_model

    return load_model(model_path or None, backend=backend).stream(bodies, backend=backend)


PARAMETERS = {
    "sensor_names": (list(SENSOR_NAMES), descriptor(
        "IMU sites in FIP order; topics imu/<site>/data", read_only=True)),
    "bodies": ([""], descriptor(
        "People served in one batched step: topic namespaces (also their subject ids); "
        "empty = one person in the node's namespace", read_only=True)),
    "subject_id": (DEFAULT_SUBJECT_ID, descriptor("Subject id copied into SmplPose.subject_id (one person)",
                                                  read_only=True)),
    "world_frame": ("world", descriptor("header.frame_id of SmplPose (REP 103 world)", True)),
    "backend": ("onnx", descriptor("Inference backend: onnx (no torch) or torch", read_only=True)),
    "model_path": ("", descriptor(
        "onnx: step graph *step.onnx or fip-export folder; torch (or onnx from a .pt): checkpoint; "
        "empty = shipped weights", read_only=True)),
    "imu_queue_depth": (30, descriptor(
        "Messages each IMU subscription buffers (best effort) while the node is busy", True, 1, 1000,
        integer=True)),
    "slop": (0.008, descriptor("Approximate-time sync tolerance, s", True, 0.0, 0.1)),
    "sync_window": (0.5, descriptor(
        "Stamps each sensor's sync queue spans, s: a sensor this late still joins its set", True,
        0.02, 10.0)),
    "hold_after": (0.1, descriptor(
        "A sensor silent this long behind the others is held: its last sample is reused (DEGRADED), "
        "s (0 = never)", True, 0.0, 10.0)),
    "lost_after": (0.5, descriptor("A sensor held this long: the last pose is republished (LOST), s",
                                   True, 0.0, 60.0)),
    "status_window": (0.5, descriptor(
        "DEGRADED / INITIALIZING last this long after a rejected or held sample / a state reset, s",
        True, 0.0, 60.0)),
    "backward_reset": (0.5, descriptor("Stamps this far back (s) mean a restarted clock: reset",
                                       True, 0.0, 10.0)),
    "max_gap": (0.1, descriptor("Reset the streaming state after an input gap longer than this, s "
                                "(0 = never)", True, 0.0, 10.0)),
    "acc_range": (16.0 * G_UNIT, descriptor("Reject samples with a larger |acceleration|, m/s^2",
                                             True, 1.0, 2000.0)),
    "quat_tolerance": (QUAT_TOLERANCE, descriptor(
        "Reject orientations whose | |q| - 1 | exceeds this", True, 0.0, 0.5)),
    "max_clock_offset": (60.0, descriptor(
        "Stamps further than this from the node's clock are implausible: DEGRADED and reported, s "
        "(0 = never)", True, 0.0, 1e9)),
    "auto_calibrate": (True, descriptor(
        "Calibrate on a still T-pose at start-up, retried on the next window until one is still",
        read_only=True)),
    "auto_calibration_duration": (1.0, descriptor("Auto-calibration window, s", True, 0.05, 30.0)),
    "default_calibration_duration": (2.0, descriptor("Window when a request gives 0, s",
                                                     False, 0.05, 30.0)),
    "max_calibration_duration": (30.0, descriptor("Longest accepted calibration window, s",
                                                  False, 0.1, 120.0)),
    "batch_wait": (0.004, descriptor(
        "Several people: how long a frame waits for the others' to share one network call, s",
        True, 0.0, 0.05)),
    "publish_tf": (False, descriptor(
        "Publish /tf (24 joints per person) from here, as smpl_tf_broadcaster would", True)),
    "frame_prefix": ("", descriptor("publish_tf: prefix of every body frame", True)),
    "frame_suffix": ("", descriptor("publish_tf: suffix of every body frame", True)),
    "origin_offset": ([0.0, 0.0, 1.0], descriptor(
        "publish_tf: static world -> origin_<id> translation of the first person, m", True)),
    "origin_spacing": (1.0, descriptor("publish_tf: each further person's origin is this much "
                                       "further along y, m", True, -100.0, 100.0)),
    **FALLBACK_BODY,
    "diagnostics_period": (1.0, descriptor("Period of /diagnostics, s", True, 0.05, 60.0)),
}


class Person:
    """One tracked person's ROS side: topic prefix, subject id, publishers, reusable messages."""

    def __init__(self, node, index: int, prefix: str, subject: str, tracker: Tracker, world_frame: str):
        self.index, self.prefix, self.subject, self.tracker = index, prefix, subject, tracker
        self.label = f"{node.get_fully_qualified_name()} [{subject}]"
        self.pub_pose = node.create_publisher(SmplPose, prefix + "pose", qos.RELIABLE)
        self.pub_joints = node.create_publisher(JointState, prefix + "joint_states", qos.RELIABLE)
        # Messages built once and refilled per frame; publish() serialises them, so reuse is safe.
        self.pose_msg = SmplPose(subject_id=subject,
                                 estimated=[j in ESTIMATED_JOINTS for j in range(24)])
        self.pose_msg.header.frame_id = world_frame
        self.joints_msg = JointState(name=JOINT_STATE_NAMES)
        self.joints_msg.header.frame_id = world_frame
        self.tf = None               # BodyTf with publish_tf
        self.latencies = deque(maxlen=600)
        self.last_arrival = None     # perf_counter() of the last IMU message
        self.last_publish = None     # perf_counter() of the last pose
        self.said = ""               # the last waiting reason logged


class Estimator(Node):
    """FIP for one or several people, each on six synchronised REP 145 IMU streams: calibration (auto or
    the ``calibrate`` service), one batched streaming step per round of synchronised sets, ``pose``
    (fip_msgs/SmplPose), ``joint_states``, optionally ``/tf``, and diagnostics."""

    def __init__(self, **kwargs):
        super().__init__("estimator", **kwargs)
        p = declare_parameters(self, PARAMETERS)
        self.sites = list(p["sensor_names"])
        if len(self.sites) != len(SENSOR_NAMES):
            raise ValueError(f"sensor_names must be {len(SENSOR_NAMES)} sites in FIP order, got {self.sites}")
        names = [b for b in p["bodies"] if b]
        if len(set(names)) != len(names) or not all(BODY_NAME.fullmatch(b) for b in names):
            raise ValueError(f"bodies must be distinct relative ROS names (letters, digits, '_', '/'), "
                             f"got {names}")
        people = [(f"{b}/", b) for b in names] or [("", check_id(p["subject_id"], "subject_id"))]
        config = TrackerConfig(**{k: p[k] for k in TrackerConfig.__dataclass_fields__})
        body = fallback_body(self)
        self.lock = threading.Lock()
        net = VelocityNet()  # the root translation's, shared by the people
        self.trackers = [Tracker(config, body, subject, self._logger_for(subject), net)
                         for _, subject in people]
        with parameter("model_path", (OSError, RuntimeError)):  # a missing or unreadable checkpoint
            engine = make_engine(p["backend"], p["model_path"], [body] * len(people))
        self.team = Team(self.trackers, engine)
        self.people = [Person(self, i, prefix, subject, self.trackers[i], p["world_frame"])
                       for i, (prefix, subject) in enumerate(people)]
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", qos.RELIABLE)
        # Best effort as sensor data, but a deeper queue: a moment without CPU (a busy board) costs latency,
        # not samples.
        sensor_qos = copy.copy(qos.SENSOR_DATA)
        sensor_qos.depth = p["imu_queue_depth"]
        self.pub_tf = self._tf_setup(p) if p["publish_tf"] else None
        for person in self.people:
            for channel, site in enumerate(self.sites):
                # raw: the CDR bytes, read in place (imu_sample_from_cdr), not a Python message per sample
                self.create_subscription(Imu, person.prefix + imu_topic(site),
                                         lambda m, who=person, c=channel: self._on_imu(who, c, m),
                                         sensor_qos, raw=True)
            self.create_subscription(BodyParams, person.prefix + "body_params",
                                     lambda m, who=person: self._on_body_params(who, m), qos.LATCHED)
            # The service awaits frames the IMU callbacks collect; a coroutine holds its callback group
            # while suspended, so it gets a group of its own.
            self.create_service(Calibrate, person.prefix + "calibrate", self._calibrate_handler(person),
                                callback_group=MutuallyExclusiveCallbackGroup())
        # One-shot: runs the batch when a person's frame has waited batch_wait for the others'.
        self.batch_timer = self.create_timer(max(p["batch_wait"], 1e-4), self._on_batch_timer,
                                             autostart=False)
        self.create_timer(p["diagnostics_period"], self._publish_diagnostics)
        self.get_logger().info(f"estimator ready: backend={p['backend']} people={[s for _, s in people]} "
                               f"sites={self.sites} auto_calibrate={config.auto_calibrate}")

    def _tf_setup(self, p):
        """/tf straight from the estimator (one DDS hop and one process fewer than the TF broadcaster):
        frames as the broadcaster's (body id = subject id), bones = the network's own skeleton."""
        static = StaticTransformBroadcaster(self)
        origins = []
        for person in self.people:
            person.tf = BodyTf(person.subject, p["frame_prefix"], p["frame_suffix"], p["world_frame"])
            offset = np.array(p["origin_offset"], float) + [0.0, person.index * p["origin_spacing"], 0.0]
            origins.append(person.tf.static_origin(self.get_clock().now().to_msg(), offset))
        self._tf_static = static
        static.send_transform(origins)
        return self.create_publisher(TFMessage, "/tf", qos.TF)

    def _param(self, name):
        return self.get_parameter(name).value

    def _logger_for(self, subject: str):
        def log(level: str, text: str):  # rclpy wants one severity per call site
            if level == "warning":
                self.get_logger().warning(f"[{subject}] {text}")
            else:
                self.get_logger().info(f"[{subject}] {text}")
        return log

    # ---------------------------------------------------------------- inputs
    def _on_body_params(self, person: Person, msg: BodyParams):
        body = body_from_msg(msg)
        try:
            with self.lock:
                person.tracker.set_body(body)
        except ValueError as e:
            self.get_logger().warning(f"[{person.subject}] ignoring body_params: {e}")
            return
        self.get_logger().info(f"[{person.subject}] body parameters in use: {body}")

    def _on_imu(self, person: Person, channel: int, data: bytes):
        """One IMU sample (serialised ``sensor_msgs/Imu``)."""
        arrival = time.perf_counter()
        stamp_ns, quat, _, acc = imu_sample_from_cdr(data)
        now_ns = self.get_clock().now().nanoseconds
        frames = person.tracker.frames
        with self.lock:
            person.last_arrival = arrival
            last = frames[-1] if frames else None
            poses = self._guarded(person, lambda: person.tracker.push(channel, stamp_ns, quat, acc, now_ns,
                                                                     arrival))
            # Only a message that completed a set (one in six) can make the batch ready.
            queued = bool(frames) and frames[-1] is not last
            ready = queued and self._batch_ready(arrival)
            if ready:
                self.batch_timer.cancel()
                steps = self._guarded(None, self.team.step)
        if poses:
            self._publish([(person, pose) for pose in poses])
        if ready:
            self._publish([(self.people[index], pose) for index, pose in steps])
        elif queued and self.batch_timer.is_canceled():
            self.batch_timer.reset()
        self._say_why_waiting(person)

    def _batch_ready(self, now: float) -> bool:
        """Step now when every person still streaming has a frame waiting (at once for one person)."""
        waiting = self.team.pending()
        if not waiting:
            return False
        active = sum(p.last_arrival is not None and now - p.last_arrival < ACTIVE_S
                     and p.tracker.frames_expected for p in self.people)
        return waiting >= active

    def _on_batch_timer(self):
        self.batch_timer.cancel()
        with self.lock:
            steps = self._guarded(None, self.team.step)
        self._publish([(self.people[index], pose) for index, pose in steps or ()])

    def _guarded(self, person: Person | None, fn):
        """Run ``fn``; an unexpected failure drops the frame, restarts the state, and the node goes on."""
        try:
            return fn()
        except Exception as e:
            for t in [person.tracker] if person else self.trackers:
                t.count("errors")
                t.reset_state()
            self.get_logger().error(f"frame dropped: {type(e).__name__}: {e}", throttle_duration_sec=5.0)
            return []

    def _say_why_waiting(self, person: Person):
        reason = person.tracker.waiting
        if reason != person.said:
            person.said = reason
            if reason:
                self.get_logger().info(f"[{person.subject}] {reason}")

    # ---------------------------------------------------------------- output
    def _publish(self, items: list[tuple[Person, Pose]]):
        """Each person's pose to their topics; a message nobody subscribes to is not built (a busy node's
        CPU). With publish_tf, the transforms of all of them are computed in one vectorised call."""
        if not items:
            return
        roots = np.array([vec_smpl_to_ros(pose.translation) if pose.translation is not None else np.zeros(3)
                          for _, pose in items])
        tfs = None
        if self.pub_tf is not None:
            offsets = self.team.engine.offsets()[[person.index for person, _ in items]]
            tfs = zip(*relative_transforms(np.stack([pose.local_rot for _, pose in items]), offsets, roots),
                      strict=True)
        for k, (person, pose) in enumerate(items):
            self._publish_one(person, pose, roots[k], next(tfs) if tfs is not None else None)

    def _publish_one(self, person: Person, pose: Pose, root: np.ndarray, transforms):
        stamp = time_from_ns(pose.stamp_ns)
        local_rot = pose.local_rot
        latency = time.perf_counter() - pose.arrival
        if person.pub_pose.get_subscription_count():
            msg = person.pose_msg
            msg.header.stamp = stamp
            msg.tracking_status = pose.status
            a = msg.pelvis_acceleration
            valid = pose.pelvis_acc is not None
            a.x, a.y, a.z = vec_smpl_to_ros(pose.pelvis_acc).tolist() if valid else (0.0, 0.0, 0.0)
            msg.acceleration_valid = valid
            t, msg.translation_valid = msg.root_translation, pose.translation is not None
            t.x, t.y, t.z = root.tolist()
            msg.contact_valid = pose.contact is not None
            msg.foot_contact_probability = [float(c) for c in (pose.contact if msg.contact_valid else (0, 0))]
            write_smpl_pose(msg, local_rot)
            msg.processing_latency = latency
            person.pub_pose.publish(msg)
        if person.pub_joints.get_subscription_count():
            js = person.joints_msg
            js.header.stamp = stamp
            r = rot_smpl_to_ros(local_rot)
            # Intrinsic Z-Y-X angles of R = Rz(yaw) Ry(pitch) Rx(roll).
            yaw = np.arctan2(r[:, 1, 0], r[:, 0, 0])
            pitch = -np.arcsin(np.clip(r[:, 2, 0], -1.0, 1.0))
            roll = np.arctan2(r[:, 2, 1], r[:, 2, 2])
            js.position = np.stack([yaw, pitch, roll], axis=1).reshape(-1).tolist()
            person.pub_joints.publish(js)
        if transforms is not None and person.tf.write(stamp, *transforms):
            self.pub_tf.publish(person.tf.data)
        person.latencies.append(latency)
        person.last_publish = time.perf_counter()

    # ---------------------------------------------------------------- calibration
    def _calibrate_handler(self, person: Person):
        async def handle(request, response):  # rclpy awaits coroutine functions, not lambdas returning one
            return await self._on_calibrate(person, request, response)
        return handle

    async def _on_calibrate(self, person: Person, request, response):
        """Coroutine: the executor keeps serving the IMU callbacks that collect the window meanwhile."""
        kind, duration = request.pose, float(request.duration)
        if duration == 0.0:
            duration = self._param("default_calibration_duration")
        if kind not in POSE_NAMES:
            response.success, response.message = False, f"unknown pose {kind}: use T_POSE (0) or N_POSE (1)"
        elif not 0.0 < duration <= self._param("max_calibration_duration") or not np.isfinite(duration):
            response.success, response.message = False, f"duration {duration} s outside (0, max]"
        else:
            done = Future()
            tracker = person.tracker
            with self.lock:
                started = tracker.start_calibration(
                    POSE_NAMES[kind], duration, lambda ok, text: done.done() or done.set_result((ok, text)))
                window = tracker.window
            if not started:
                response.success, response.message = False, "a calibration is already running"
                return response

            def expire():  # wall-clock bound: the window plus time for frames to arrive at all
                with self.lock:
                    if tracker.window is window:
                        tracker.cancel_calibration("timed out waiting for synchronised IMU frames")

            timer = self.create_timer(duration + 2.0, expire)
            response.success, response.message = await done
            self.destroy_timer(timer)
        if not response.success:
            self.get_logger().warning(f"[{person.subject}] calibration request refused: {response.message}")
        return response

    # ---------------------------------------------------------------- diagnostics
    def _publish_diagnostics(self):
        msg = DiagnosticArray(status=[self._diagnostic(p) for p in self.people])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(msg)

    def _diagnostic(self, person: Person) -> DiagnosticStatus:
        t = person.tracker
        with self.lock:
            counters, state, waiting, offset = t.counters, t.state, t.waiting, t.clock_offset_s
            rate, off_rate = t.input_rate_hz, t.off_rate
            tracking = t.status if state == "tracking" else SmplPose.STATUS_UNCALIBRATED
            lat = np.array(person.latencies) if person.latencies else None
            last = person.last_publish
        status = DiagnosticStatus(name=f"{person.label}: FIP estimator", hardware_id=person.subject)
        # The level follows the tracking status of the last pose, unless none came lately (no input at all).
        silent = last is None or time.perf_counter() - last > max(1.0, self._param("diagnostics_period"))
        if state != "tracking":
            status.level, status.message = DiagnosticStatus.WARN, waiting or state
        elif silent:
            status.level, status.message = DiagnosticStatus.WARN, "tracking; no pose for a while (no input?)"
        else:
            status.level = STATUS_LEVELS[tracking]
            status.message = f"tracking; {STATUS_NAMES[tracking]}"
        if offset:
            status.level = max(status.level, DiagnosticStatus.WARN)
            status.message += f"; implausible stamps, {offset:+.0f} s from the node's clock"
        if off_rate:
            status.level = max(status.level, DiagnosticStatus.WARN)
            status.message += f"; input at {rate:.0f} Hz, the network runs at {NETWORK_FPS:.0f} Hz"
        values = {"state": state, "tracking_status": STATUS_NAMES[tracking], "waiting": waiting,
                  "clock_offset_s": f"{offset:.3f}",
                  "input_rate_hz": "" if rate is None else f"{rate:.1f}", **counters}
        if lat is not None:
            values["latency_p50_ms"] = f"{np.percentile(lat, 50) * 1e3:.3f}"
            values["latency_p99_ms"] = f"{np.percentile(lat, 99) * 1e3:.3f}"
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        return status


def main(args=None):
    return run_node(Estimator, args, events=True)  # no threads of its own: see run_node


if __name__ == "__main__":
    raise SystemExit(main())
