"""``imu_udp``: x-io NGIMU devices over Wi-Fi (OSC 1.0 over UDP) -> six REP 145 IMU streams.

Devices map to body sites either by UDP port (``ports``: one per site, in ``sites`` order) or, when
``device_map`` is set, on one shared ``port`` by sender address (entries ``host=site`` or ``host:port=site``).
Every ``/sensors`` message publishes one ``sensor_msgs/Imu`` on ``imu/<site>/data`` with the device's latest
``/quaternion`` (orientation covariance[0] = -1 until one arrived), stamped per ``stamp_source`` (receipt
time, the bundle's OSC time tag, or the tag aligned to the receiver's clock: ``ngimu_osc.DeviceClock``), and
one ``sensor_msgs/MagneticField`` (tesla, sensor frame) on ``imu/<site>/mag`` (REP 145). Units
are converted to REP 145 (rad/s, m/s^2 specific force; orientation in ENU) and range-checked after the
conversion. Malformed or unmapped packets are counted, logged (throttled) and dropped; counters go to
``/diagnostics`` under the node's full name (one entry per person).

Who may send: the node listens on ``bind_address`` (default 127.0.0.1; devices on Wi-Fi need the address of
the interface they reach, or 0.0.0.0 for all, as config/drivers.yaml sets) and accepts packets only from
``allowed_senders`` (addresses or networks, e.g. 192.168.1.0/24; [''] = any) and, with ``device_map``, only
from the mapped devices.
"""

import ipaddress
import select
import socket
import threading

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from sensor_msgs.msg import Imu, MagneticField
from std_msgs.msg import Header

from fip_ros.core.smpl_tree import SENSOR_NAMES
from fip_ros.ros import qos
from fip_ros.ros.conversions import imu_frame, imu_topic, make_imu, namespace_prefix, time_from_ns
from fip_ros.ros.ngimu_osc import DeviceClock, NgimuState, OscError, parse_packet
from fip_ros.ros.nodes import run_node
from fip_ros.ros.params import declare_parameters, descriptor

MAX_DATAGRAM = 65535


def parse_allowed(entries: list[str]) -> list:
    """``["192.168.1.0/24", "10.0.0.7"]`` -> networks; ValueError naming the parameter for a bad entry."""
    try:
        return [ipaddress.ip_network(e, strict=False) for e in entries]
    except ValueError as exc:
        raise ValueError(f"parameter 'allowed_senders': {exc}") from None


def parse_device_map(entries: list[str], sites: list[str]) -> dict:
    """``["192.168.1.10=head", "10.0.0.2:8001=pelvis"]`` -> {("192.168.1.10", None): "head", ...}."""
    out = {}
    for entry in entries:
        addr, sep, site = entry.partition("=")
        if not sep or site not in sites:
            raise ValueError(f"device_map entry {entry!r} must be host[:port]=site with site one of {sites}")
        host, _, port = addr.partition(":")
        out[(host, int(port) if port else None)] = site
    return out


PARAMETERS = {
    "sites": (list(SENSOR_NAMES), descriptor("Body sites (topic imu/<site>/data, frame imu_<site>)")),
    "ports": (list(range(9000, 9006)), descriptor("One UDP port per site (unless device_map is set)")),
    "port": (9000, descriptor("Shared UDP port, used with device_map")),
    "device_map": ([""], descriptor("Shared-port mode: entries 'host=site' or 'host:port=site' (sender "
                                    "address); [''] = per-site ports")),
    "bind_address": ("127.0.0.1", descriptor("Local address to listen on: 127.0.0.1 = this machine only; "
                                             "the Wi-Fi interface's address or 0.0.0.0 for devices")),
    "allowed_senders": ([""], descriptor("Sender addresses or networks accepted (e.g. 192.168.1.0/24); "
                                         "[''] = any")),
    "earth_frame": ("nwu", descriptor("Device earth frame: 'nwu' (NGIMU default; rotated to ENU) or 'enu'")),
    "frame_prefix": ("", descriptor("Prefix of the sensor frame ids; empty = the namespace's "
                                    "(p1_ under /p1)")),
    "stamp_source": ("receipt", descriptor(
        "Message stamps: 'receipt' (time of receipt), 'device' (the bundle's OSC time tag, for device clocks "
        "set to the host's) or 'aligned' (the time tag on this clock, without Wi-Fi jitter)")),
    "diagnostics_period": (1.0, descriptor("Seconds between /diagnostics reports", lo=0.1, hi=60.0)),
    **{f"{name}_stddev": (0.0, descriptor(f"REP 145 {name} standard deviation; 0 = unknown", lo=0.0, hi=1e3))
       for name in ("orientation", "angular_velocity", "linear_acceleration")},
}


