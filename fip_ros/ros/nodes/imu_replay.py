"""``imu_replay``: plays a recording as six REP 145 IMU streams, like six real sensors would.

Topics ``imu/<site>/data`` (sensor_msgs/Imu, reliable), frame ``<frame_prefix>imu_<site>``; optional ground
truth on ``ground_truth/pose`` (fip_msgs/SmplPose) and ``/clock``. Timing follows a steady wall timer at the
recorded rate times ``rate``. With ``publish_clock`` the stamps are recording time (``start_time`` + t) and
``/clock`` carries it (run consumers with use_sim_time); otherwise stamps are the node clock's now.

Start-up: with ``wait_for_subscribers`` the T-pose waits until every IMU topic has that many subscribers (the
estimator), so no calibration frame is lost to a slow start; with ``set_body_params`` a clip's measured body
goes to the ``set_body_params`` service (the body_params node) as soon as that service appears.
"""

from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import Imu

from fip_msgs.msg import BodyParams, SmplPose
from fip_msgs.srv import GetBodyParams, SetBodyParams
from fip_ros.ros import qos
from fip_ros.ros.conversions import (
    imu_frame,
    imu_topic,
    make_imu,
    namespace_prefix,
    smpl_pose_msg,
    time_from_ns,
)
from fip_ros.ros.formats import FORMATS
from fip_ros.ros.nodes import missing_subscribers, parameter, run_node
from fip_ros.ros.params import declare_parameters, descriptor
from fip_ros.ros.recordings import load_recording
from fip_ros.ros.smpl_frames import DEFAULT_SUBJECT_ID, check_id

PARAMETERS = {
    "source": ("", descriptor("Recording: motion clip .npz, DIP-IMU .pkl or TotalCapture .pkl (DIP format)")),
    "format": ("auto", descriptor(f"auto (from the file name) or one of {', '.join(FORMATS)}")),
    "tpose_seconds": (3.0, descriptor("Still T-pose prepended for calibration, s", lo=0.0, hi=60.0)),
    "seed": (0, descriptor("Seed of the simulated sensor mountings")),
    "mount_error_deg": (30.0, descriptor("Simulated sensor mounting: rotation from the body axes, deg",
                                         lo=0.0, hi=180.0)),
    "heading_deg": (30.0, descriptor("Simulated device world heading, deg", lo=-180.0, hi=180.0)),
    "rate": (1.0, descriptor("Playback speed factor", lo=0.01, hi=100.0)),
    "loop": (False, descriptor("Start again at the end (stamps keep increasing)", read_only=False)),
    "publish_clock": (False, descriptor("Publish /clock with recording time and stamp with it")),
    "start_time": (0.0, descriptor("Recording time of the first sample when publish_clock is set, s",
                                   lo=0.0, hi=4.0e9)),
    "frame_prefix": ("", descriptor("Prefix of the sensor frame ids (imu_<site>); empty = the namespace's "
                                    "(p1_ under /p1)")),
    "wait_for_subscribers": (0, descriptor("Start once every IMU topic has this many subscribers",
                                           lo=0, hi=100, integer=True)),
    "set_body_params": (False, descriptor("Send a clip's measured body to the set_body_params service")),
    "publish_ground_truth": (True, descriptor("Publish ground_truth/pose when the recording has it")),
    "world_frame": ("world", descriptor("frame_id of the ground-truth pose")),
    "subject_id": (DEFAULT_SUBJECT_ID, descriptor("subject_id of the ground-truth pose")),
    **{f"{name}_stddev": (0.0, descriptor(f"REP 145 {name} standard deviation; 0 = unknown", lo=0.0, hi=1e3))
       for name in ("orientation", "angular_velocity", "linear_acceleration")},
}


