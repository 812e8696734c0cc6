"""``bag_player``: replays a rosbag2 bag (mcap or sqlite3) for machines without ``ros2 bag``.

Messages go out as raw CDR bytes (no per-type code) at their recorded log-time spacing divided by ``rate``,
on their recorded topics with the recorded publishers' QoS (reliable unless all were best effort,
transient-local when any was). Optional ``/clock`` with the bag time, ``loop``, and ``wait_for_subscribers``
(hold the start until every topic has that many subscribers, so nothing is lost to discovery).
"""

import threading
import time

from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg

from fip_ros.ros.bag_tools import bag_topics, message_class, qos_from_bag, read_bag
from fip_ros.ros.conversions import time_from_ns
from fip_ros.ros.nodes import run_node
from fip_ros.ros.params import declare_parameters, descriptor

PARAMETERS = {
    "bag": ("", descriptor("Bag folder (rosbag2, mcap or sqlite3)")),
    "topics": ([""], descriptor("Topics to play; [''] = all")),
    "rate": (1.0, descriptor("Speed factor", lo=0.01, hi=100.0)),
    "loop": (False, descriptor("Play again from the start at the end", read_only=False)),
    "publish_clock": (False, descriptor("Publish /clock with the bag time")),
    "wait_for_subscribers": (0, descriptor("Start once every topic has this many subscribers",
                                           lo=0, hi=100, integer=True)),
}


class BagPlayer(Node):
    """A rosbag2 bag published as recorded: the stored bytes at the recorded spacing, with the recorded
    QoS, optionally with /clock."""

    def __init__(self, **kwargs):
        super().__init__("bag_player", **kwargs)
        self.running, self.thread = True, None
        declare_parameters(self, PARAMETERS)
        g = self.get_parameter
        self.bag = g("bag").value
        if not self.bag:
            raise ValueError("parameter 'bag' must name a rosbag2 folder")
        self.rate = g("rate").value
        self.min_subscribers = g("wait_for_subscribers").value
        wanted = [t for t in g("topics").value if t]
        self.pubs = {}
        for topic, (msgtype, _, profiles) in bag_topics(self.bag).items():
            if wanted and topic not in wanted:
                continue
            try:
                msg_class = message_class(msgtype)
                self.pubs[topic] = self.create_publisher(msg_class, topic, qos_from_bag(profiles))
            except (ImportError, AttributeError, ValueError) as exc:
                self.get_logger().error(f"skipping {topic}: cannot load type {msgtype} ({exc})")
        self.clock_pub = self.create_publisher(ClockMsg, "/clock", 10) if g("publish_clock").value else None
        self.published = 0
        self.done = False
        self.thread = threading.Thread(target=self._play, daemon=True)
        self.thread.start()
        self.get_logger().info(f"playing {self.bag}: {sorted(self.pubs)} at x{self.rate:g}")

    def _wait_for_subscribers(self):
        while self.running and not all(p.get_subscription_count() >= self.min_subscribers
                                       for p in self.pubs.values()):
            time.sleep(0.02)

    def _play(self):
        self._wait_for_subscribers()
        while self.running:
            wall0 = bag0 = None
            for topic, _, t_ns, data in read_bag(self.bag, set(self.pubs)):
                if not self.running:
                    return
                if bag0 is None:
                    wall0, bag0 = time.monotonic(), t_ns
                delay = wall0 + (t_ns - bag0) * 1e-9 / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if self.clock_pub:
                    self.clock_pub.publish(ClockMsg(clock=time_from_ns(t_ns)))
                self.pubs[topic].publish(bytes(data))
                self.published += 1
            if not self.get_parameter("loop").value:
                break
        self.done = True
        self.get_logger().info(f"bag finished: {self.published} messages published")

    def destroy_node(self):
        self.running = False
        if self.thread is not None and self.thread.is_alive():
            self.thread.join(timeout=2.0)
        return super().destroy_node()


def main(args=None):
    return run_node(BagPlayer, args)


if __name__ == "__main__":
    raise SystemExit(main())
