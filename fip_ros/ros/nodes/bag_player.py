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

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg

from fip_ros.ros.bag_tools import bag_topics, message_class, qos_from_bag, read_bag
from fip_ros.ros.conversions import time_from_ns
from fip_ros.ros.nodes import missing_subscribers, parameter, run_node

IMU_TYPE = "sensor_msgs/msg/Imu"


class BagPlayer(Node):
    def __init__(self, **kwargs):
        super().__init__("bag_player", **kwargs)
        self.stopping, self.thread = threading.Event(), None
        p = self.declare_parameter
        p("bag", "", ParameterDescriptor(description="Bag folder (rosbag2, mcap or sqlite3)", read_only=True))
        p("topics", [""], ParameterDescriptor(description="Topics to play; [''] = all", read_only=True))
        p("rate", 1.0, ParameterDescriptor(description="Speed factor", read_only=True, floating_point_range=[
            FloatingPointRange(from_value=0.01, to_value=100.0)]))
        p("loop", False, ParameterDescriptor(description="Play again from the start at the end"))
        p("publish_clock", False, ParameterDescriptor(description="Publish /clock with the bag time",
                                                      read_only=True))
        p("wait_for_subscribers", 0, ParameterDescriptor(
            description="Start once every topic has this many subscribers", read_only=True,
            integer_range=[IntegerRange(from_value=0, to_value=100, step=1)]))
        p("wait_topics", [""], ParameterDescriptor(
            description="Topics wait_for_subscribers waits for; [''] = the bag's sensor_msgs/msg/Imu topics",
            read_only=True))
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
        """End the playing thread (it checks ``stopping`` between messages) before the context goes."""
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
