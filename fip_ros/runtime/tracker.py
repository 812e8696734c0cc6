"""One person's tracking rules, ROS-free: six raw sensor streams in, calibrated frames and statuses out.

A ``Tracker`` owns, for one person: the synchroniser, input validation, the calibration window (the
``calibrate`` request and auto-calibration, retried on the next window until one is still), the gap /
held / lost rules, the status window, the stamp plausibility check, one timeline and one set of counters.
``Team`` steps the trackers of several people through one batched ONNX call; one person is a team of one.
The estimator node only adapts them to topics, parameters, the service and /diagnostics.

The networks run at ``NETWORK_FPS`` (60 Hz, the rate they were trained at; the translation integrates at it):
sensors faster than 80 Hz are thinned to it, taking the set nearest each time of a 60 Hz grid of stamps
(100 Hz input: 3 sets of every 5, 120 Hz: every other one); every set of slower sensors is taken, and a rate
off 60 Hz by more than ``OFF_RATE`` is reported (``off_rate``): the networks then see the motion slowed down
or sped up.

Tracking status of each pose (nothing is produced before calibration; the values are SmplPose.STATUS_*):
LOST when a sensor has been silent for longer than ``lost_after`` (the last pose is repeated unchanged),
INITIALIZING for ``status_window`` s after the recurrent state was reset (calibration, gap, time jump, new
body, bad output), DEGRADED for ``status_window`` s after a sample was rejected, a silent sensor's last
sample was held in, or a stamp was implausible against the receiver's clock; OK otherwise.
"""

import time
from collections import deque
from dataclasses import dataclass, field
from statistics import median

import numpy as np

from fip_ros.core.body_check import body_array
from fip_ros.core.calibration import apply_calibration, estimate_calibration
from fip_ros.core.frames import QUAT_TOLERANCE
from fip_ros.core.gravity import G_UNIT
from fip_ros.core.smpl_tree import NUM_JOINTS, ROOT_SENSOR, SENSOR_NAMES
from fip_ros.core.so3 import quat_to_matrix
from fip_ros.core.translation import TranslationEstimator, VelocityNet
from fip_ros.runtime.engine import OnnxStreamingEngine, init_pose_from
from fip_ros.runtime.sync import ApproximateTimeSync

OK, DEGRADED, UNCALIBRATED, LOST, INITIALIZING = 0, 1, 2, 3, 4  # = fip_msgs/SmplPose.STATUS_*
STATUS_NAMES = {OK: "OK", DEGRADED: "DEGRADED", UNCALIBRATED: "UNCALIBRATED", LOST: "LOST",
                INITIALIZING: "INITIALIZING"}
PENDING = -1  # an event whose status window starts at the next pose (its stamp is not known yet)
NETWORK_FPS = 60.0
FRAME_NS = round(1e9 / NETWORK_FPS)
FAST_INPUT = 0.75  # sets closer than this share of a frame (sensors above 80 Hz) are thinned
OFF_RATE = 0.2  # a stepping rate off NETWORK_FPS by more than this share is reported
RATE_INTERVALS = 20  # the input rate is the median of this many last intervals (odd ones are no rate)
GRID_FOLLOW = 0.1  # share of a taken set's offset from its grid time that moves the grid
MAX_INTERVAL_NS = 250_000_000  # a longer one is a gap, not the input rate


@dataclass
class TrackerConfig:
    """The tracking rules' settings (seconds, m/s^2); the estimator's parameters of the same names."""
    slop: float = 0.008                # approximate-time sync tolerance
    sync_window: float = 0.5           # stamps a sensor's queue spans: later messages than this are lost
    hold_after: float = 0.1            # a sensor silent this long behind the others is held in (DEGRADED)
    lost_after: float = 0.5            # a sensor held this long: the last pose is repeated (LOST)
    status_window: float = 0.5         # DEGRADED / INITIALIZING last this long after their event
    backward_reset: float = 0.5        # stamps this far back mean a restarted clock: start over
    max_gap: float = 0.1               # restart the recurrent state after a longer input gap (0 = never)
    acc_range: float = 16.0 * G_UNIT   # reject samples with a larger |specific force|
    quat_tolerance: float = QUAT_TOLERANCE  # reject orientations whose | |q| - 1 | exceeds this
    max_clock_offset: float = 60.0     # stamps further from the receiver's clock are flagged (0 = never)
    auto_calibrate: bool = True        # calibrate (T-pose) on the first still window
    auto_calibration_duration: float = 1.0


