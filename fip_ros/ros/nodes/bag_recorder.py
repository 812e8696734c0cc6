"""``bag_recorder``: records topics to a rosbag2 bag (version 9, mcap or sqlite3) without ``ros2 bag``.

Subscribes raw (CDR bytes, no per-type code) to each configured topic once a publisher of it is discovered,
with a QoS that matches every publisher (best effort if any publisher is; transient-local if all are, so
latched topics such as /tf_static and body_params are caught). The bag records the publishers' offered QoS and
the receive time as log time. The bag is closed (readable) by the ``~/stop`` service or node destruction.
"""

import threading
from pathlib import Path

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_srvs.srv import Trigger

from fip_ros.core.smpl_tree import SENSOR_NAMES
from fip_ros.ros.bag_tools import BagWriter, message_class
from fip_ros.ros.conversions import imu_topic
from fip_ros.ros.formats import STORAGE_NAMES
from fip_ros.ros.nodes import run_node
from fip_ros.ros.params import declare_parameters, descriptor

DEFAULT_TOPICS = ["/" + imu_topic(s) for s in SENSOR_NAMES] + [
    "/ground_truth/pose", "/pose", "/joint_states", "/body_params", "/joint_moments", "/tf", "/tf_static"]
RECORD_DEPTH = 1000  # generous: the bag writer must not drop bursts
PARAMETERS = {
    "output": ("", descriptor("Bag folder to create (must not exist); empty = fip_bag_<time> in the working "
                              "directory")),
    "storage": ("mcap", descriptor(f"One of {list(STORAGE_NAMES)}")),
    "topics": (DEFAULT_TOPICS, descriptor(
        "Topics to record (relative names resolve in the node's namespace)")),
    "discovery_period": (0.2, descriptor("Seconds between looks for publishers of not yet subscribed topics",
                                         lo=0.01, hi=10.0)),
}


class BagRecorder(Node):
    """Topics recorded to a rosbag2 bag (raw bytes, the publishers' QoS) without ``ros2 bag``."""

    def __init__(self, **kwargs):
        super().__init__("bag_recorder", **kwargs)
        self.lock = threading.Lock()
        self.writer = None
        declare_parameters(self, PARAMETERS)
        g = self.get_parameter
        out = g("output").value or f"fip_bag_{self.get_clock().now().nanoseconds // 10**9}"
        self.path = Path(out)
        self.wanted = [self.resolve_topic_name(t) for t in g("topics").value if t]
        self.writer = BagWriter(self.path, g("storage").value)
        self.subs = {}
        self.counts = {}
        self.skipped = set()
        self.create_timer(g("discovery_period").value, self._discover)
        self.create_service(Trigger, "~/stop", self._on_stop)
        self.get_logger().info(f"recording {self.wanted} to {self.path}")

    def _discover(self):
        if self.writer is None:
            return
        types = dict(self.get_topic_names_and_types())
        for topic in self.wanted:
            if topic in self.subs or topic in self.skipped or topic not in types:
                continue
            infos = self.get_publishers_info_by_topic(topic)
            if not infos:
                continue
            msgtype = types[topic][0]
            try:
                self.writer.add_topic(topic, msgtype, [i.qos_profile for i in infos])
            except KeyError as exc:
                self.skipped.add(topic)
                self.get_logger().error(f"not recording {topic}: {exc}")
                continue
            best_effort = any(i.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT for i in infos)
            latched = all(i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for i in infos)
            profile = QoSProfile(
                history=HistoryPolicy.KEEP_LAST, depth=RECORD_DEPTH,
                reliability=ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE,
                durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)
            self.counts[topic] = 0
            self.subs[topic] = self.create_subscription(message_class(msgtype), topic,
                                                        lambda data, t=topic: self._on_message(t, data),
                                                        profile, raw=True)
            self.get_logger().info(f"recording {topic} [{msgtype}]")

    def _on_message(self, topic: str, data: bytes):
        with self.lock:
            if self.writer is None:
                return
            self.writer.write(topic, self.get_clock().now().nanoseconds, data)
            self.counts[topic] += 1

    def close(self):
        with self.lock:
            if self.writer is not None:
                self.writer.close()
                self.writer = None
                self.get_logger().info(f"bag {self.path} closed: {self.counts}")

    def _on_stop(self, request, response):
        self.close()
        response.success, response.message = True, f"{self.path}: {self.counts}"
        return response

    def destroy_node(self):
        self.close()
        return super().destroy_node()


def main(args=None):
    return run_node(BagRecorder, args)


if __name__ == "__main__":
    raise SystemExit(main())
