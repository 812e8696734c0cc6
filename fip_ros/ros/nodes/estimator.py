"""FIP estimator node: six REP-145 IMU streams -> fip_msgs/SmplPose, sensor_msgs/JointState, /diagnostics.

Pipeline per synchronised set: validate -> (collect for calibration) -> calibrate (core) -> streaming FIP step
-> validate output -> publish with the input stamp and a tracking status. All maths lives in fip_ros.core /
fip_ros.api.

Tracking status of each published pose (SmplPose.STATUS_*; nothing is published before calibration):
LOST when a sensor has been silent for longer than ``lost_after`` (the last pose is republished unchanged),
INITIALIZING for ``status_window`` s after the recurrent state was reset (calibration, gap, time jump, new
body, bad output), DEGRADED for ``status_window`` s after a sample was rejected or a silent sensor's last
sample was held in, OK otherwise.
"""

import threading
import time
from collections import deque

import numpy as np
import torch
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.task import Future
from sensor_msgs.msg import Imu, JointState

from fip_msgs.msg import BodyParams, SmplPose
from fip_msgs.srv import Calibrate
from fip_ros.api import init_pose_from, load_model
from fip_ros.core.body_model import body_vector
from fip_ros.core.calibration import apply_calibration, estimate_calibration
from fip_ros.core.gravity import G_UNIT
from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, JOINT_NAMES, ROOT_SENSOR, SENSOR_NAMES
from fip_ros.core.translation import TranslationEstimator
from fip_ros.ros import qos
from fip_ros.ros.conversions import (
    QUAT_TOLERANCE,
    imu_to_arrays,
    imu_topic,
    matrix_from_quat,
    rot_smpl_to_ros,
    time_from_ns,
    vec_smpl_to_ros,
    write_smpl_pose,
)
from fip_ros.ros.nodes import run_node
from fip_ros.ros.params import FALLBACK_BODY, body_from_msg, declare_parameters, descriptor, fallback_body
from fip_ros.ros.sync import ApproximateTimeSync, SyncedSet

POSE_NAMES = {Calibrate.Request.T_POSE: "tpose", Calibrate.Request.N_POSE: "npose"}  # core names
# JointState convention: each SMPL joint is 3 revolute-equivalent entries, intrinsic Z-Y-X (yaw, pitch,
# roll) of its local rotation re-expressed in REP-103 axes (M R M^T); entry 0 is the pelvis in the world.
JOINT_STATE_NAMES = [f"{j}_{axis}" for j in JOINT_NAMES for axis in ("yaw", "pitch", "roll")]
STATUS_NAMES = {SmplPose.STATUS_OK: "OK", SmplPose.STATUS_DEGRADED: "DEGRADED",
                SmplPose.STATUS_UNCALIBRATED: "UNCALIBRATED", SmplPose.STATUS_LOST: "LOST",
                SmplPose.STATUS_INITIALIZING: "INITIALIZING"}
# /diagnostics level per tracking status: WARN while the pose is usable with care, ERROR while it is frozen.
STATUS_LEVELS = {SmplPose.STATUS_OK: DiagnosticStatus.OK, SmplPose.STATUS_DEGRADED: DiagnosticStatus.WARN,
                 SmplPose.STATUS_INITIALIZING: DiagnosticStatus.WARN,
                 SmplPose.STATUS_LOST: DiagnosticStatus.ERROR}
PENDING = -1  # an event whose status window starts at the next published frame (its stamp is not known yet)