@dataclass
class Pose:
    """A pose to publish: local_rot (24, 3, 3) SMPL local rotations (joint 0 global), float64."""
    stamp_ns: int
    local_rot: np.ndarray
    status: int
    pelvis_acc: np.ndarray | None  # calibrated pelvis free acceleration (SMPL axes); None for a held pose
    arrival: float                 # perf_counter() when the set's last message arrived
    translation: np.ndarray | None = None  # (3,) root position, SMPL axes, m, from the origin at calibration
    contact: np.ndarray | None = None  # (2,) left/right foot-contact probability, with the translation


@dataclass
class Frame:
    """A calibrated frame waiting for the network: acc (6, 3), ori (6, 3, 3) in the SMPL world."""
    stamp_ns: int
    acc: np.ndarray
    ori: np.ndarray
    arrival: float
    status: int  # from the events up to this frame (several frames may wait for one network call)


@dataclass
class CalibrationWindow:
    pose: str
    duration_ns: int
    auto: bool
    on_done: object = None     # callable(success: bool, message: str) or None
    start_ns: int | None = None
    ori: list = field(default_factory=list)
    acc: list = field(default_factory=list)


class Tracker:
    """One person. ``push`` raw samples; it returns poses to publish now (LOST repeats) and queues calibrated
    frames in ``frames`` for the network; ``finish`` takes the network's output for a frame."""

    def __init__(self, config: TrackerConfig, body: dict, name: str = "", log=None,
                 translation_net: VelocityNet | None = None):
        """name: who this is (logs); log: callable(level 'info' | 'warning', text) for events;
        translation_net: the root translation's velocity net (default: the shipped one)."""
        self.config, self.name = config, name
        self.log = log or (lambda level, text: None)
        self.body, self.body_vec = body, body_array(body)
        self.sync = ApproximateTimeSync(len(SENSOR_NAMES), config.slop, config.sync_window,
                                        reference=ROOT_SENSOR, backward_reset_s=config.backward_reset,
                                        hold_after_s=config.hold_after)
        self._counts = dict(rejected_nan=0, rejected_range=0, rejected_quat=0, rejected_missing=0,
                            implausible_stamps=0, invalid_output=0, published=0, gap_resets=0,
                            calibrations=0, failed_calibrations=0, errors=0, lost=0, thinned=0)
        self.calibration = None
        self.window = None         # the open CalibrationWindow
        self.auto_pending = config.auto_calibrate
        self.waiting = "waiting for IMU frames" if config.auto_calibrate else "uncalibrated: call calibrate"
        self.last_stamp_ns = None  # of the last set taken: the one timeline of this person
        self.due_ns = None         # grid time of the next set to take (NETWORK_FPS)
        self.last_set_ns = None    # stamp of the last synchronised set, taken or not
        self.intervals = deque(maxlen=RATE_INTERVALS)  # between the last sets
        self.interval_ns = None    # their median, None until two sets came
        self.rate_warned = False
        self.last_pose = None      # (24, 3, 3) last output
        self.events = {INITIALIZING: None, DEGRADED: None}  # stamp of the last event, PENDING or None
        self.lost = False
        self.status = UNCALIBRATED  # of the last pose
        self.clock_offset_s = 0.0  # stamp - receiver clock of the last implausible set (0 when plausible)
        self.restart = None         # init pose (1, 15, 3, 3) the network must restart from, or None
        self.frames = []            # calibrated frames waiting for the network
        # Root translation (fip_ros.core.translation): from the origin at each calibration, kept across
        # restarts of the network's state.
        self.translation = TranslationEstimator(body["height"], net=translation_net)
        self.root = None            # (3,) last root position, None before the first pose
        self.contact = None         # (2,) its foot-contact probabilities

    @property
    def counters(self) -> dict:
        """This person's counters and the synchroniser's, in one dict."""
        return {**self._counts, **self.sync.stats.as_dict()}

    def count(self, name: str) -> None:
        self._counts[name] += 1

    @property
    def input_rate_hz(self) -> float | None:
        """Rate of the synchronised sensor sets (before thinning), from the median of the last intervals;
        None until measured."""
        return None if self.interval_ns is None else 1e9 / self.interval_ns

    @property
    def thinning(self) -> bool:
        """Whether the sets come fast enough to be thinned to NETWORK_FPS."""
        return self.interval_ns is not None and self.interval_ns <= FAST_INPUT * FRAME_NS

    @property
    def off_rate(self) -> bool:
        """Whether the networks step at a rate off theirs by more than OFF_RATE (sensors slower than 48 Hz,
        or between 72 and 80 Hz, too fast to take every set and too slow to thin)."""
        if len(self.intervals) < RATE_INTERVALS or self.thinning:
            return False
        return abs(FRAME_NS / self.interval_ns - 1.0) > OFF_RATE

    @property
    def frames_expected(self) -> bool:
        """Whether the next set becomes a frame for the network (calibrated, no window open, not lost)."""
        return self.calibration is not None and self.window is None and not self.lost

    # ------------------------------------------------------------------ input
    def push(self, channel: int, stamp_ns: int, quat, acc, now_ns: int = 0, arrival: float | None = None):
        """One sample of sensor ``channel``: quat (4,) xyzw device-world orientation, acc (3,) specific force
        in the sensor frame (None: not provided); now_ns: the receiver's clock (0 = unknown). Returns the
        poses to publish now."""
        arrival = time.perf_counter() if arrival is None else arrival
        sets, jumped = self.sync.push(channel, stamp_ns, (quat, acc))
        if jumped:
            self.log("warning", "input time jumped backwards: state reset")
            self.reset_state()
            self.last_stamp_ns = self.due_ns = None
            self.events[DEGRADED] = None  # a stamp of the old timeline
        out = []
        for s in sets:
            pose = self._take(s, now_ns, arrival)
            if pose is not None:
                out.append(pose)
        return out

    def _validate(self, items):
        """Raw (6, 3, 3) device-world orientations and (6, 3) specific forces, or None (counted)."""
        if any(q is None or a is None for q, a in items):
            self._counts["rejected_missing"] += 1
            return None
        quat = np.array([q for q, _ in items], dtype=float)
        acc = np.array([a for _, a in items], dtype=float)
        if not (np.isfinite(quat).all() and np.isfinite(acc).all()):
            self._counts["rejected_nan"] += 1
            return None
        if np.abs(np.linalg.norm(quat, axis=1) - 1.0).max() > self.config.quat_tolerance:
            self._counts["rejected_quat"] += 1
            return None
        if np.linalg.norm(acc, axis=1).max() > self.config.acc_range:
            self._counts["rejected_range"] += 1
            return None
        return quat_to_matrix(quat), acc

    def _check_clock(self, stamp_ns: int, now_ns: int) -> None:
        limit = self.config.max_clock_offset
        offset = (stamp_ns - now_ns) * 1e-9
        if now_ns > 0 and limit > 0 and abs(offset) > limit:
            self._counts["implausible_stamps"] += 1
            self.clock_offset_s = offset
            self.events[DEGRADED] = stamp_ns
        else:
            self.clock_offset_s = 0.0

    def _thin(self, stamp_ns: int) -> bool:
        """Measures the sets' rate; whether to skip this set to keep NETWORK_FPS (else the grid moves on)."""
        last, self.last_set_ns = self.last_set_ns, stamp_ns
        if last is not None and 0 < stamp_ns - last <= MAX_INTERVAL_NS:
            self.intervals.append(stamp_ns - last)
            self.interval_ns = median(self.intervals)
            if self.off_rate and not self.rate_warned:
                self.rate_warned = True
                pace = "slowed down" if self.interval_ns > FRAME_NS else "sped up"
                self.log("warning", f"sensor sets arrive at {self.input_rate_hz:.0f} Hz: the networks run at "
                                    f"{NETWORK_FPS:.0f} Hz and see the motion {pace}")
        if not self.thinning:
            self.due_ns = stamp_ns + FRAME_NS  # about the networks' rate or slower: every set, however its
            return False                       # stamp jitters (the grid starts from it if sets come faster)
        due = self.due_ns
        # The set nearest each grid time: one half an input period early is nearer than the next one.
        if due is not None and stamp_ns < due - self.interval_ns / 2:
            self._counts["thinned"] += 1
            return True
        # The grid advances by one frame and follows the taken sets' mean phase (the first set's stamp
        # jitter fades), so the mean rate is exact at any faster input rate; behind it (slower input, a gap)
        # it starts again from this set.
        if due is not None and stamp_ns - due <= FRAME_NS // 2:
            self.due_ns = due + FRAME_NS + round(GRID_FOLLOW * (stamp_ns - due))
        else:
            self.due_ns = stamp_ns + FRAME_NS
        return False

    def _take(self, s, now_ns: int, arrival: float):
        stamp_ns = s.stamp_ns
        if self._thin(stamp_ns):
            return None
        raw = self._validate(s.items)
        if raw is None:
            self.events[DEGRADED] = stamp_ns
            return None
        self._check_clock(stamp_ns, now_ns)
        ori, acc = raw
        gap = self.config.max_gap
        if self.last_stamp_ns is not None and gap > 0 and (stamp_ns - self.last_stamp_ns) * 1e-9 > gap:
            self._counts["gap_resets"] += 1
            self.reset_state()
        self.last_stamp_ns = stamp_ns
        if s.held:
            self.events[DEGRADED] = stamp_ns
            if (stamp_ns - min(s.stamps_ns[c] for c in s.held)) * 1e-9 > self.config.lost_after:
                # A stale sample this old would drive the network with fiction: freeze the pose instead,
                # and neither calibrate nor step on it.
                self._counts["lost"] += 1
                self.lost = True
                if self.calibration is not None and self.window is None and self.last_pose is not None:
                    return self._pose(stamp_ns, self.last_pose, LOST, None, arrival, self.root, self.contact)
                return None
        if self.lost:  # the sensor is back: restart from the frozen pose
            self.lost = False
            self.reset_state()
        if self.auto_pending and self.window is None:
            self.window = CalibrationWindow("tpose", int(self.config.auto_calibration_duration * 1e9), True)
            if not self._counts["failed_calibrations"]:  # else the last window's fault stays the news
                self.waiting = "auto-calibration: hold a still T-pose"
        if self.window is not None:
            self._collect(stamp_ns, ori, acc)
        elif self.calibration is not None:
            cal_acc, cal_ori = apply_calibration(self.calibration, ori, acc)
            self.frames.append(Frame(stamp_ns, cal_acc, cal_ori, arrival, self._status(stamp_ns)))
        return None

    # ------------------------------------------------------------------ network output
    def finish(self, frame: Frame, local_rot: np.ndarray, joints: np.ndarray):
        """The network's output (24, 3, 3) and root-relative joints (24, 3) for ``frame`` -> the Pose to
        publish, or None for an invalid one (the state restarts from the last good pose)."""
        local_rot = np.asarray(local_rot, dtype=np.float64).reshape(NUM_JOINTS, 3, 3)
        joints = np.asarray(joints, dtype=np.float64).reshape(NUM_JOINTS, 3)
        if not (np.isfinite(local_rot).all() and np.isfinite(joints).all()):
            self._counts["invalid_output"] += 1
            self.reset_state()
            return None
        self.last_pose = local_rot
        root, contact = self.translation.step(frame.acc, frame.ori, joints)
        if np.isfinite(root).all() and np.isfinite(contact).all():
            self.root, self.contact = root, contact
        else:  # keep the last position; the estimate starts over from there
            self.translation.restart()
        return self._pose(frame.stamp_ns, local_rot, frame.status, frame.acc[ROOT_SENSOR], frame.arrival,
                          self.root, self.contact)

    def _pose(self, stamp_ns, local_rot, status, pelvis_acc, arrival, translation, contact=None) -> Pose:
        self.status = status
        self._counts["published"] += 1
        return Pose(stamp_ns, local_rot, status, pelvis_acc, arrival, translation, contact)

    def _status(self, stamp_ns: int) -> int:
        """INITIALIZING, else DEGRADED, while within status_window of their last event; else OK.

        INITIALIZING first: consumers (dynamics) skip such frames, and a fresh state outweighs stale input.
        """
        window_ns = self.config.status_window * 1e9
        status = OK
        for kind in (DEGRADED, INITIALIZING):
            since = self.events[kind]
            if since == PENDING:
                since = self.events[kind] = stamp_ns
            if since is not None and 0 <= stamp_ns - since <= window_ns:
                status = kind
        return status

    # ------------------------------------------------------------------ state
    def reset_state(self, init_pose=None):
        """Restart the recurrent state from ``init_pose`` (24, 3, 3) local rotations (default: the last pose;
        the calibration pose when there is none)."""
        pose = self.calibration.pose if self.calibration is not None else "tpose"
        self.restart = init_pose_from(self.last_pose if init_pose is None else init_pose, pose)
        self.frames.clear()
        self.translation.restart()
        self.events[INITIALIZING] = PENDING

    def set_body(self, body: dict) -> None:
        """A new body (ValueError if implausible, the old one stays): the state restarts."""
        self.body_vec, self.body = body_array(body), body
        self.translation.height = float(body["height"])
        self.reset_state()

    # ------------------------------------------------------------------ calibration
    def start_calibration(self, pose: str, duration: float, on_done=None) -> bool:
        """Open a calibration window of ``duration`` s of frames; ``on_done(success, message)`` when it
        closes. False when one is already open (a request's; an auto-calibration window gives way)."""
        if self.window is not None and not self.window.auto:
            return False
        self.auto_pending = False
        self.window = CalibrationWindow(pose, int(duration * 1e9), False, on_done)
        self.waiting = f"calibrating: hold a still {pose}"
        return True

    def cancel_calibration(self, message: str) -> None:
        w, self.window = self.window, None
        if w is not None and w.on_done is not None:
            w.on_done(False, message)
        if self.calibration is None:
            self.waiting = f"uncalibrated: {message}"

    def _collect(self, stamp_ns, ori, acc):
        w = self.window
        if w.start_ns is None:
            w.start_ns = stamp_ns
        w.ori.append(ori)
        w.acc.append(acc)
        if stamp_ns - w.start_ns < w.duration_ns:
            return
        self.window = None
        try:
            cal = estimate_calibration(np.stack(w.ori), np.stack(w.acc), w.pose)
        except ValueError as e:
            self._counts["failed_calibrations"] += 1
            result = (False, f"calibration failed: {e}")
            if w.auto:  # the next window tries again: the subject may not have stood still yet
                self.waiting = f"auto-calibration retrying, last window: {e}"
            elif self.calibration is None:
                self.waiting = f"uncalibrated: {result[1]}"
        else:
            self.calibration, self.last_pose, self.root, self.contact = cal, None, None, None
            self.auto_pending = False
            self.reset_state()
            self.translation.reset()
            self._counts["calibrations"] += 1
            self.waiting = ""
            result = (True, f"{w.pose} calibration from {len(w.ori)} frames")
        self.log("info" if result[0] else "warning", result[1])
        if w.on_done is not None:
            w.on_done(*result)

    @property
    def state(self) -> str:
        return "calibrating" if self.window is not None else "uncalibrated" if self.calibration is None \
            else "tracking"


