"""imu_udp over real loopback UDP sockets: six simulated NGIMUs plus garbage, received through DDS."""

import socket
import threading
import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from helpers import free_ports
from rclpy.parameter import Parameter
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import Imu, MagneticField

from fip_ros.core.smpl_tree import SENSOR_NAMES
from fip_ros.ros import qos
from fip_ros.ros.conversions import imu_topic
from fip_ros.ros.ngimu_osc import NWU_TO_ENU, encode_bundle, encode_message, timetag_from_unix
from fip_ros.ros.nodes.imu_udp import ImuUdp

GARBAGE = [
    b"\x00\x01\x02",  # not a multiple of 4
    b"hello world!",  # no leading '/'
    b"#bundle\0" + b"\0" * 8 + b"\x00\x00\x00\x40",  # element size past the end
    encode_message("/sensors", [1.0, 2.0]),  # too few arguments
    encode_message("/sensors", [float("nan")] * 10),  # non-finite
    encode_message("/quaternion", [0.1, 0.0, 0.0, 0.0]),  # far from unit
    encode_message("/sensors", ["x"] * 10),  # wrong types
]


def device_values(i):
    """Per-device /sensors (gyro deg/s, acc g, mag uT, baro hPa) and /quaternion (w, x, y, z, NWU)."""
    sensors = [10.0 * i, -5.0, 2.5, 0.1 * i, -0.2, 1.0, 20.0, -3.0, 40.0, 1013.25]
    q = Rotation.from_euler("zyx", [15.0 * i, 10.0, -5.0], degrees=True).as_quat()  # xyzw
    return sensors, [float(q[3]), float(q[0]), float(q[1]), float(q[2])]


def packet(i):
    sensors, quat = device_values(i)
    return encode_bundle(timetag_from_unix(time.time()),
                         [encode_message("/sensors", sensors), encode_message("/quaternion", quat),
                          encode_message("/earth", [0.0, 0.0, 0.0])])


class Sender(threading.Thread):
    """Sends one bundle per device every 10 ms; garbage goes out after 20 rounds, then valid data again."""

    def __init__(self, targets, sources=None, extra=None):
        super().__init__(daemon=True)
        self.targets, self.stop, self.rounds = targets, threading.Event(), 0
        self.socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in targets]
        for sock, src in zip(self.socks, sources or [0] * len(targets), strict=True):
            sock.bind(("127.0.0.1", src))
        self.extra = extra  # (socket, port): an unmapped sender

    def run(self):
        while not self.stop.is_set():
            for i, (sock, port) in enumerate(zip(self.socks, self.targets, strict=True)):
                sock.sendto(packet(i), ("127.0.0.1", port))
                if self.rounds == 20:
                    for junk in GARBAGE:
                        sock.sendto(junk, ("127.0.0.1", port))
            if self.extra and self.rounds == 5:
                self.extra[0].sendto(packet(0), ("127.0.0.1", self.extra[1]))
            self.rounds += 1
            time.sleep(0.01)


def collect(node):
    received = {s: [] for s in SENSOR_NAMES}
    received["mag"] = []
    node.create_subscription(MagneticField, "imu/head/mag", received["mag"].append, qos.SENSOR_DATA)
    for site in SENSOR_NAMES:
        node.create_subscription(Imu, imu_topic(site), lambda m, s=site: received[s].append(m),
                                 qos.SENSOR_DATA)
    return received


def check_values(received):
    for i, site in enumerate(SENSOR_NAMES):
        msgs = received[site]
        assert msgs, f"nothing received for {site}"
        m = msgs[-1]
        assert m.header.frame_id == f"imu_{site}"
        sensors, quat = device_values(i)
        gyro = [m.angular_velocity.x, m.angular_velocity.y, m.angular_velocity.z]
        acc = [m.linear_acceleration.x, m.linear_acceleration.y, m.linear_acceleration.z]
        assert np.allclose(gyro, np.radians(sensors[0:3]), atol=1e-5)
        assert np.allclose(acc, np.array(sensors[3:6]) * 9.80665, atol=1e-4)
        expected = NWU_TO_ENU @ Rotation.from_quat([*quat[1:], quat[0]]).as_matrix()
        got = Rotation.from_quat([m.orientation.x, m.orientation.y, m.orientation.z, m.orientation.w])
        assert np.allclose(got.as_matrix(), expected, atol=1e-5)
        assert m.orientation_covariance[0] == 0.0 and m.linear_acceleration_covariance[0] == 0.0
    mag = received["mag"][-1]
    assert mag.header.frame_id == "imu_head"
    assert np.allclose([mag.magnetic_field.x, mag.magnetic_field.y, mag.magnetic_field.z],
                       np.array(device_values(4)[0][6:9]) * 1e-6)


