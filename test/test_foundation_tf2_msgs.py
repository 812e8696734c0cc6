"""The tf2_msgs stand-in (interfaces/tf2_msgs_fallback) has every interface of tf2_msgs, so the real tf2_ros,
which imports the FrameGraph service and the LookupTransform action, runs beside it: both work over DDS
through rclpy, with the upstream field layout."""

from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import TransformStamped
from rclpy.action import ActionClient, ActionServer
from tf2_msgs.action import LookupTransform
from tf2_msgs.msg import TF2Error, TFMessage
from tf2_msgs.srv import FrameGraph


def test_interfaces_have_the_upstream_fields():
    assert list(TFMessage.get_fields_and_field_types()) == ["transforms"]
    assert list(TF2Error.get_fields_and_field_types()) == ["error", "error_string"]
    assert TF2Error.TIMEOUT_ERROR == 5 and TF2Error.TRANSFORM_ERROR == 6
    assert FrameGraph.Request.get_fields_and_field_types() == {}
    assert FrameGraph.Response.get_fields_and_field_types() == {"frame_yaml": "string"}
    assert LookupTransform.Goal.get_fields_and_field_types() == {
        "target_frame": "string", "source_frame": "string", "source_time": "builtin_interfaces/Time",
        "timeout": "builtin_interfaces/Duration", "target_time": "builtin_interfaces/Time",
        "fixed_frame": "string", "advanced": "boolean"}
    assert LookupTransform.Result.get_fields_and_field_types() == {
        "transform": "geometry_msgs/TransformStamped", "error": "tf2_msgs/TF2Error"}
    assert LookupTransform.Feedback.get_fields_and_field_types() == {}


def test_service_and_action_over_dds(ros_context, ros_node, spin_until):
    from rclpy.node import Node

    server = Node("tf2_server", context=ros_context)
    server.create_service(FrameGraph, "tf2_frames",
                          lambda req, res: setattr(res, "frame_yaml", "body_0: {parent: origin_0}") or res)

    def execute(goal_handle):
        goal_handle.succeed()
        g = goal_handle.request
        return LookupTransform.Result(transform=TransformStamped(child_frame_id=g.source_frame),
                                      error=TF2Error(error=TF2Error.NO_ERROR, error_string=g.target_frame))

    ActionServer(server, LookupTransform, "lookup_transform", execute)
    try:
        client = ros_node.create_client(FrameGraph, "tf2_frames")
        assert spin_until([server, ros_node], client.service_is_ready, 10)
        future = client.call_async(FrameGraph.Request())
        assert spin_until([server, ros_node], future.done, 10)
        assert future.result().frame_yaml == "body_0: {parent: origin_0}"

        action = ActionClient(ros_node, LookupTransform, "lookup_transform")
        assert spin_until([server, ros_node], action.server_is_ready, 10)
        sent = action.send_goal_async(LookupTransform.Goal(
            target_frame="world", source_frame="body_0", source_time=Time(sec=1), timeout=Duration(sec=2)))
        assert spin_until([server, ros_node], sent.done, 10) and sent.result().accepted
        result = sent.result().get_result_async()
        assert spin_until([server, ros_node], result.done, 10)
        r = result.result().result
        assert r.transform.child_frame_id == "body_0" and r.error.error_string == "world"
    finally:
        server.destroy_node()
