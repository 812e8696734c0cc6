"""Calibration: round trips through simulated raw data, error propagation with known answers, persistence."""

import json

import numpy as np
import pytest
import torch

from fip_ros.core.body_model import default_offsets
from fip_ros.core.calibration import (
    Calibration,
    apply_calibration,
    calibration_pose_bone_rot,
    calibration_pose_local_rot,
    estimate_calibration,
)
from fip_ros.core.imu_synthesis import simulate_raw, synthesize
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.rotations import angle_between, axis_angle_to_matrix, random_rotation

STILL = 60


def _session(pose="tpose", dtype=torch.float64, seed=0):
    """Still calibration pose for STILL frames, then a smooth random motion; calibrated (acc, ori) truth."""
    gen = torch.Generator().manual_seed(seed)
    start = torch.as_tensor(calibration_pose_local_rot(pose), dtype=dtype)
    time = torch.arange(1, 101, dtype=dtype)[:, None, None] / 60.0
    amp, freq = torch.randn(2, 24, 3, generator=gen, dtype=dtype)
    moving = start @ axis_angle_to_matrix(0.5 * amp * torch.sin(2 * torch.pi * freq * time))
    local = torch.cat([start.expand(STILL, 24, 3, 3), moving])
    tran = torch.cat([torch.zeros(STILL, 3, dtype=dtype), 0.3 * torch.sin(time[:, 0] * amp[0])])
    out = synthesize(local, default_offsets(1.8).to(dtype), tran)
    acc = out["acc"].clone()
    acc[:STILL] = 0.0  # the stencil leaks the motion's first frames into the end of the still segment
    return acc, out["ori"]


def _yaw(deg, dtype=torch.float64):
    return axis_angle_to_matrix(torch.tensor([0.0, deg * torch.pi / 180, 0.0], dtype=dtype))


@pytest.mark.parametrize("pose", ["tpose", "npose"])
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-9), (torch.float32, 1e-4)])
def test_round_trip_recovers_calibrated_signals(pose, dtype, tol):
    acc, ori = _session(pose, dtype)
    gen = torch.Generator().manual_seed(7)
    raw_ori, raw_acc = simulate_raw(acc, ori, gen, mount_error_deg=120.0, heading_deg=-137.0,
                                    body_mount_error_deg=0.0, acc_bias_std=0.3)
    cal = estimate_calibration(raw_ori[:STILL], raw_acc[:STILL], pose=pose)
    got_acc, got_ori = apply_calibration(cal, raw_ori, raw_acc)
    assert (got_acc - acc).abs().max() < tol and (got_ori - ori).abs().max() < tol


