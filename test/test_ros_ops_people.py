"""Several people in one ROS domain: two namespaced replay graphs keep their own bodies (each replays its
clip's measured body, persists it per namespace and subject, gets it back after a restart), ids are checked
wherever they become frame or file names, and the drivers give each person their own frame ids and
diagnostics names."""

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from helpers import free_ports, synthetic_clip
from rclpy.parameter import Parameter
from sensor_msgs.msg import Imu
from tf2_msgs.msg import TFMessage

from fip_msgs.msg import BodyParams, SmplPose
from fip_msgs.srv import SetBodyParams
from fip_ros.ros import qos
from fip_ros.ros.bringup import ArgumentError, validate_args
from fip_ros.ros.ngimu_osc import encode_message
from fip_ros.ros.nodes.body_params import BodyParamsNode
from fip_ros.ros.nodes.imu_udp import ImuUdp

REPO = Path(__file__).resolve().parents[1]
EXE = REPO / "install" / "fip_ros" / "lib" / "fip_ros"
PEOPLE = {"1": dict(sex="male", height=1.86, arm_length=0.56, leg_length=0.90),
          "2": dict(sex="female", height=1.58, arm_length=0.46, leg_length=0.75)}


def _latest(node, msg_type, topic, profile, spin_until, check, timeout=60.0):
    got = []
    sub = node.create_subscription(msg_type, topic, got.append, profile)
    try:
        assert spin_until(node, lambda: any(check(m) for m in got), timeout), (topic, got[-1:] or "nothing")
    finally:
        node.destroy_subscription(sub)


def _body_of(msg):
    return (msg.subject_id, round(msg.height, 3), round(msg.arm_length, 3), round(msg.leg_length, 3))


def _expected(subject):
    b = PEOPLE[subject]
    return (subject, b["height"], b["arm_length"], b["leg_length"])


def test_two_people_in_one_domain_keep_their_own_bodies(tmp_path, ros_node, spin_until, monkeypatch):
    env = dict(os.environ, PYTHONUNBUFFERED="1", ROS_HOME=str(tmp_path / "ros_home"))  # one home for both
    graphs = [subprocess.Popen([str(EXE / "fip-bringup"), "--graph", "replay", "--namespace", f"p{s}",
                                "--body-id", s, "--clip",
                                synthetic_clip(tmp_path / f"clip{s}.npz", 2.0, body=body),
                                "--backend", "onnx"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
              for s, body in PEOPLE.items()]
    try:
        for s in PEOPLE:  # each graph replays its clip's body, under its own subject id
            _latest(ros_node, BodyParams, f"/p{s}/body_params", qos.LATCHED, spin_until,
                    lambda m, s=s: _body_of(m) == _expected(s))
            _latest(ros_node, SmplPose, f"/p{s}/pose", qos.RELIABLE, spin_until,
                    lambda m, s=s: m.subject_id == s)
        frames = set()
        _latest(ros_node, TFMessage, "/tf", qos.TF, spin_until, lambda m: frames.update(
            t.child_frame_id for t in m.transforms) or {"body_1", "body_2"} <= frames)
    finally:
        for proc in graphs:
            os.killpg(proc.pid, signal.SIGINT)
        outputs = [proc.communicate(timeout=10)[0].decode() for proc in graphs]
    assert [p.returncode for p in graphs] == [0, 0], outputs
    stored = sorted(p.relative_to(tmp_path / "ros_home").as_posix()
                    for p in (tmp_path / "ros_home").rglob("*.yaml"))
    assert stored == ["fip_ros/p1/body_params_1.yaml", "fip_ros/p2/body_params_2.yaml"]

    # Restarted without their clips, each person's body_params serves that person's persisted body.
    monkeypatch.setenv("ROS_HOME", str(tmp_path / "ros_home"))
    nodes = [BodyParamsNode(context=ros_node.context, namespace=f"p{s}",
                            parameter_overrides=[Parameter("subject_id", value=s)]) for s in PEOPLE]
    try:
        for node, s in zip(nodes, PEOPLE, strict=True):
            v = node.values
            assert (v["subject_id"], v["height"], v["arm_length"], v["leg_length"]) == _expected(s)
    finally:
        for node in nodes:
            node.destroy_node()


def _one_line_failure(cmd, code):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert out.returncode == code and "Traceback" not in out.stdout + out.stderr, out
    return lines


def test_ids_that_would_become_frame_names_are_checked(tmp_path, ros_context, ros_node, spin_until):
    # Launch/bringup arguments, before any node starts.
    with pytest.raises(ArgumentError, match="body_id"):
        validate_args({"body_id": "bad/id"})
    lines = _one_line_failure([str(EXE / "fip-bringup"), "--graph", "live", "--body-id", "bad/id"], 2)
    assert "--body-id" in lines[-1] and "started" not in "".join(lines)
    # A node given one directly: one line naming the parameter, exit status 1.
    lines = _one_line_failure([str(EXE / "smpl_tf_broadcaster"), "--ros-args", "-p", "body_id:=bad/id"], 1)
    assert len(lines) == 1 and "body_id 'bad/id'" in lines[0], lines
    # body_params: a 10,000-character subject id is refused; the state and the file stay as they were.
    store = tmp_path / "body.yaml"
    stale = tmp_path / "body.yaml1234.tmp"  # what a write killed between create and rename leaves
    stale.write_text("half")
    node = BodyParamsNode(context=ros_context,
                          parameter_overrides=[Parameter("storage_path", value=str(store))])
    try:
        assert not stale.exists()
        client = ros_node.create_client(SetBodyParams, "set_body_params")
        assert spin_until([node, ros_node], client.service_is_ready, 10)
        future = client.call_async(SetBodyParams.Request(params=BodyParams(
            subject_id="x" * 10000, sex=BodyParams.SEX_MALE, height=1.8, arm_length=0.52, leg_length=0.86,
            mass=80.0)))
        assert spin_until([node, ros_node], future.done, 10)
        reply = future.result()
        assert not reply.success and "10000 characters" in reply.message and len(reply.message) < 300
        assert node.values["subject_id"] == "0" and not store.exists()
    finally:
        node.destroy_node()


def test_imu_udp_per_person_frames_diagnostics_and_allowed_senders(ros_context, ros_node, spin_until):
    port = free_ports(1)[0]
    node = ImuUdp(context=ros_context, namespace="p7", parameter_overrides=[
        Parameter("port", value=port), Parameter("device_map", value=["127.0.0.1=head"]),
        Parameter("allowed_senders", value=["10.0.0.0/8"]), Parameter("diagnostics_period", value=0.1)])
    diags = []
    ros_node.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 10)
    got = []
    ros_node.create_subscription(Imu, "/p7/imu/head/data", got.append, qos.SENSOR_DATA)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert node.frames["head"] == "p7_imu_head"
        sock.sendto(encode_message("/sensors", [0.0] * 9), ("127.0.0.1", port))  # 127.0.0.1: not allowed
        assert spin_until([node, ros_node], lambda: node.counts["refused_sender"] == 1 and diags, 10)
        spin_until([node, ros_node], lambda: False, 0.3)
        assert not got and node.counts["published_head"] == 0
        status = diags[-1].status[0]
        assert status.name == "/p7/imu_udp: NGIMU UDP" and status.level == DiagnosticStatus.WARN
    finally:
        sock.close()
        node.destroy_node()
