"""bag_recorder QoS handling: latched topics published before it started, best-effort streams, ~/stop."""

from geometry_msgs.msg import TransformStamped
from rclpy.parameter import Parameter
from rosbags.interfaces import QosDurability, QosReliability
from sensor_msgs.msg import Imu
from std_srvs.srv import Trigger
from tf2_msgs.msg import TFMessage

from fip_msgs.msg import BodyParams
from fip_ros.ros import qos
from fip_ros.ros.bag_tools import bag_topics, read_bag
from fip_ros.ros.conversions import make_imu, time_from_ns
from fip_ros.ros.nodes.bag_recorder import BagRecorder


def test_records_latched_and_best_effort_topics(tmp_path, ros_context, ros_node, spin_until):
    static = TransformStamped(child_frame_id="origin_7")
    static.header.frame_id = "world"
    static.transform.rotation.w = 1.0
    ros_node.create_publisher(TFMessage, "/tf_static", qos.TF_STATIC).publish(TFMessage(transforms=[static]))
    ros_node.create_publisher(BodyParams, "/body_params", qos.LATCHED).publish(
        BodyParams(subject_id="7", height=1.8))
    imu_pub = ros_node.create_publisher(Imu, "/imu/head/data", qos.SENSOR_DATA)

    out = tmp_path / "rec"
    recorder = BagRecorder(context=ros_context, parameter_overrides=[
        Parameter("output", value=str(out)), Parameter("storage", value="sqlite3"),
        Parameter("topics", value=["/tf_static", "/body_params", "/imu/head/data", "/not/published"])])
    sent = [0]

    def publish_and_check():
        if "/imu/head/data" in recorder.subs:
            stamp = time_from_ns(sent[0] * 10**7)
            imu_pub.publish(make_imu(stamp, "imu_head", [0, 0, 0, 1], [0, 0, 0], [0, 0, 9.8]))
            sent[0] += 1
        latched = recorder.counts.get("/tf_static") == 1 and recorder.counts.get("/body_params") == 1
        return sent[0] >= 30 and latched

    try:
        assert spin_until([recorder, ros_node], publish_and_check, 20), recorder.counts
        spin_until([recorder, ros_node], lambda: recorder.counts["/imu/head/data"] >= 25, 5)
        client = ros_node.create_client(Trigger, "/bag_recorder/stop")
        assert spin_until([recorder, ros_node], client.service_is_ready, 10)
        future = client.call_async(Trigger.Request())
        assert spin_until([recorder, ros_node], future.done, 10) and future.result().success
    finally:
        recorder.destroy_node()

    topics = bag_topics(out)
    assert set(topics) == {"/tf_static", "/body_params", "/imu/head/data"}
    assert topics["/tf_static"][2][0].durability == QosDurability.TRANSIENT_LOCAL
    assert topics["/imu/head/data"][2][0].reliability == QosReliability.BEST_EFFORT
    msgs = list(read_bag(out))
    assert sum(t == "/tf_static" for t, *_ in msgs) == 1
    assert topics["/tf_static"][0] == "tf2_msgs/msg/TFMessage"
    assert topics["/body_params"][0] == "fip_msgs/msg/BodyParams"
    assert topics["/imu/head/data"][1] >= 25