PARAMETERS = {
    "sensor_names": (list(SENSOR_NAMES), descriptor(
        "IMU sites in FIP order; topics imu/<site>/data", read_only=True)),
    "subject_id": ("0", descriptor("Subject id copied into SmplPose.subject_id", read_only=True)),
    "world_frame": ("world", descriptor("header.frame_id of SmplPose (REP 103 world)", True)),
    "backend": ("torch", descriptor("Inference backend: torch or onnx", read_only=True)),
    "model_path": ("", descriptor("FIP checkpoint; empty = shipped weights", read_only=True)),
    "slop": (0.008, descriptor("Approximate-time sync tolerance, s", True, 0.0, 0.1)),
    "queue_size": (10, descriptor("Per-sensor sync queue length", read_only=True)),
    "hold_after": (0.1, descriptor(
        "A sensor silent this long behind the others is held: its last sample is reused (DEGRADED), "
        "s (0 = never; keep below queue_size frames)", True, 0.0, 10.0)),
    "lost_after": (0.5, descriptor("A sensor held this long: the last pose is republished (LOST), s",
                                   False, 0.0, 60.0)),
    "status_window": (0.5, descriptor(
        "DEGRADED / INITIALIZING last this long after a rejected or held sample / a state reset, s",
        False, 0.0, 60.0)),
    "backward_reset": (0.5, descriptor("Stamps this far back (s) mean a restarted clock: reset",
                                       True, 0.0, 10.0)),
    "max_gap": (0.1, descriptor("Reset the streaming state after an input gap longer than this, s "
                                "(0 = never)", False, 0.0, 10.0)),
    "acc_range": (16.0 * G_UNIT, descriptor("Reject samples with a larger |acceleration|, m/s^2",
                                             False, 1.0, 2000.0)),
    "quat_tolerance": (QUAT_TOLERANCE, descriptor(
        "Reject orientations whose | |q| - 1 | exceeds this", False, 0.0, 0.5)),
    "auto_calibrate": (True, descriptor("Calibrate on the first frames (T-pose) at start-up",
                                        read_only=True)),
    "auto_calibration_duration": (1.0, descriptor("Auto-calibration window, s", True, 0.05, 30.0)),
    "default_calibration_duration": (2.0, descriptor("Window when a request gives 0, s",
                                                     False, 0.05, 30.0)),
    "max_calibration_duration": (30.0, descriptor("Longest accepted calibration window, s",
                                                  False, 0.1, 120.0)),
    **FALLBACK_BODY,
    "diagnostics_period": (1.0, descriptor("Period of /diagnostics, s", True, 0.05, 60.0)),
}


