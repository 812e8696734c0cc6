"""Virtual IMUs: known answers and agreement with the training synthesis."""

import math

import torch
from helpers import spinning_pelvis

from fip_ros.core.body_model import default_offsets
from fip_ros.core.gravity import GRAVITY
from fip_ros.core.imu_synthesis import finite_acceleration, sensor_local_offsets, synthesize
from fip_ros.core.smpl_tree import ROOT_SENSOR
from fip_ros.finetune.self_supervised import demo_shift, imu_from_clip
from fip_ros.physics.virtual_imu import VirtualIMU, carrier_acceleration, offset_acceleration

OFF = default_offsets(1.75)


def test_matches_training_synthesis_at_nominal_sites():
    local, tran = spinning_pelvis()
    imu = synthesize(local, OFF, tran)
    virt = VirtualIMU(OFF)(imu["global_rot"], imu["joints"])
    assert torch.allclose(virt["acc"], imu["acc"], atol=1e-4)
    assert torch.allclose(virt["ori"], imu["ori"])


def test_static_reads_gravity_and_spin_reads_rate():
    local, tran = spinning_pelvis(rate=2.0)
    imu = synthesize(local, OFF, tran)
    virt = VirtualIMU(OFF)(imu["global_rot"], imu["joints"])
    # Pelvis sensor: gyro = 2 rad/s about its own y (vertical) axis; head sensor too (rigid T-pose).
    assert torch.allclose(virt["gyro"][5:-5, 5], torch.tensor([0.0, 2.0, 0.0]), atol=1e-3)
    # The pelvis sensor sits 10 cm behind the joint: centripetal 0.1 * 4 m/s^2 towards the axis plus gravity.
    sf = virt["specific_force"][10, 5]
    assert math.isclose(float(sf[1]), GRAVITY, rel_tol=1e-3)
    assert math.isclose(float(sf[[0, 2]].norm()), 0.1 * 2.0**2, rel_tol=0.05)


def test_offset_acceleration_moves_sensor_back():
    local, tran = spinning_pelvis()
    shift = demo_shift(OFF)
    acc, ori = imu_from_clip(local, OFF, tran, shift)
    acc0, _ = imu_from_clip(local, OFF, tran)
    assert torch.allclose(acc - offset_acceleration(ori, shift), acc0, atol=1e-4)


def test_root_acceleration_removes_the_pelvis_lever_arm():
    """A pelvis spinning in place (its sensor 10 cm behind the joint reads 0.4 m/s^2 centripetal) plus a
    known root acceleration: the root's acceleration comes back exactly."""
    local, _ = spinning_pelvis(T=60, rate=2.0)
    t = torch.arange(60) / 60.0
    tran = torch.stack([0.5 * 1.5 * t**2, 0.05 * torch.sin(6 * t), 0 * t], -1)  # 1.5 m/s^2 forward, a bob
    imu = synthesize(local, OFF, tran)
    site = sensor_local_offsets(OFF)[ROOT_SENSOR]
    got = carrier_acceleration(imu["acc"][:, ROOT_SENSOR], imu["ori"][:, ROOT_SENSOR], site)
    truth = finite_acceleration(tran, stencil=4, dim=-2)
    assert float((imu["acc"][10:-10, ROOT_SENSOR] - truth[10:-10]).norm(dim=-1).min()) > 0.3  # the lever arm
    assert torch.allclose(got, truth, atol=1e-4)
