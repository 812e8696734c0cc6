"""OSC 1.0 codec and the x-io NGIMU messages the UDP driver understands (ROS-free).

OSC packet = a message (address, ``,``-prefixed type tags, big-endian arguments, every part padded to
4 bytes) or a bundle (``#bundle\\0``, 64-bit NTP timetag, then size-prefixed elements, which may nest).

NGIMU messages used (units as the device sends them):
  ``/sensors``    gyro x,y,z (deg/s), accel x,y,z (g), mag x,y,z (uT), barometer (hPa); sensor frame,
                  the accelerometer reads +1 g upwards at rest (specific force, as REP 145 wants).
  ``/quaternion`` w,x,y,z: sensor orientation in the NGIMU earth frame (North-West-Up).
``/earth`` and ``/linear`` (gravity-free acceleration) and everything else are recognised but ignored:
REP 145 wants specific force, which ``/sensors`` gives.
"""

import math
import struct
from dataclasses import dataclass, field

import numpy as np

from fip_ros.core.gravity import G_UNIT

NTP_UNIX_OFFSET = 2208988800  # seconds from 1900-01-01 (NTP epoch) to 1970-01-01
TIMETAG_IMMEDIATE = 1
# Plausibility limits in SI units, checked after unit conversion: the NGIMU's full scales (+-2000 deg/s,
# +-16 g, +-1300 uT) with 50 % headroom. A reading beyond them is a corrupt or forged packet.
GYRO_LIMIT = math.radians(2000.0) * 1.5
ACC_LIMIT = 16.0 * G_UNIT * 1.5
MAG_LIMIT = 1300e-6 * 1.5
# Yaw of +90 deg about z: NGIMU earth frame North-West-Up -> East-North-Up (north = ENU +y).
NWU_TO_ENU = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


class OscError(ValueError):
    """A packet that is not valid OSC 1.0."""


@dataclass
class OscMessage:
    address: str
    args: list
    timetag: int | None = None  # NTP timetag of the enclosing bundle, None outside bundles


def _read_string(data: bytes, pos: int) -> tuple[str, int]:
    end = data.find(b"\0", pos)
    if end < 0:
        raise OscError("unterminated OSC string")
    try:
        text = data[pos:end].decode("ascii")
    except UnicodeDecodeError as exc:
        raise OscError("non-ASCII OSC string") from exc
    return text, (end + 4) & ~3


def _unpack(fmt: str, data: bytes, pos: int):
    size = struct.calcsize(fmt)
    if pos + size > len(data):
        raise OscError("truncated OSC argument")
    return struct.unpack_from(fmt, data, pos), pos + size


def parse_message(data: bytes, timetag: int | None = None) -> OscMessage:
    if not data.startswith(b"/"):
        raise OscError("OSC address must start with '/'")
    address, pos = _read_string(data, 0)
    if pos >= len(data):
        return OscMessage(address, [], timetag)  # OSC 1.0 allows a missing type tag string
    tags, pos = _read_string(data, pos)
    if not tags.startswith(","):
        raise OscError("OSC type tags must start with ','")
    args = []
    for tag in tags[1:]:
        if tag in "ifhdtcr":
            fmt = {"i": ">i", "f": ">f", "h": ">q", "d": ">d", "t": ">Q", "c": ">i", "r": ">I"}[tag]
            (value,), pos = _unpack(fmt, data, pos)
        elif tag in "sS":
            value, pos = _read_string(data, pos)
        elif tag == "b":
            (size,), pos = _unpack(">i", data, pos)
            if size < 0 or pos + size > len(data):
                raise OscError("bad OSC blob size")
            value, pos = data[pos:pos + size], (pos + size + 3) & ~3
        elif tag in "TFNI":
            value = {"T": True, "F": False, "N": None, "I": math.inf}[tag]
        elif tag == "m":
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise OscError(f"unsupported OSC type tag {tag!r}")
        args.append(value)
    if pos > len(data):
        raise OscError("truncated OSC message")
    return OscMessage(address, args, timetag)


def parse_packet(data: bytes, _depth: int = 0) -> list[OscMessage]:
    """All messages of a packet (bundles flattened, each message tagged with its bundle's timetag)."""
    if len(data) == 0 or len(data) % 4:
        raise OscError("OSC packet size must be a positive multiple of 4")
    if not data.startswith(b"#bundle\0"):
        return [parse_message(data)]
    if _depth > 8:
        raise OscError("OSC bundles nested too deep")
    (timetag,), pos = _unpack(">Q", data, 8)
    out = []
    while pos < len(data):
        (size,), pos = _unpack(">i", data, pos)
        if size <= 0 or size % 4 or pos + size > len(data):
            raise OscError("bad OSC bundle element size")
        element = data[pos:pos + size]
        pos += size
        if element.startswith(b"#bundle\0"):
            out.extend(parse_packet(element, _depth + 1))
        else:
            out.append(parse_message(element, timetag))
    return out


def _pad(b: bytes) -> bytes:
    return b + b"\0" * (4 - len(b) % 4)


def encode_message(address: str, args=()) -> bytes:
    """Encode floats as ``f``, ints as ``i``, str as ``s``, bytes as ``b`` (enough for devices and tests)."""
    tags, payload = ",", b""
    for a in args:
        if isinstance(a, bool) or a is None:
            tags += {True: "T", False: "F", None: "N"}[a]
        elif isinstance(a, int):
            tags, payload = tags + "i", payload + struct.pack(">i", a)
        elif isinstance(a, float):
            tags, payload = tags + "f", payload + struct.pack(">f", a)
        elif isinstance(a, str):
            tags, payload = tags + "s", payload + _pad(a.encode("ascii"))
        elif isinstance(a, bytes):
            blob = struct.pack(">i", len(a)) + a
            tags, payload = tags + "b", payload + blob + b"\0" * (-len(blob) % 4)
        else:
            raise TypeError(f"cannot encode {type(a).__name__} as OSC")
    return _pad(address.encode("ascii")) + _pad(tags.encode("ascii")) + payload