class Team:
    """Several people's trackers and one batched engine: ``step`` runs the frames they have waiting through
    one ONNX call per round (each person's row keeps its own recurrent state)."""

    def __init__(self, trackers: list[Tracker], engine: OnnxStreamingEngine):
        if engine.batch != len(trackers):
            raise ValueError(f"the engine has {engine.batch} rows for {len(trackers)} people")
        self.trackers, self.engine = trackers, engine
        engine.reset(np.stack([t.body_vec for t in trackers]))

    @classmethod
    def load(cls, trackers: list[Tracker], model_path=None, threads: int = 1) -> "Team":
        """A team on the graphs at ``model_path`` (``fip_ros.runtime.graph.graph_pair``; None: shipped)."""
        from fip_ros.runtime.graph import load_sessions, session_batch

        step, startup = load_sessions(model_path, threads, session_batch(len(trackers)))
        return cls(trackers, OnnxStreamingEngine.from_sessions(step, startup, batch=len(trackers)))

    def pending(self) -> int:
        """How many people have a frame waiting."""
        return sum(bool(t.frames) for t in self.trackers)

    def step(self) -> list[tuple[int, Pose]]:
        """Run every waiting frame; returns (person index, pose) in order."""
        out = []
        while rows := [i for i, t in enumerate(self.trackers) if t.frames]:
            restart = [i for i in rows if self.trackers[i].restart is not None]
            if restart:
                self.engine.reset_rows(restart, np.stack([self.trackers[i].body_vec for i in restart]),
                                       np.concatenate([self.trackers[i].restart for i in restart]))
                for i in restart:
                    self.trackers[i].restart = None
            frames = [self.trackers[i].frames.pop(0) for i in rows]
            local_rot, joints = self.engine.step_rows(rows, np.stack([f.acc for f in frames]),
                                                      np.stack([f.ori for f in frames]))
            for k, (i, frame) in enumerate(zip(rows, frames, strict=True)):
                pose = self.trackers[i].finish(frame, local_rot[k], joints[k])
                if pose is not None:
                    out.append((i, pose))
        return out