class ImuUdp(Node):
    """x-io NGIMU devices over Wi-Fi (OSC over UDP) as six REP 145 IMU streams, with /diagnostics."""

    def __init__(self, **kwargs):
        super().__init__("imu_udp", **kwargs)
        self.running, self.thread, self.sockets = True, None, {}

        declare_parameters(self, PARAMETERS)
        g = self.get_parameter
        self.sites = list(g("sites").value)
        self.earth_frame = g("earth_frame").value
        self.stddev = [g(f"{n}_stddev").value
                       for n in ("orientation", "angular_velocity", "linear_acceleration")]
        self.allowed = parse_allowed([e for e in g("allowed_senders").value if e])
        prefix = g("frame_prefix").value or namespace_prefix(self.get_namespace())
        self.frames = {s: imu_frame(s, prefix) for s in self.sites}
        self.pubs = {s: self.create_publisher(Imu, imu_topic(s), qos.RELIABLE) for s in self.sites}
        self.mag_pubs = {s: self.create_publisher(MagneticField, f"imu/{s}/mag", qos.RELIABLE)
                         for s in self.sites}
        self.states = {s: NgimuState() for s in self.sites}
        self.clocks = {s: DeviceClock(g("stamp_source").value) for s in self.sites}
        self.counts = dict(packets=0, messages=0, malformed=0, unmapped=0, refused_sender=0,
                           **{f"published_{s}": 0 for s in self.sites})
        self._open_sockets(g("bind_address").value, list(g("ports").value), g("port").value,
                                          [e for e in g("device_map").value if e])
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(g("diagnostics_period").value, self._report)
        self.thread = threading.Thread(target=self._receive_loop, daemon=True)
        self.thread.start()

    def _open_sockets(self, bind, ports, port, device_map) -> None:
        """Fill ``self.sockets``: socket -> site (port mode) or -> {(host, port|None): site} (shared port).

        No SO_REUSEADDR: a port already taken (e.g. by a second driver) must fail loudly."""
        if not device_map and len(ports) != len(self.sites):
            raise ValueError(f"ports has {len(ports)} entries for {len(self.sites)} sites")
        plan = [(port, parse_device_map(device_map, self.sites))] if device_map else \
            list(zip(ports, self.sites, strict=True))
        for pt, target in plan:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sockets[sock] = target  # registered first, so destroy_node closes it if bind fails
            sock.bind((bind, pt))
            sock.setblocking(False)
            self.get_logger().info(f"listening on udp {bind}:{pt} for {target}")

    def _receive_loop(self):
        while self.running:
            ready, _, _ = select.select(list(self.sockets), [], [], 0.2)
            for sock in ready:
                try:
                    data, sender = sock.recvfrom(MAX_DATAGRAM)
                except OSError:
                    continue
                self.handle_packet(data, sender, self.sockets[sock])

    def handle_packet(self, data: bytes, sender, target) -> None:
        self.counts["packets"] += 1
        if self.allowed and not any(ipaddress.ip_address(sender[0]) in net for net in self.allowed):
            self.counts["refused_sender"] += 1
            self.get_logger().warning(f"packet from {sender[0]}:{sender[1]} refused (not in allowed_senders)",
                                      throttle_duration_sec=5.0)
            return
        if isinstance(target, str):
            site = target
        else:
            site = target.get((sender[0], sender[1]), target.get((sender[0], None)))
        if site is None:
            self.counts["unmapped"] += 1
            self.get_logger().warning(f"packet from unmapped sender {sender[0]}:{sender[1]}",
                                      throttle_duration_sec=5.0)
            return
        try:
            messages = parse_packet(data)
            state = self.states[site]
            # A bundle may carry /quaternion after /sensors: apply all, then publish per /sensors sample.
            samples = sum(state.update(m, self.earth_frame) for m in messages)
        except OscError as exc:
            self.counts["malformed"] += 1
            self.get_logger().warning(f"malformed OSC packet from {sender[0]}:{sender[1]} ({site}): {exc}",
                                      throttle_duration_sec=5.0)
            return
        self.counts["messages"] += len(messages)
        if samples:
            now_ns = self.get_clock().now().nanoseconds
            stamp = time_from_ns(self.clocks[site].stamp_ns(state.timetag, now_ns))
            self.pubs[site].publish(make_imu(stamp, self.frames[site], state.quat_xyzw, state.gyro, state.acc,
                                             *self.stddev))
            mag = MagneticField(header=Header(stamp=stamp, frame_id=self.frames[site]))
            mag.magnetic_field.x, mag.magnetic_field.y, mag.magnetic_field.z = (float(v) for v in state.mag)
            self.mag_pubs[site].publish(mag)
            self.counts[f"published_{site}"] += 1

    def _report(self):
        bad = self.counts["malformed"] or self.counts["unmapped"] or self.counts["refused_sender"]
        level = DiagnosticStatus.WARN if bad else DiagnosticStatus.OK
        status = DiagnosticStatus(level=level, name=f"{self.get_fully_qualified_name()}: NGIMU UDP",
                                  hardware_id="ngimu",
                                  message="malformed, unmapped or refused packets seen" if level else "ok",
                                  values=[KeyValue(key=k, value=str(v)) for k, v in self.counts.items()])
        header = Header(stamp=self.get_clock().now().to_msg())
        self.diag_pub.publish(DiagnosticArray(header=header, status=[status]))

    def stop(self):
        """End the receive thread (it polls ``running`` every 0.2 s) before the context goes. Waits for it
        once: ``destroy_node`` calls this again after the cleanup's own call."""
        if not self.running:
            return
        self.running = False
        if self.thread is not None and self.thread.is_alive():
            self.thread.join(timeout=1.0)

    def destroy_node(self):
        self.stop()
        for sock in self.sockets:
            sock.close()
        return super().destroy_node()


def main(args=None):
    return run_node(ImuUdp, args)


if __name__ == "__main__":
    raise SystemExit(main())
