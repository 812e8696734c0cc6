"""body_params: get/set through DDS, validation, latched topic, persistence across a killed process."""

import os
import signal

import pytest
import yaml
from rclpy.parameter import Parameter

from fip_msgs.msg import BodyParams
from fip_msgs.srv import GetBodyParams, SetBodyParams
from fip_ros.ros import qos
from fip_ros.ros.nodes.body_params import BodyParamsNode

CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "config",
                      "body_params.yaml")
NEW = dict(subject_id="0", sex=BodyParams.SEX_FEMALE, height=1.62, arm_length=0.47, leg_length=0.78,
           mass=55.0)
GET, SET = (GetBodyParams, "get_body_params"), (SetBodyParams, "set_body_params")


@pytest.fixture
def call(spin_until, call_service):
    def call(nodes, srv_type, name, request):
        """Call a service from nodes[0], spinning all ``nodes`` (the server may be one of them)."""
        nodes = nodes if isinstance(nodes, list) else [nodes]
        client = nodes[0].create_client(srv_type, name)
        assert spin_until(nodes, client.service_is_ready, 30), f"{name} not available"
        reply = call_service(nodes, client, request)
        assert reply is not None, f"{name} did not answer"
        nodes[0].destroy_client(client)
        return reply

    return call


def as_tuple(msg):
    return (msg.subject_id, msg.sex, round(msg.height, 4), round(msg.arm_length, 4), round(msg.leg_length, 4),
            round(msg.mass, 3))


def latched(node, spin_until):
    got = []
    sub = node.create_subscription(BodyParams, "body_params", got.append, qos.LATCHED)
    assert spin_until(node, lambda: got, 10), "no latched body_params"
    node.destroy_subscription(sub)
    return got[-1]


def test_set_get_validate_persist_and_restart(tmp_path, ros_context, ros_node, spin_until, spawn_python,
                                              call):
    store = tmp_path / "state" / "body.yaml"
    first = spawn_python("-m", "fip_ros.ros.nodes.body_params", "--ros-args", "--params-file", CONFIG,
                         "-p", f"storage_path:={store}")

    # Start-up values come from config/body_params.yaml; the latched topic reaches a late subscriber.
    reply = call(ros_node, *GET, GetBodyParams.Request())
    assert reply.success
    assert as_tuple(reply.params) == ("0", BodyParams.SEX_MALE, 1.75, 0.51, 0.84, 70.0)
    assert as_tuple(latched(ros_node, spin_until)) == as_tuple(reply.params)
    assert not store.exists()

    # Rejections say why and leave the state (and the file) untouched.
    for field, value, reason in (("height", 175.0, "centimetres"), ("sex", 7, "sex"),
                                 ("mass", 1000.0, "mass"), ("arm_length", 0.9, "of the height")):
        bad = BodyParams(**dict(NEW, **{field: value}))
        reply = call(ros_node, *SET, SetBodyParams.Request(params=bad))
        assert not reply.success and reason in reply.message, reply.message
    reply = call(ros_node, *GET, GetBodyParams.Request())
    assert as_tuple(reply.params)[2] == 1.75 and not store.exists()

    reply = call(ros_node, *SET, SetBodyParams.Request(params=BodyParams(**NEW)))
    assert reply.success, reply.message
    expected = as_tuple(BodyParams(**NEW))
    assert as_tuple(latched(ros_node, spin_until)) == expected
    assert yaml.safe_load(store.read_text())["height"] == 1.62

    # Kill the process (no clean shutdown); a new node with the same config starts from the persisted file.
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    second = BodyParamsNode(context=ros_context, parameter_overrides=[
        Parameter("storage_path", value=str(store)), Parameter("height", value=1.90)])
    try:
        both = [ros_node, second]
        reply = call(both, *GET, GetBodyParams.Request())
        assert reply.success and as_tuple(reply.params) == expected
        assert not call(both, *GET, GetBodyParams.Request(subject_id="nobody")).success
    finally:
        second.destroy_node()