def encode_bundle(timetag: int, elements: list[bytes]) -> bytes:
    body = b"".join(struct.pack(">i", len(e)) + e for e in elements)
    return b"#bundle\0" + struct.pack(">Q", timetag) + body


def timetag_from_unix(t: float) -> int:
    sec = math.floor(t)
    return ((sec + NTP_UNIX_OFFSET) << 32) | int((t - sec) * 2**32)


def timetag_to_unix(timetag: int) -> float:
    return (timetag >> 32) - NTP_UNIX_OFFSET + (timetag & 0xFFFFFFFF) / 2**32


@dataclass
class NgimuState:
    """Latest readings of one NGIMU in SI units; ``update`` is True when a /sensors sample arrived."""

    quat_xyzw: np.ndarray | None = None  # orientation in ENU
    gyro: np.ndarray | None = None  # rad/s, sensor frame
    acc: np.ndarray | None = None  # m/s^2 specific force, sensor frame
    mag: np.ndarray | None = None  # tesla
    timetag: int | None = None
    ignored: dict = field(default_factory=dict)

    def update(self, msg: OscMessage, earth_frame: str = "nwu") -> bool:
        if msg.address == "/sensors":
            vals = _floats(msg.args, 9, "/sensors")
            with np.errstate(over="ignore"):  # an overflow becomes inf, which the range check rejects
                gyro, acc, mag = np.radians(vals[0:3]), vals[3:6] * G_UNIT, vals[6:9] * 1e-6
            for name, v, limit in (("gyroscope", gyro, GYRO_LIMIT), ("accelerometer", acc, ACC_LIMIT),
                                   ("magnetometer", mag, MAG_LIMIT)):
                if not np.all(np.abs(v) <= limit):  # also catches inf from an overflowing unit conversion
                    raise OscError(f"/sensors {name} reading {v.tolist()} exceeds the device range {limit:g}")
            self.gyro, self.acc, self.mag = gyro, acc, mag
            self.timetag = msg.timetag
            return True
        if msg.address == "/quaternion":
            w, x, y, z = _floats(msg.args, 4, "/quaternion")
            norm = math.sqrt(w * w + x * x + y * y + z * z)
            if not 0.5 < norm < 1.5:
                raise OscError(f"/quaternion norm {norm:.3f} is not close to 1")
            q = np.array([x, y, z, w]) / norm
            self.quat_xyzw = _nwu_to_enu(q) if earth_frame == "nwu" else q
            return False
        self.ignored[msg.address] = self.ignored.get(msg.address, 0) + 1
        return False


def _floats(args: list, n: int, address: str) -> np.ndarray:
    if len(args) < n or not all(isinstance(a, int | float) and not isinstance(a, bool) for a in args[:n]):
        raise OscError(f"{address} needs {n} numeric arguments, got {args!r}")
    vals = np.asarray(args[:n], dtype=float)
    if not np.all(np.isfinite(vals)):
        raise OscError(f"{address} carries non-finite values")
    return vals


def _nwu_to_enu(q_xyzw: np.ndarray) -> np.ndarray:
    # R_enu_sensor = NWU_TO_ENU @ R_nwu_sensor; the fixed rotation is +90 deg about z: (0, 0, s, s).
    s = math.sqrt(0.5)
    x, y, z, w = q_xyzw
    q = np.array([s * x - s * y, s * y + s * x, s * z + s * w, s * w - s * z])
    return q if q[3] >= 0 else -q


class DeviceClock:
    """Stamps from a device's OSC time tags (ROS-free).

    mode 'receipt': the receiver's clock at receipt (Wi-Fi jitter and queueing included);
    'device': the time tag itself (devices whose clocks are set to the host's, e.g. by NTP or the NGIMU's
    time synchronisation); 'aligned': the time tag mapped onto the receiver's clock by the smallest
    receipt - tag offset seen (the least-delayed packet), allowed to creep up by ``drift`` (s/s) so that
    clock drift is followed. 'aligned' keeps the device's own sample timing, free of network jitter, on the
    receiver's clock, also for devices whose clocks were never set. Packets without a time tag (outside
    bundles, or OSC's 'immediately') get the receipt time.
    """

    MODES = ("receipt", "device", "aligned")

    def __init__(self, mode: str = "receipt", drift: float = 1e-4):
        if mode not in self.MODES:
            raise ValueError(f"stamp_source must be one of {self.MODES}, got {mode!r}")
        self.mode, self.drift = mode, drift
        self.offset_ns = None  # aligned: receipt - device time of the least-delayed packet, crept
        self.last_receipt_ns = None

    def stamp_ns(self, timetag: int | None, receipt_ns: int) -> int:
        if self.mode == "receipt" or timetag is None or timetag <= 1:
            return receipt_ns
        device_ns = round(timetag_to_unix(timetag) * 1e9)
        if self.mode == "device":
            return device_ns
        offset = receipt_ns - device_ns
        if self.offset_ns is None:
            self.offset_ns = offset
        else:
            creep = int((receipt_ns - self.last_receipt_ns) * self.drift)
            self.offset_ns = min(offset, self.offset_ns + max(creep, 0))
        self.last_receipt_ns = receipt_ns
        return device_ns + self.offset_ns
