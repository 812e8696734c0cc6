"""TF on the wire: what fip_ros broadcasts reaches plain tf2_msgs/TFMessage subscribers with tf2's QoS.

Run as a script (`python test_foundation_tf.py <token>`), this file is the broadcasting process.
"""

import math
import sys
import uuid

import pytest


def publish_forever(token: str) -> None:
    import rclpy

    from fip_ros.ros.tf_publisher import StaticTransformBroadcaster, TransformBroadcaster, make_transform

    rclpy.init()
    node = rclpy.create_node("tf_test_broadcaster")
    stamp = node.get_clock().now().to_msg()
    static = StaticTransformBroadcaster(node)
    # Three calls: the last replaces the first frame's entry, so the latched set must hold a2 and b.
    static.send_transform(make_transform(stamp, "world", f"a_{token}", (1, 0, 0), (0, 0, 0, 1)))
    static.send_transform(make_transform(stamp, "world", f"b_{token}", (0, 2, 0), (0, 0, 0, 1)))
    static.send_transform(make_transform(stamp, "world", f"a_{token}", (3, 0, 0), (0, 0, 0, 1)))
    dynamic = TransformBroadcaster(node)
    half = math.sqrt(0.5)
    node.create_timer(0.05, lambda: dynamic.send_transform(
        make_transform(node.get_clock().now().to_msg(), "world", f"body_{token}", (0.5, 0.25, 1.0),
                       (0.0, 0.0, half, half))))
    print("ready", flush=True)
    rclpy.spin(node)


def _tf2_qos(static: bool):
    # Spelled out rather than taken from fip_ros.ros.qos: this is what tf2 listeners use.
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    if static:
        return QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                          durability=DurabilityPolicy.TRANSIENT_LOCAL)
    return QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


def test_tf_and_late_joining_tf_static(ros_node, spawn_python, spin_until):
    import time

    from tf2_msgs.msg import TFMessage

    token = uuid.uuid4().hex[:10]
    spawn_python(__file__, token, ready="ready")
    time.sleep(1.0)  # the static set is published before this test's subscriber exists: a late joiner

    dynamic, static = [], []

    def on_tf(msg):
        dynamic.extend(t for t in msg.transforms if t.child_frame_id == f"body_{token}")

    def on_static(msg):
        static.append({t.child_frame_id: t for t in msg.transforms if t.child_frame_id.endswith(token)})

    ros_node.create_subscription(TFMessage, "/tf", on_tf, _tf2_qos(static=False))
    ros_node.create_subscription(TFMessage, "/tf_static", on_static, _tf2_qos(static=True))
    assert spin_until(ros_node, lambda: dynamic and static, timeout=20.0), (len(dynamic), len(static))

    t = dynamic[0]
    assert t.header.frame_id == "world"
    tr = t.transform.translation
    assert (tr.x, tr.y, tr.z) == (0.5, 0.25, 1.0)
    assert t.transform.rotation.z == pytest.approx(math.sqrt(0.5))
    latched = static[-1]
    assert sorted(latched) == [f"a_{token}", f"b_{token}"]
    assert latched[f"a_{token}"].transform.translation.x == 3.0
    assert latched[f"b_{token}"].transform.translation.y == 2.0


def test_tf2_msgs_type_hash_matches_real_tf2():
    """The stand-in tf2_msgs (or the installed one) carries the Kilted/Jazzy tf2_msgs type hash."""
    import json
    import os

    from ament_index_python.packages import get_package_share_directory
    from rosbags.typesys import Stores, get_typestore

    path = os.path.join(get_package_share_directory("tf2_msgs"), "msg", "TFMessage.json")
    with open(path) as f:
        hashes = {h["type_name"]: h["hash_string"] for h in json.load(f)["type_hashes"]}
    expected = get_typestore(Stores.ROS2_KILTED).hash_rihs01("tf2_msgs/msg/TFMessage")
    assert hashes["tf2_msgs/msg/TFMessage"] == expected


@pytest.mark.parametrize("parent, child, translation, rotation", [
    ("world", "world", (0, 0, 0), (0, 0, 0, 1)),       # own parent
    ("", "body", (0, 0, 0), (0, 0, 0, 1)),            # empty id
    ("/world", "body", (0, 0, 0), (0, 0, 0, 1)),      # leading slash
    ("world", "body", (math.nan, 0, 0), (0, 0, 0, 1)),
    ("world", "body", (0, 0, 0), (0, 0, 0, 0.9)),     # non-unit quaternion
])
def test_invalid_transforms_are_rejected(parent, child, translation, rotation):
    from builtin_interfaces.msg import Time

    from fip_ros.ros.tf_publisher import make_transform, validate_transform

    with pytest.raises(ValueError):
        validate_transform(make_transform(Time(), parent, child, translation, rotation))
    validate_transform(make_transform(Time(), "world", "body", (1, 2, 3), (0, 0, 0.6, 0.8)))


def test_qos_profiles():
    from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

    from fip_ros.ros import qos

    assert qos.profile("sensor_data").reliability == ReliabilityPolicy.BEST_EFFORT
    assert qos.profile("sensor_data").depth == 5
    assert (qos.TF.depth, qos.TF.durability) == (100, DurabilityPolicy.VOLATILE)
    assert (qos.TF_STATIC.depth, qos.TF_STATIC.durability) == (1, DurabilityPolicy.TRANSIENT_LOCAL)
    assert qos.LATCHED.reliability == ReliabilityPolicy.RELIABLE
    with pytest.raises(ValueError, match="sensor_data"):
        qos.profile("bogus")


if __name__ == "__main__":
    publish_forever(sys.argv[1])