def test_heading_exact_for_pitched_body_sensor():
    """A body sensor strapped tilted about the body's left axis (x) still gives the exact heading."""
    acc, ori = _session()
    m = torch.tensor([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=torch.float64)
    mounts = m @ random_rotation((6,), 40.0, torch.Generator().manual_seed(1))
    mounts[5] = m @ axis_angle_to_matrix(torch.tensor([0.3, 0.0, 0.0], dtype=torch.float64))
    raw_ori, raw_acc = simulate_raw(acc, ori, heading_deg=25.0, mounts=mounts)
    cal = estimate_calibration(raw_ori[:STILL], raw_acc[:STILL])
    got_acc, got_ori = apply_calibration(cal, raw_ori, raw_acc)
    assert torch.allclose(got_ori, ori, atol=1e-9) and torch.allclose(got_acc, acc, atol=1e-8)


def test_body_sensor_yaw_error_propagates_as_a_heading_conjugation():
    """Body sensor strapped turned by d about the vertical: the heading is off by d, so the outputs become
    R_y(d) B R_y(-d) and R_y(d) a: exact in the calibration pose, d of error in accelerations elsewhere."""
    acc, ori = _session()
    m = torch.tensor([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=torch.float64)
    mounts = m @ random_rotation((6,), 90.0, torch.Generator().manual_seed(2))
    mounts[5] = m @ _yaw(8.0)
    raw_ori, raw_acc = simulate_raw(acc, ori, heading_deg=60.0, mounts=mounts)
    cal = estimate_calibration(raw_ori[:STILL], raw_acc[:STILL])
    got_acc, got_ori = apply_calibration(cal, raw_ori, raw_acc)
    r = _yaw(8.0)
    assert torch.allclose(got_ori, r @ ori @ r.T, atol=1e-9)
    assert torch.allclose(got_acc, (r @ acc[..., None])[..., 0], atol=1e-8)
    assert torch.allclose(got_ori[:STILL], ori[:STILL], atol=1e-9)


def test_sensor_slip_after_calibration_only_turns_its_orientation():
    acc, ori = _session()
    raw_ori, raw_acc = simulate_raw(acc, ori, torch.Generator().manual_seed(3), heading_deg=10.0)
    cal = estimate_calibration(raw_ori[:STILL], raw_acc[:STILL])
    slip = random_rotation((), 12.0, torch.Generator().manual_seed(4))
    raw_ori[STILL:, 1] = raw_ori[STILL:, 1] @ slip  # the right forearm sensor turns on the skin
    raw_acc[STILL:, 1] = (slip.T @ raw_acc[STILL:, 1, :, None])[..., 0]  # same physical force, new axes
    got_acc, got_ori = apply_calibration(cal, raw_ori, raw_acc)
    err = torch.rad2deg(angle_between(got_ori, ori))
    assert torch.allclose(err[STILL:, 1], torch.full((100,), 12.0, dtype=torch.float64), atol=1e-6)
    assert err[:, [0, 2, 3, 4, 5]].max() < 1e-5 and torch.allclose(got_acc, acc, atol=1e-8)


def test_save_load_yaml_safe():
    acc, ori = _session()
    raw_ori, raw_acc = simulate_raw(acc, ori, torch.Generator().manual_seed(5), heading_deg=33.0)
    cal = estimate_calibration(raw_ori[:STILL], raw_acc[:STILL])
    loaded = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert loaded.pose == "tpose"
    for a, b in zip(apply_calibration(cal, raw_ori, raw_acc), apply_calibration(loaded, raw_ori, raw_acc),
                    strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="shape"):
        Calibration.from_dict({**cal.to_dict(), "acc_offset": [[0.0, 0.0, 0.0]]})


def test_rejects_moving_segment_and_wrong_units():
    acc, ori = _session()
    raw_ori, raw_acc = simulate_raw(acc, ori, torch.Generator().manual_seed(6))
    with pytest.raises(ValueError, match="not still"):
        estimate_calibration(raw_ori[STILL - 20:], raw_acc[STILL - 20:])
    with pytest.raises(ValueError, match="m/s"):
        estimate_calibration(raw_ori[:STILL], raw_acc[:STILL] / 9.81)
    m = torch.tensor([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=torch.float64)
    mounts = m.expand(6, 3, 3).clone()
    mounts[5] = m @ axis_angle_to_matrix(torch.tensor([torch.pi / 2, 0.0, 0.0], dtype=torch.float64))
    raw_ori, raw_acc = simulate_raw(acc, ori, mounts=mounts)
    with pytest.raises(ValueError, match="tilted 90 deg"):
        estimate_calibration(raw_ori[:STILL], raw_acc[:STILL])


def test_calibration_poses():
    assert np.allclose(calibration_pose_local_rot("tpose"), np.eye(3))
    npose = torch.as_tensor(calibration_pose_local_rot("npose"))
    _, pos = forward_kinematics(npose, default_offsets(1.75).double())
    for shoulder, elbow, wrist in ((16, 18, 20), (17, 19, 21)):  # arms hang straight down
        assert torch.allclose(pos[[elbow, wrist]][:, [0, 2]], pos[shoulder, [0, 2]].expand(2, 2), atol=1e-6)
        assert pos[shoulder, 1] > pos[elbow, 1] > pos[wrist, 1]
    bones = calibration_pose_bone_rot("npose")
    assert np.allclose(bones[2:], np.eye(3))
    with pytest.raises(ValueError, match="calibration pose"):
        calibration_pose_local_rot("apose")