class ImuReplay(Node):
    """A recording (motion clip, DIP-IMU, TotalCapture) replayed as six live REP 145 sensors with simulated
    mountings and device heading, plus its ground-truth pose."""

    def __init__(self, **kwargs):
        super().__init__("imu_replay", **kwargs)
        self.cfg = declare_parameters(self, PARAMETERS)

        if not self.cfg["source"]:
            raise ValueError("parameter 'source' must name a recording (.npz clip or DIP-format .pkl)")
        with parameter("source"):
            self.rec = load_recording(self.cfg["source"], self.cfg["format"], self.cfg["tpose_seconds"],
                                      self.cfg["seed"], self.cfg["heading_deg"], self.cfg["mount_error_deg"])
        check_id(self.cfg["subject_id"], "subject_id")
        prefix = self.cfg["frame_prefix"] or namespace_prefix(self.get_namespace())
        self.frames = [imu_frame(s, prefix) for s in self.rec.sites]
        self.imu_pubs = [self.create_publisher(Imu, imu_topic(s), qos.RELIABLE) for s in self.rec.sites]
        self.waiting = self.cfg["wait_for_subscribers"] > 0
        self.body_clients = None
        if self.cfg["set_body_params"] and self.rec.body is not None:
            self.body_clients = (self.create_client(GetBodyParams, "get_body_params"),
                                 self.create_client(SetBodyParams, "set_body_params"))
            self.body_future = None
        self.gt_pub = None
        if self.cfg["publish_ground_truth"] and self.rec.gt_local_rot is not None:
            self.gt_pub = self.create_publisher(SmplPose, "ground_truth/pose", qos.RELIABLE)
        self.clock_pub = self.create_publisher(ClockMsg, "/clock", 10) if self.cfg["publish_clock"] else None
        self.index = 0
        self.laps = 0
        self.published = 0
        period = 1.0 / (self.rec.fps * self.cfg["rate"])
        # A steady timer: with use_sim_time a ROS-time timer would wait for the /clock this node publishes.
        self.timer = self.create_timer(period, self._tick, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f"replaying {self.cfg['source']}: {len(self.rec)} frames at {self.rec.fps:g} Hz "
            f"x{self.cfg['rate']:g} ({self.rec.tpose_frames} T-pose frames, {self.rec.lead_frames} before "
            f"the recording) on {[imu_topic(s) for s in self.rec.sites]}")

    def _stamp(self):
        if not self.clock_pub:
            return self.get_clock().now().to_msg()
        t = self.cfg["start_time"] + (self.laps * len(self.rec) + self.index) / self.rec.fps
        return time_from_ns(round(t * 1e9))

    def _send_body(self):
        """The clip's body to body_params (its mass is the person's current one), once the service is up."""
        get, set_ = self.body_clients
        if self.body_future is None:
            if get.service_is_ready() and set_.service_is_ready():
                self.body_future = get.call_async(GetBodyParams.Request())
            return
        if not self.body_future.done():
            return
        reply, self.body_future = self.body_future.result(), None
        if isinstance(reply, GetBodyParams.Response):
            b = self.rec.body
            msg = BodyParams(subject_id="", sex=BodyParams.SEX_MALE if b["sex"] == "male" else
                             BodyParams.SEX_FEMALE, height=b["height"], arm_length=b["arm_length"],
                             leg_length=b["leg_length"], mass=reply.params.mass)
            self.body_future = set_.call_async(SetBodyParams.Request(params=msg))
            return
        level = self.get_logger().info if reply.success else self.get_logger().warning
        level(f"clip body {self.rec.body} sent to set_body_params: {reply.message}")
        self.body_clients = None

    def _ready(self) -> bool:
        if self.body_clients is not None:
            self._send_body()
            if self.body_future is not None:  # a request in flight: play with the clip's body
                return False
        if self.waiting:
            pubs = dict(zip(map(imu_topic, self.rec.sites), self.imu_pubs, strict=True))
            missing = missing_subscribers(pubs, self.cfg["wait_for_subscribers"])
            if missing:
                self.get_logger().info(f"waiting for subscribers on {missing}", throttle_duration_sec=5.0)
                return False
            self.waiting = False
        return True

    def _tick(self):
        if not self._ready():
            return
        if self.index >= len(self.rec):
            if not self.get_parameter("loop").value:
                self.timer.cancel()
                self.get_logger().info(f"replay finished after {self.published} frames")
                return
            self.index, self.laps = 0, self.laps + 1
        i, rec, cfg = self.index, self.rec, self.cfg
        stamp = self._stamp()
        if self.clock_pub:
            self.clock_pub.publish(ClockMsg(clock=stamp))
        for s, pub in enumerate(self.imu_pubs):
            pub.publish(make_imu(stamp, self.frames[s], rec.quat[i, s], rec.gyro[i, s], rec.acc[i, s],
                                 cfg["orientation_stddev"], cfg["angular_velocity_stddev"],
                                 cfg["linear_acceleration_stddev"]))
        if self.gt_pub:
            tran = None if rec.gt_tran is None else rec.gt_tran[i]
            self.gt_pub.publish(smpl_pose_msg(stamp, cfg["world_frame"], cfg["subject_id"],
                                              rec.gt_local_rot[i], tran))
        self.index += 1
        self.published += 1


def main(args=None):
    return run_node(ImuReplay, args)


if __name__ == "__main__":
    raise SystemExit(main())
