"""``bag_player``: replays a rosbag2 bag (mcap or sqlite3) for machines without ``ros2 bag``.

Messages go out as raw CDR bytes (no per-type code) at their recorded log-time spacing divided by ``rate``,
on their recorded topics with the recorded publishers' QoS (reliable unless all were best effort,
transient-local when any was). Optional ``/clock`` with the bag time, ``loop``, and ``wait_for_subscribers``
(hold the start until every topic of ``wait_topics`` has that many subscribers, so nothing is lost to
discovery; by default the bag's ``sensor_msgs/msg/Imu`` topics, which the estimator subscribes to, and not
topics nobody may subscribe to, such as ``ground_truth/pose``).
"""

import threading
import time

from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg

from fip_ros.ros.bag_tools import bag_topics, message_class, qos_from_bag, read_bag
from fip_ros.ros.conversions import time_from_ns
from fip_ros.ros.nodes import missing_subscribers, parameter, run_node
from fip_ros.ros.params import declare_parameters, descriptor

IMU_TYPE = "sensor_msgs/msg/Imu"

PARAMETERS = {
    "bag": ("", descriptor("Bag folder (rosbag2, mcap or sqlite3)")),
    "topics": ([""], descriptor("Topics to play; [''] = all")),
    "rate": (1.0, descriptor("Speed factor", lo=0.01, hi=100.0)),
    "loop": (False, descriptor("Play again from the start at the end", read_only=False)),
    "publish_clock": (False, descriptor("Publish /clock with the bag time")),
    "wait_for_subscribers": (0, descriptor("Start once every topic of wait_topics has this many subscribers",
                                           lo=0, hi=100, integer=True)),
    "wait_topics": ([""], descriptor("Topics wait_for_subscribers waits for; [''] = the bag's "
                                     "sensor_msgs/msg/Imu topics")),
}


class BagPlayer(Node):
    """A rosbag2 bag published as recorded: the stored bytes at the recorded spacing, with the recorded
    QoS, optionally with /clock."""

    def __init__(self, **kwargs):
        super().__init__("bag_player", **kwargs)
        self.stopping, self.thread = threading.Event(), None
        declare_parameters(self, PARAMETERS)
        g = self.get_parameter
        self.bag = g("bag").value
        if not self.bag:
            raise ValueError("parameter 'bag' must name a rosbag2 folder")
        self.rate = g("rate").value
        self.min_subscribers = g("wait_for_subscribers").value
        wanted = [t for t in g("topics").value if t]
        self.pubs, imu_topics = {}, []
        with parameter("bag"):
            recorded = bag_topics(self.bag)
        for topic, (msgtype, _, profiles) in recorded.items():
            if wanted and topic not in wanted:
                continue
            try:
                msg_class = message_class(msgtype)
                self.pubs[topic] = self.create_publisher(msg_class, topic, qos_from_bag(profiles))
                if msgtype == IMU_TYPE:
                    imu_topics.append(topic)
            except (ImportError, AttributeError, ValueError) as exc:
                self.get_logger().error(f"skipping {topic}: cannot load type {msgtype} ({exc})")
        waited = [t for t in g("wait_topics").value if t] or imu_topics
        unknown = [t for t in waited if t not in self.pubs]
        if unknown:
            raise ValueError(f"parameter 'wait_topics': {unknown} are not played from {self.bag}")
        self.waited = {t: self.pubs[t] for t in waited}
        self.clock_pub = self.create_publisher(ClockMsg, "/clock", 10) if g("publish_clock").value else None
        self.published = 0
        self.done = False
        self.thread = threading.Thread(target=self._play, daemon=True)
        self.thread.start()
        self.get_logger().info(f"playing {self.bag}: {sorted(self.pubs)} at x{self.rate:g}")

    def _wait_for_subscribers(self):
        while not self.stopping.is_set():
            missing = missing_subscribers(self.waited, self.min_subscribers)
            if not missing:
                return
            self.get_logger().info(f"waiting for subscribers on {missing}", throttle_duration_sec=5.0)
            self.stopping.wait(0.02)

    def _play(self):
        self._wait_for_subscribers()
        while not self.stopping.is_set():
            wall0 = bag0 = None
            for topic, _, t_ns, data in read_bag(self.bag, set(self.pubs)):
                if self.stopping.is_set():
                    return
                if bag0 is None:
                    wall0, bag0 = time.monotonic(), t_ns
                delay = wall0 + (t_ns - bag0) * 1e-9 / self.rate - time.monotonic()
                if delay > 0 and self.stopping.wait(delay):
                    return
                if self.clock_pub:
                    self.clock_pub.publish(ClockMsg(clock=time_from_ns(t_ns)))
                self.pubs[topic].publish(bytes(data))
                self.published += 1
            if not self.get_parameter("loop").value:
                break
        self.done = True
        self.get_logger().info(f"bag finished: {self.published} messages published")

    def stop(self):
        """End the playing thread (it checks ``stopping`` between messages) before the context goes. Waits
        for it once: ``destroy_node`` calls this again after the cleanup's own call."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        if self.thread is not None and self.thread.is_alive():
            self.thread.join(timeout=1.0)

    def destroy_node(self):
        self.stop()
        return super().destroy_node()


def main(args=None):
    return run_node(BagPlayer, args)


if __name__ == "__main__":
    raise SystemExit(main())