class Estimator(Node):
    """FIP on six synchronised REP 145 IMU streams: calibration (auto or the ``calibrate`` service), one
    streaming step per synchronised set, ``pose`` (fip_msgs/SmplPose), ``joint_states`` and diagnostics."""

    def __init__(self, **kwargs):
        super().__init__("estimator", **kwargs)
        p = declare_parameters(self, PARAMETERS)
        self.sites = list(p["sensor_names"])
        if len(self.sites) != len(SENSOR_NAMES):
            raise ValueError(f"sensor_names must be {len(SENSOR_NAMES)} sites in FIP order, got {self.sites}")
        self.subject_id = p["subject_id"]
        # Output stamp = the root (pelvis) sensor's stamp.
        self.sync = ApproximateTimeSync(len(self.sites), p["slop"], int(p["queue_size"]),
                                        reference=ROOT_SENSOR, backward_reset_s=p["backward_reset"],
                                        hold_after_s=p["hold_after"])
        self.counters = dict(rejected_nan=0, rejected_range=0, rejected_quat=0, rejected_missing=0,
                             invalid_output=0, published=0, gap_resets=0, time_resets=0,
                             calibrations=0, failed_calibrations=0, errors=0, held=0, lost=0)
        self.latencies = deque(maxlen=600)
        self.lock = threading.Lock()

        self.model = load_model(p["model_path"] or None, backend=p["backend"])
        self.body = fallback_body(self)
        self.engine = self.model.stream(self.body, backend=p["backend"])
        # Root translation (fip_ros.core.translation): from the origin at each calibration.
        self.translation = TranslationEstimator(self.body["height"], net=self.model.translation_net())
        self.root = None          # (3,) last estimated root position (SMPL axes), None before the first pose
        self.calibration = None
        self.collect = None       # open calibration window: dict(kind, duration_ns, start_ns, ori, acc, done)
        self.auto_pending = p["auto_calibrate"]
        self.last_stamp_ns = None
        self.last_pose = None     # (24,3,3) last published local rotations, init pose after a gap
        # Stamp (ns) of the last event that qualifies the poses after it, PENDING or None; see _status().
        self.events = {SmplPose.STATUS_INITIALIZING: None, SmplPose.STATUS_DEGRADED: None}
        self.lost = False         # a sensor is silent beyond lost_after: the last pose is being held
        self.status = SmplPose.STATUS_UNCALIBRATED  # of the last published pose, for /diagnostics
        self.last_publish_time = None  # perf_counter() of the last published pose

        self.pose_msg, self.joints_msg = self._make_messages(p["world_frame"])
        self.pub_pose = self.create_publisher(SmplPose, "pose", qos.RELIABLE)
        self.pub_joints = self.create_publisher(JointState, "joint_states", qos.RELIABLE)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", qos.RELIABLE)
        for i, site in enumerate(self.sites):
            self.create_subscription(Imu, imu_topic(site), lambda m, i=i: self._on_imu(i, m),
                                     qos.SENSOR_DATA)
        self.create_subscription(BodyParams, "body_params", self._on_body_params, qos.LATCHED)
        # The service awaits frames the IMU callbacks collect; a coroutine holds its callback group while
        # suspended, so it gets a group of its own.
        self.create_service(Calibrate, "calibrate", self._on_calibrate,
                            callback_group=MutuallyExclusiveCallbackGroup())
        self.create_timer(p["diagnostics_period"], self._publish_diagnostics)
        self.get_logger().info(f"estimator ready: backend={p['backend']} sites={self.sites} "
                               f"auto_calibrate={self.auto_pending}")

    def _param(self, name):
        return self.get_parameter(name).value

    # ---------------------------------------------------------------- inputs
    def _on_body_params(self, msg: BodyParams):
        body = body_from_msg(msg)
        try:
            with self.lock:
                self.engine = self.model.stream(body, backend=self._param("backend"))
                self.body = body
                self.translation.height = float(body["height"])
                self._reset_engine(self.last_pose)
        except (ValueError, RuntimeError) as e:
            self.get_logger().warning(f"ignoring body_params: {e}")
            return
        self.get_logger().info(f"body parameters in use: {body}")

    def _on_imu(self, channel: int, msg: Imu):
        arrival = time.perf_counter()
        data = imu_to_arrays(msg)
        with self.lock:
            sets, jumped = self.sync.push(channel, data["stamp_ns"], data)
            if jumped:
                self.counters["time_resets"] += 1
                self.get_logger().warning("input time jumped backwards: state reset")
                self._reset_engine(self.last_pose)
                self.last_stamp_ns = None
                self.events[SmplPose.STATUS_DEGRADED] = None  # a stamp of the old timeline
            for s in sets:
                try:
                    self._process(s, arrival)
                except Exception as e:  # a failure in one frame must not take the node down
                    self.counters["errors"] += 1
                    self.get_logger().error(f"frame dropped: {type(e).__name__}: {e}",
                                            throttle_duration_sec=5.0)
                    self._reset_engine(self.last_pose)

    def _validate(self, items) -> tuple[np.ndarray, np.ndarray] | None:
        """Raw (6,3,3) device-world orientations and (6,3) sensor-frame specific forces, or None."""
        if any(d["quat"] is None or d["acc"] is None for d in items):
            self.counters["rejected_missing"] += 1
            return None
        quat = np.stack([d["quat"] for d in items])
        acc = np.stack([d["acc"] for d in items])
        if not (np.isfinite(quat).all() and np.isfinite(acc).all()):
            self.counters["rejected_nan"] += 1
            return None
        if np.abs(np.linalg.norm(quat, axis=1) - 1.0).max() > self._param("quat_tolerance"):
            self.counters["rejected_quat"] += 1
            return None
        if np.linalg.norm(acc, axis=1).max() > self._param("acc_range"):
            self.counters["rejected_range"] += 1
            return None
        return matrix_from_quat(quat), acc

    # ---------------------------------------------------------------- processing
    def _process(self, s: SyncedSet, arrival: float):
        stamp_ns = s.stamp_ns
        raw = self._validate(s.items)
        if raw is None:
            self.events[SmplPose.STATUS_DEGRADED] = stamp_ns
            return
        ori, acc = raw
        gap = self._param("max_gap")
        if self.last_stamp_ns is not None and gap > 0 and (stamp_ns - self.last_stamp_ns) * 1e-9 > gap:
            self.counters["gap_resets"] += 1
            self._reset_engine(self.last_pose)
        self.last_stamp_ns = stamp_ns
        if s.held:
            self.counters["held"] += 1
            self.events[SmplPose.STATUS_DEGRADED] = stamp_ns
            if (stamp_ns - min(s.stamps_ns[c] for c in s.held)) * 1e-9 > self._param("lost_after"):
                # A stale sample this old would drive the network with fiction: freeze the pose instead,
                # and neither calibrate nor step on it.
                self.counters["lost"] += 1
                self.lost = True
                if self.calibration is not None and self.collect is None and self.last_pose is not None:
                    self._publish(stamp_ns, self.last_pose, arrival, SmplPose.STATUS_LOST)
                return
        if self.lost:  # the sensor is back: restart from the frozen pose
            self.lost = False
            self._reset_engine(self.last_pose)
        if self.auto_pending and self.collect is None:
            self.auto_pending = False
            self._start_collection(Calibrate.Request.T_POSE, self._param("auto_calibration_duration"),
                                   stamp_ns)
        if self.collect is not None:
            self._collect(stamp_ns, ori, acc)
            return
        if self.calibration is None:
            return
        self._estimate(stamp_ns, ori, acc, arrival)

    def _estimate(self, stamp_ns, ori, acc, arrival):
        with torch.inference_mode():
            cal_acc, cal_ori = apply_calibration(self.calibration, torch.from_numpy(ori)[None],
                                                 torch.from_numpy(acc)[None])
            local_rot, joints = self.engine.step(cal_acc.float(), cal_ori.float())
        local_rot = np.asarray(local_rot, dtype=np.float64).reshape(24, 3, 3)
        joints = np.asarray(joints, dtype=np.float64).reshape(24, 3)
        if not (np.isfinite(local_rot).all() and np.isfinite(joints).all()):
            self.counters["invalid_output"] += 1
            self._reset_engine(self.last_pose)
            return
        root, _ = self.translation.step(cal_acc[0].numpy(), cal_ori[0].numpy(), joints)
        if np.isfinite(root).all():
            self.root = root
        else:  # keep the last position; the estimate starts over from there
            self.translation.restart()
        self.last_pose = local_rot
        self._publish(stamp_ns, local_rot, arrival, self._status(stamp_ns), cal_acc[0, ROOT_SENSOR].numpy())

    def _status(self, stamp_ns: int) -> int:
        """INITIALIZING, else DEGRADED, while within status_window of their last event; else OK.

        INITIALIZING first: consumers (dynamics) skip such frames, and a fresh state outweighs stale input.
        """
        window_ns = self._param("status_window") * 1e9
        status = SmplPose.STATUS_OK
        for kind in (SmplPose.STATUS_DEGRADED, SmplPose.STATUS_INITIALIZING):
            since = self.events[kind]
            if since == PENDING:
                since = self.events[kind] = stamp_ns
            if since is not None and 0 <= stamp_ns - since <= window_ns:
                status = kind
        return status

    def _make_messages(self, world_frame: str):
        """Messages built once and refilled per frame (no per-frame allocation of 24 nested quaternions);
        publish() serialises them, so reuse is safe."""
        estimated = [j in ESTIMATED_JOINTS for j in range(24)]
        pose = SmplPose(subject_id=self.subject_id, estimated=estimated)
        pose.header.frame_id = world_frame
        joints = JointState(name=JOINT_STATE_NAMES)
        joints.header.frame_id = world_frame
        return pose, joints

    def _publish(self, stamp_ns: int, local_rot: np.ndarray, arrival: float, status: int, pelvis_acc=None):
        """pelvis_acc: the calibrated pelvis sensor's free acceleration (SMPL axes), None for a held pose."""
        stamp = time_from_ns(stamp_ns)
        msg = self.pose_msg
        msg.header.stamp = stamp
        msg.tracking_status = self.status = status
        a = msg.pelvis_acceleration
        a.x, a.y, a.z = vec_smpl_to_ros(pelvis_acc).tolist() if pelvis_acc is not None else (0.0, 0.0, 0.0)
        msg.acceleration_valid = pelvis_acc is not None
        t = msg.root_translation
        t.x, t.y, t.z = vec_smpl_to_ros(self.root).tolist() if self.root is not None else (0.0, 0.0, 0.0)
        msg.translation_valid = self.root is not None
        write_smpl_pose(msg, local_rot)
        latency = time.perf_counter() - arrival
        msg.processing_latency = latency
        self.pub_pose.publish(msg)

        js = self.joints_msg
        js.header.stamp = stamp
        r = rot_smpl_to_ros(local_rot)
        # Intrinsic Z-Y-X angles of R = Rz(yaw) Ry(pitch) Rx(roll).
        yaw = np.arctan2(r[:, 1, 0], r[:, 0, 0])
        pitch = -np.arcsin(np.clip(r[:, 2, 0], -1.0, 1.0))
        roll = np.arctan2(r[:, 2, 1], r[:, 2, 2])
        js.position = np.stack([yaw, pitch, roll], axis=1).reshape(-1).tolist()
        self.pub_joints.publish(js)
        self.counters["published"] += 1
        self.latencies.append(latency)
        self.last_publish_time = time.perf_counter()

    # ---------------------------------------------------------------- calibration
    def _reset_engine(self, init_pose):
        """Fresh recurrent state from ``init_pose`` (24,3,3) local rotations; None = the calibration pose."""
        pose = self.calibration.pose if self.calibration is not None else "tpose"
        self.engine.reset(body_vector(self.body), init_pose_from(init_pose, pose))
        self.translation.restart()
        self.events[SmplPose.STATUS_INITIALIZING] = PENDING

    def _start_collection(self, kind: int, duration: float, start_ns: int | None = None):
        self.collect = dict(kind=kind, duration_ns=int(duration * 1e9), start_ns=start_ns, ori=[], acc=[],
                            done=Future())
        return self.collect

    @staticmethod
    def _finish(c, success: bool, message: str):
        if not c["done"].done():
            c["done"].set_result((success, message))

    def _collect(self, stamp_ns, ori, acc):
        c = self.collect
        if c["start_ns"] is None:
            c["start_ns"] = stamp_ns
        c["ori"].append(ori)
        c["acc"].append(acc)
        if stamp_ns - c["start_ns"] < c["duration_ns"]:
            return
        pose = POSE_NAMES[c["kind"]]
        try:
            cal = estimate_calibration(torch.from_numpy(np.stack(c["ori"])),
                                       torch.from_numpy(np.stack(c["acc"])), pose)
        except (ValueError, RuntimeError) as e:
            self.counters["failed_calibrations"] += 1
            result = (False, f"calibration failed: {e}")
        else:
            self.calibration = cal
            self.last_pose = None
            self._reset_engine(None)
            self.translation.reset()
            self.root = None
            self.counters["calibrations"] += 1
            result = (True, f"{pose} calibration from {len(c['ori'])} frames")
        self.get_logger().info(result[1])
        self.collect = None
        self._finish(c, *result)

    def _expire(self, c):
        with self.lock:
            if self.collect is c:
                self.collect = None
        self._finish(c, False, "timed out waiting for synchronised IMU frames")

    async def _on_calibrate(self, request, response):
        """Coroutine: the executor keeps serving the IMU callbacks that collect the window meanwhile."""
        kind, duration = request.pose, float(request.duration)
        if duration == 0.0:
            duration = self._param("default_calibration_duration")
        if kind not in POSE_NAMES:
            response.success, response.message = False, f"unknown pose {kind}: use T_POSE (0) or N_POSE (1)"
        elif not 0.0 < duration <= self._param("max_calibration_duration") or not np.isfinite(duration):
            response.success, response.message = False, f"duration {duration} s outside (0, max]"
        else:
            with self.lock:
                if self.collect is not None:
                    response.success, response.message = False, "a calibration is already running"
                    return response
                self.auto_pending = False
                c = self._start_collection(kind, duration)
            # Wall-clock bound: the window plus time for frames to arrive at all.
            timer = self.create_timer(duration + 2.0, lambda: self._expire(c))
            response.success, response.message = await c["done"]
            self.destroy_timer(timer)
        if not response.success:
            self.get_logger().warning(f"calibration request refused: {response.message}")
        return response

    # ---------------------------------------------------------------- diagnostics
    def _publish_diagnostics(self):
        with self.lock:
            counters = {**self.counters, **{f"sync_{k}": v for k, v in self.sync.stats.as_dict().items()}}
            lat = np.array(self.latencies) if self.latencies else None
            state = ("calibrating" if self.collect is not None else
                     "uncalibrated" if self.calibration is None else "tracking")
            tracking = self.status if state == "tracking" else SmplPose.STATUS_UNCALIBRATED
            last = self.last_publish_time
        status = DiagnosticStatus(name=f"{self.get_name()}: FIP estimator", hardware_id=self.subject_id)
        # The level follows the tracking status of the last pose, unless none came lately (no input at all).
        silent = last is None or time.perf_counter() - last > max(1.0, self._param("diagnostics_period"))
        if state != "tracking":
            status.level, status.message = DiagnosticStatus.WARN, state
        elif silent:
            status.level, status.message = DiagnosticStatus.WARN, "tracking; no pose for a while (no input?)"
        else:
            status.level = STATUS_LEVELS[tracking]
            status.message = f"tracking; {STATUS_NAMES[tracking]}"
        values = {"state": state, "tracking_status": STATUS_NAMES[tracking], **counters}
        if lat is not None:
            values["latency_p50_ms"] = f"{np.percentile(lat, 50) * 1e3:.3f}"
            values["latency_p99_ms"] = f"{np.percentile(lat, 99) * 1e3:.3f}"
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(msg)


def main(args=None):
    return run_node(Estimator, args)


if __name__ == "__main__":
    raise SystemExit(main())
