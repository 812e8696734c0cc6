"""Every fip_msgs service answers across processes (a tiny server runs in a subprocess).

Run as a script (`python test_foundation_srv.py <namespace>`), this file is the server.
"""

import sys
import uuid

import pytest


def serve_forever(ns: str) -> None:
    import rclpy

    from fip_msgs.msg import BodyParams
    from fip_msgs.srv import Calibrate, GetBodyParams, SetBodyParams

    rclpy.init()
    node = rclpy.create_node("fip_srv_test_server")
    stored = {"": BodyParams(subject_id="default", sex=BodyParams.SEX_FEMALE, height=1.625, arm_length=0.5,
                             leg_length=0.75, mass=60.0)}

    def set_params(req, res):
        p = req.params
        res.success = p.height > 0 and p.arm_length > 0 and p.leg_length > 0 and p.mass > 0
        if res.success:
            stored[p.subject_id] = p
        res.message = "stored" if res.success else "lengths and mass must be positive"
        return res

    def get_params(req, res):
        res.success = req.subject_id in stored
        if res.success:
            res.params = stored[req.subject_id]
        res.message = "" if res.success else f"unknown subject {req.subject_id!r}"
        return res

    def calibrate(req, res):
        names = {Calibrate.Request.T_POSE: "T_POSE", Calibrate.Request.N_POSE: "N_POSE"}
        res.success = req.pose in names
        res.message = f"{names[req.pose]} {req.duration:.2f} s" if res.success else f"bad pose {req.pose}"
        return res

    node.create_service(SetBodyParams, f"{ns}/set_body_params", set_params)
    node.create_service(GetBodyParams, f"{ns}/get_body_params", get_params)
    node.create_service(Calibrate, f"{ns}/calibrate", calibrate)
    print("ready", flush=True)
    rclpy.spin(node)


@pytest.fixture
def call(ros_node, spawn_python, spin_until, call_service):
    ns = f"/fip_test_{uuid.uuid4().hex[:12]}"
    spawn_python(__file__, ns, ready="ready")
    clients = {}

    def call(srv_type, name, request):
        if name not in clients:
            clients[name] = ros_node.create_client(srv_type, f"{ns}/{name}")
        client = clients[name]
        assert spin_until(ros_node, client.service_is_ready, timeout=20.0), f"service {name} not found"
        response = call_service(ros_node, client, request)
        assert response is not None, f"service {name} did not answer"
        return response

    return call


def test_set_then_get_body_params(call):
    from fip_msgs.msg import BodyParams
    from fip_msgs.srv import GetBodyParams, SetBodyParams

    params = BodyParams(subject_id="s07", sex=BodyParams.SEX_MALE, height=1.75, arm_length=0.625,
                        leg_length=0.875, mass=79.5)
    res = call(SetBodyParams, "set_body_params", SetBodyParams.Request(params=params))
    assert res.success and res.message == "stored"
    res = call(GetBodyParams, "get_body_params", GetBodyParams.Request(subject_id="s07"))
    assert res.success and res.params == params
    res = call(GetBodyParams, "get_body_params", GetBodyParams.Request(subject_id=""))
    assert res.params.subject_id == "default" and res.params.height == 1.625

    bad = BodyParams(subject_id="s08", height=-1.0, arm_length=0.5, leg_length=0.75, mass=60.0)
    res = call(SetBodyParams, "set_body_params", SetBodyParams.Request(params=bad))
    assert not res.success and "positive" in res.message
    res = call(GetBodyParams, "get_body_params", GetBodyParams.Request(subject_id="s08"))
    assert not res.success


def test_calibrate(call):
    from fip_msgs.srv import Calibrate

    res = call(Calibrate, "calibrate", Calibrate.Request(pose=Calibrate.Request.N_POSE, duration=2.5))
    assert res.success and res.message == "N_POSE 2.50 s"
    res = call(Calibrate, "calibrate", Calibrate.Request(pose=7, duration=1.0))
    assert not res.success and res.message == "bad pose 7"


if __name__ == "__main__":
    serve_forever(sys.argv[1])