def diag_values(array):
    return {kv.key: kv.value for kv in array.status[0].values}


def run(ros_context, ros_node, spin_until, params, sender):
    node = ImuUdp(context=ros_context, parameter_overrides=params)
    received = collect(ros_node)
    diags = []
    ros_node.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 10)
    sender.start()
    try:
        # Wait until garbage went out and valid data kept flowing for a while after it.
        def done():
            return (sender.rounds > 60 and all(len(v) > 30 for v in received.values())
                    and diags and int(diag_values(diags[-1])["malformed"]) > 0)
        assert spin_until([node, ros_node], done, 20)
    finally:
        sender.stop.set()
        sender.join()
        node.destroy_node()
    return node, received, diags


def test_per_port_devices_values_units_frames_and_garbage(ros_context, ros_node, spin_until):
    ports = free_ports(6)
    params = [Parameter("ports", value=ports), Parameter("bind_address", value="127.0.0.1"),
              Parameter("diagnostics_period", value=0.2)]
    node, received, diags = run(ros_context, ros_node, spin_until, params, Sender(ports))
    check_values(received)
    assert node.counts["malformed"] == 6 * len(GARBAGE)
    # The stream survived the garbage: samples arrived after round 20 on every site.
    assert all(node.counts[f"published_{s}"] > 40 for s in SENSOR_NAMES)
    assert diags[-1].status[0].level == DiagnosticStatus.WARN  # once packets were dropped


def test_shared_port_device_map(ros_context, ros_node, spin_until):
    port, *sources = free_ports(7)
    unmapped = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    unmapped.bind(("127.0.0.1", 0))
    device_map = [f"127.0.0.1:{src}={site}" for src, site in zip(sources, SENSOR_NAMES, strict=True)]
    node, received, _ = run(ros_context, ros_node, spin_until,
                            [Parameter("port", value=port), Parameter("device_map", value=device_map),
                             Parameter("bind_address", value="127.0.0.1"),
                             Parameter("diagnostics_period", value=0.2)],
                            Sender([port] * 6, sources, extra=(unmapped, port)))
    unmapped.close()
    check_values(received)
    assert node.counts["unmapped"] == 1
    assert node.counts["malformed"] == 6 * len(GARBAGE)


def test_stamps_from_the_device_time_tag(ros_context, ros_node, spin_until):
    """stamp_source 'device': each Imu carries its bundle's OSC time tag (a device clock 1000 s behind)."""
    (port,) = free_ports(1)
    node = ImuUdp(context=ros_context, parameter_overrides=[
        Parameter("sites", value=["head"]), Parameter("ports", value=[port]),
        Parameter("bind_address", value="127.0.0.1"), Parameter("stamp_source", value="device")])
    received = []
    ros_node.create_subscription(Imu, imu_topic("head"), received.append, qos.SENSOR_DATA)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sensors, quat = device_values(4)
    tags = [time.time() - 1000.0 + 0.01 * k for k in range(200)]
    pending = list(tags)
    try:
        def send_and_check():
            if pending:
                sock.sendto(encode_bundle(timetag_from_unix(pending.pop(0)), [
                    encode_message("/quaternion", quat), encode_message("/sensors", sensors)]),
                    ("127.0.0.1", port))
            return len(received) >= 20
        assert spin_until([node, ros_node], send_and_check, 10)
        for m in received:  # the tags (1000 s behind this clock), not the receipt times
            stamp = m.header.stamp.sec + m.header.stamp.nanosec * 1e-9
            assert np.abs(np.array(tags) - stamp).min() < 1e-6
    finally:
        sock.close()
        node.destroy_node()
