"""OSC 1.0 codec and NGIMU message handling (ROS-free part of imu_udp)."""

import random

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from fip_ros.ros.ngimu_osc import (
    NWU_TO_ENU,
    NgimuState,
    OscError,
    encode_bundle,
    encode_message,
    parse_packet,
    timetag_from_unix,
    timetag_to_unix,
)


def test_message_roundtrip_all_encodable_types():
    data = encode_message("/x/y", [1, 2.5, "abc", b"\x01\x02\x03\x04\x05", True, False, None])
    assert len(data) % 4 == 0
    (msg,) = parse_packet(data)
    assert msg.address == "/x/y" and msg.timetag is None
    assert msg.args == [1, 2.5, "abc", b"\x01\x02\x03\x04\x05", True, False, None]


def test_nested_bundle_and_timetag():
    t = 1_700_000_000.25
    inner = encode_bundle(timetag_from_unix(t + 1), [encode_message("/b", [2])])
    msgs = parse_packet(encode_bundle(timetag_from_unix(t), [encode_message("/a", [1]), inner]))
    assert [m.address for m in msgs] == ["/a", "/b"]
    assert timetag_to_unix(msgs[0].timetag) == pytest.approx(t, abs=1e-6)
    assert timetag_to_unix(msgs[1].timetag) == pytest.approx(t + 1, abs=1e-6)


def test_ngimu_units_and_frames():
    state = NgimuState()
    assert state.update(parse_packet(encode_message("/sensors", [90.0, 0.0, -180.0, 0.0, 0.0, 1.0,
                                                                 30.0, 0.0, -20.0, 1000.0]))[0])
    assert np.allclose(state.gyro, [np.pi / 2, 0.0, -np.pi])
    assert np.allclose(state.acc, [0.0, 0.0, 9.80665])  # +1 g up at rest -> REP 145 specific force
    assert np.allclose(state.mag, [30e-6, 0.0, -20e-6])
    rot = Rotation.from_euler("xyz", [10, 20, 30], degrees=True)
    x, y, z, w = rot.as_quat()
    assert not state.update(parse_packet(encode_message("/quaternion", [w, x, y, z]))[0])
    got = Rotation.from_quat(state.quat_xyzw).as_matrix()
    assert np.allclose(got, NWU_TO_ENU @ rot.as_matrix(), atol=1e-6)
    # A sensor facing north (identity in NWU) has its x axis along ENU +y.
    state.update(parse_packet(encode_message("/quaternion", [1.0, 0.0, 0.0, 0.0]))[0])
    assert np.allclose(Rotation.from_quat(state.quat_xyzw).apply([1, 0, 0]), [0, 1, 0])
    enu = NgimuState()
    enu.update(parse_packet(encode_message("/quaternion", [w, x, y, z]))[0], earth_frame="enu")
    assert np.allclose(Rotation.from_quat(enu.quat_xyzw).as_matrix(), rot.as_matrix(), atol=1e-6)
    state.update(parse_packet(encode_message("/earth", [0.0, 0.0, 0.0]))[0])
    assert state.ignored == {"/earth": 1}


def test_fuzzed_packets_raise_only_osc_errors():
    """Mutated and truncated valid packets either parse or raise OscError, never anything else."""
    rng = random.Random(0)
    good = encode_bundle(timetag_from_unix(1e9), [
        encode_message("/sensors", [1.0] * 10), encode_message("/quaternion", [1.0, 0.0, 0.0, 0.0]),
        encode_message("/blob", [b"abcdef"])])
    errors = 0
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data[: rng.choice([len(data), rng.randrange(len(data) + 1)])])
        try:
            state = NgimuState()
            for msg in parse_packet(data):
                state.update(msg)
        except OscError:
            errors += 1
    assert errors > 100


def test_device_clock_modes():
    from fip_ros.ros.ngimu_osc import DeviceClock

    tag = timetag_from_unix(1000.25)
    assert DeviceClock("receipt").stamp_ns(tag, 5_000_000_000) == 5_000_000_000
    assert DeviceClock("device").stamp_ns(tag, 5_000_000_000) == pytest.approx(1000.25e9, abs=1e3)
    assert DeviceClock("aligned").stamp_ns(None, 7) == 7  # no time tag: receipt time
    with pytest.raises(ValueError, match="stamp_source"):
        DeviceClock("gps")


def test_aligned_stamps_keep_device_timing_without_network_jitter():
    """Samples every 10 ms by a device clock 3.2 s behind, received 1-20 ms late at random: once the
    least-delayed packet came, stamps are the device's instants on the receiver's clock (+1 ms, the smallest
    delay), never after their receipt."""
    from fip_ros.ros.ngimu_osc import DeviceClock

    rng = np.random.default_rng(0)
    clock = DeviceClock("aligned", drift=0.0)
    device = 1000.0 + 0.01 * np.arange(500)
    delay = rng.uniform(0.001, 0.020, 500)
    delay[50] = 0.001
    receipt = device + 3.2 + delay
    stamps = np.array([clock.stamp_ns(timetag_from_unix(d), round(r * 1e9))
                       for d, r in zip(device, receipt, strict=True)])
    assert (stamps <= np.round(receipt * 1e9) + 1).all()
    late = stamps[50:] * 1e-9 - (device[50:] + 3.2 + 0.001)
    assert np.abs(late).max() < 2e-6                      # jitter of up to 19 ms gone
    assert np.abs(np.diff(stamps[50:]) * 1e-9 - 0.01).max() < 2e-6


def test_aligned_stamps_follow_a_drifting_device_clock():
    from fip_ros.ros.ngimu_osc import DeviceClock

    clock = DeviceClock("aligned", drift=1e-4)
    device = 0.01 * np.arange(6000)              # 60 s of a device clock running 50 ppm slow
    receipt = device * (1 + 50e-6) + 2.0 + 0.002
    stamps = np.array([clock.stamp_ns(timetag_from_unix(1e6 + d), round((1e6 + r) * 1e9))
                       for d, r in zip(device, receipt, strict=True)])
    err = stamps * 1e-9 - (1e6 + receipt)
    assert np.abs(err).max() < 1e-4                       # the offset creeps along with the drift
