"""Virtual IMUs: known answers for analytic motion, gravity conventions, corruption properties."""

import math

import pytest
import torch

from fip_ros.core.body_model import default_offsets
from fip_ros.core.imu_synthesis import (
    ImuCorruption,
    corrupt,
    finite_acceleration,
    free_acceleration,
    sensor_local_offsets,
    specific_force,
    synthesize,
)
from fip_ros.core.rotations import angle_between, axis_angle_to_matrix

FPS = 60.0
OFFSETS = default_offsets(1.75).double()


def _still_pose(t, gen, scale=0.5):
    local = axis_angle_to_matrix(torch.randn(24, 3, generator=gen, dtype=torch.float64) * scale)
    return local.expand(t, 24, 3, 3)


def _identity(t):
    return torch.eye(3, dtype=torch.float64).expand(t, 24, 3, 3)


@pytest.mark.parametrize("stencil, rel_tol", [(1, 5e-4), (4, 5e-3)])
def test_uniform_circular_motion_gives_centripetal_acceleration(stencil, rel_tol):
    """Root on a circle of radius r at angular speed w: |a| = v^2 / r towards the centre. The central
    difference over +-n frames (h = n / fps) gives exactly a 2 (1 - cos wh) / (wh)^2 ~ a (1 - (wh)^2 / 12)."""
    r, w, t = 1.3, 2 * math.pi * 0.5, 240
    time = torch.arange(t, dtype=torch.float64) / FPS
    tran = torch.stack([r * torch.cos(w * time), torch.full_like(time, 1.0), r * torch.sin(w * time)], -1)
    out = synthesize(_identity(t), OFFSETS, tran, FPS, stencil)
    centre_dir = -(tran - torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)) / r
    expected = (w * r) ** 2 / r * centre_dir[:, None, :].expand(t, 6, 3)
    inner = slice(stencil, t - stencil)
    assert torch.allclose(out["acc"][inner], expected[inner], rtol=0, atol=rel_tol * w * w * r)
    h = stencil / FPS
    discrete = 2 * (1 - math.cos(w * h)) / h ** 2 / w ** 2
    assert torch.allclose(out["acc"][inner], expected[inner] * discrete, atol=1e-9)
    assert torch.equal(out["acc"][:stencil], out["acc"][stencil:stencil + 1].expand(stencil, 6, 3))  # edges


@pytest.mark.parametrize("stencil", [1, 4])
def test_constant_linear_acceleration_is_exact(stencil):
    t = 50
    time = torch.arange(t, dtype=torch.float64)[:, None] / FPS
    a = torch.tensor([0.3, -2.0, 1.5], dtype=torch.float64)
    tran = 0.5 * a * time ** 2 + torch.tensor([1.0, 0.2, 0.0], dtype=torch.float64) * time
    out = synthesize(_still_pose(t, torch.Generator().manual_seed(0)), OFFSETS, tran, FPS, stencil)
    assert torch.allclose(out["acc"], a.expand(t, 6, 3), atol=1e-9)  # edges replicate the same value


def test_still_body_reads_gravity_up():
    gen = torch.Generator().manual_seed(1)
    out = synthesize(_still_pose(20, gen), OFFSETS, torch.randn(3, generator=gen, dtype=torch.float64))
    assert torch.allclose(out["acc"], torch.zeros(20, 6, 3, dtype=torch.float64), atol=1e-10)
    f = specific_force(out["acc"], out["ori"])
    up = torch.tensor([0.0, 9.81, 0.0], dtype=torch.float64)
    assert torch.allclose((out["ori"] @ f[..., None])[..., 0], up.expand(20, 6, 3))  # +9.81 up, sensor frame
    assert torch.allclose(free_acceleration(f, out["ori"]), out["acc"], atol=1e-12)
    tpose = synthesize(_identity(5), OFFSETS)
    assert torch.allclose(specific_force(tpose["acc"], tpose["ori"]), up.expand(5, 6, 3))


def test_t_pose_bone_orientation_is_identity_and_follows_root():
    out = synthesize(_identity(3), OFFSETS)
    assert torch.allclose(out["ori"], torch.eye(3, dtype=torch.float64).expand(3, 6, 3, 3))
    root = axis_angle_to_matrix(torch.tensor([0.0, 1.0, 0.3], dtype=torch.float64))
    local = _identity(3).clone()
    local[:, 0] = root
    assert torch.allclose(synthesize(local, OFFSETS)["ori"], root.expand(3, 6, 3, 3))


def test_sensor_sites():
    sites = sensor_local_offsets(OFFSETS)
    # Left forearm: 80 % from elbow to wrist along +x, 3 cm above (surface part scales with height 1.75).
    assert torch.allclose(sites[0], torch.tensor([0.8 * OFFSETS[20, 0], 0.03, 0.0], dtype=torch.float64))
    assert sites[1, 0] < 0 and sites[2, 1] < 0  # right forearm towards -x, shin sensor below the knee
    tall = sensor_local_offsets(OFFSETS * 2)
    assert torch.allclose(tall, sites * 2)


def test_batched_matches_single_and_is_differentiable():
    gen = torch.Generator().manual_seed(2)
    local = axis_angle_to_matrix(torch.randn(2, 30, 24, 3, generator=gen, dtype=torch.float64) * 0.3)
    offsets = torch.stack([OFFSETS, OFFSETS * 1.1]).requires_grad_(True)
    tran = torch.randn(2, 30, 3, generator=gen, dtype=torch.float64)
    out = synthesize(local, offsets, tran)
    for b in range(2):
        assert torch.allclose(out["acc"][b], synthesize(local[b], offsets[b], tran[b])["acc"])
    out["acc"].square().sum().backward()
    assert offsets.grad is not None and offsets.grad.abs().sum() > 0


def test_short_sequences():
    pos = (torch.arange(5, dtype=torch.float64) ** 2)[:, None, None].expand(5, 1, 3)
    assert torch.allclose(finite_acceleration(pos, fps=1.0, stencil=4), torch.full((5, 1, 3), 2.0,
                                                                                   dtype=torch.float64))
    assert torch.equal(finite_acceleration(pos[:2], fps=1.0), torch.zeros(2, 1, 3, dtype=torch.float64))


def _clean(t=40, seed=3):
    gen = torch.Generator().manual_seed(seed)
    local = axis_angle_to_matrix(torch.randn(t, 24, 3, generator=gen, dtype=torch.float64) * 0.2)
    out = synthesize(local, OFFSETS)
    return out["acc"], out["ori"]


def test_corruption_off_is_identity_and_each_error_acts_as_documented():
    acc, ori = _clean()
    a, o = corrupt(acc, ori, ImuCorruption(), torch.Generator().manual_seed(0))
    assert torch.equal(a, acc) and torch.equal(o, ori)
    gen = torch.Generator().manual_seed(0)
    a, o = corrupt(acc, ori, ImuCorruption(mount_rot_deg=5.0), gen)
    assert torch.equal(a, acc)  # misalignment leaves the world-frame acceleration alone
    err = ori.transpose(-1, -2) @ o  # constant right factor per sensor
    assert torch.allclose(err, err[:1].expand_as(err)) and angle_between(err, torch.eye(3).double()).max() > 0
    a, o = corrupt(acc, ori, ImuCorruption(heading_error_deg=10.0), gen)
    assert torch.allclose(a.norm(dim=-1), acc.norm(dim=-1)) and torch.allclose(a[..., 1], acc[..., 1])
    a, _ = corrupt(acc, ori, ImuCorruption(acc_bias_std=0.5), gen)
    bias = (ori.transpose(-1, -2) @ (a - acc)[..., None])[..., 0]  # constant in the sensor frame
    assert torch.allclose(bias, bias[:1].expand_as(bias)) and bias.abs().max() > 0.01
    a, _ = corrupt(acc, ori, ImuCorruption(acc_noise_std=0.2), torch.Generator().manual_seed(0))
    assert abs(float((a - acc).std()) - 0.2) < 0.03


def test_mount_position_offset_adds_no_acceleration_when_still():
    acc, ori = _clean()
    still_ori = ori[:1].expand_as(ori)
    a, _ = corrupt(torch.zeros_like(acc), still_ori, ImuCorruption(mount_pos_m=0.05), torch.Generator())
    assert torch.allclose(a, torch.zeros_like(a), atol=1e-12)
    a, _ = corrupt(acc, ori, ImuCorruption(mount_pos_m=0.05), torch.Generator().manual_seed(0))
    assert (a - acc).abs().max() > 1e-3


def test_dropped_samples_hold_last_value():
    acc, ori = _clean(t=200)
    a, o = corrupt(acc, ori, ImuCorruption(drop_prob=0.3), torch.Generator().manual_seed(5))
    changed = (a != acc).any(-1)
    assert 0.2 < changed.double().mean() < 0.4 and not changed[0].any()
    for t, s in changed.nonzero().tolist():
        assert torch.equal(a[t, s], a[t - 1, s]) and torch.equal(o[t, s], o[t - 1, s])


def test_heading_walk_drifts_about_the_vertical_with_the_stated_rate():
    """Heading random walk: the world-frame error is a pure rotation about y whose spread grows as
    walk * sqrt(time) (degrees per square-root second), starting near zero without a constant offset."""
    t, n = 600, 400  # 10 s at 60 Hz, 400 sequences
    acc, ori = _clean(t=t)
    acc, ori = acc.expand(n, -1, -1, -1), ori.expand(n, -1, -1, -1, -1)
    _, o = corrupt(acc, ori, ImuCorruption(heading_walk_deg=2.0), torch.Generator().manual_seed(1))
    err = o @ ori.transpose(-1, -2)  # left factor: world frame
    up = torch.tensor([0.0, 1.0, 0.0], dtype=err.dtype)
    assert torch.allclose(err[..., 1, :], up.expand_as(err[..., 1, :]), atol=1e-9)  # about the vertical only
    yaw = torch.rad2deg(torch.atan2(err[..., 0, 2], err[..., 0, 0]))  # (n, t, 6)
    assert float(yaw[:, 0].abs().max()) < 1.5  # one 1/60 s step at the start
    spread = float(yaw[:, -1].std())  # after 10 s: 2 * sqrt(10) = 6.3 degrees
    assert spread == pytest.approx(2.0 * 10 ** 0.5, rel=0.1)


def test_calibration_posture_error_is_constant_and_per_sensor():
    acc, ori = _clean()
    n = 300
    acc, ori = acc.expand(n, -1, -1, -1), ori.expand(n, -1, -1, -1, -1)
    std = (8.0, 8.0, 3.0, 3.0, 0.0, 0.0)
    a, o = corrupt(acc, ori, ImuCorruption(calib_pose_deg=std), torch.Generator().manual_seed(2))
    assert torch.equal(a, acc)  # the acceleration stays in the world frame
    err = ori.transpose(-1, -2) @ o  # right factor: in the bone frame, constant over time
    assert torch.allclose(err, err[:, :1].expand_as(err), atol=1e-12)
    angle = torch.rad2deg(angle_between(err[:, 0], torch.eye(3, dtype=err.dtype)))  # (n, 6)
    # the angle of a rotation vector with N(0, s) components has an RMS of s * sqrt(3)
    rms = angle.pow(2).mean(0).sqrt()
    for s, r in zip(std, rms.tolist(), strict=True):
        assert r == pytest.approx(s * 3 ** 0.5, rel=0.12, abs=1e-4)  # acos: ~1e-6 deg at 0


def test_scaled_corruption_multiplies_every_magnitude():
    base = ImuCorruption(acc_noise_std=0.1, acc_bias_std=0.05, acc_bias_walk_std=0.001, ori_noise_deg=0.5,
                         heading_error_deg=2.0, mount_rot_deg=3.0, mount_pos_m=0.01, drop_prob=0.4,
                         heading_walk_deg=0.5, calib_pose_deg=(5.0, 5.0, 2.0, 2.0, 2.0, 1.0))
    acc, ori = _clean()
    a, o = corrupt(acc, ori, base.scaled(0.0), torch.Generator().manual_seed(0))
    assert torch.equal(a, acc) and torch.equal(o, ori)  # severity 0: clean sensors
    double = base.scaled(2.0)
    assert (double.acc_noise_std, double.heading_error_deg, double.mount_pos_m) == (0.2, 4.0, 0.02)
    assert double.calib_pose_deg == (10.0, 10.0, 4.0, 4.0, 4.0, 2.0) and base.scaled(3.0).drop_prob == 1.0
    assert (double.fps, double.stencil) == (base.fps, base.stencil)
    a, _ = corrupt(acc, ori, ImuCorruption(acc_noise_std=0.1).scaled(2.0), torch.Generator().manual_seed(0))
    assert abs(float((a - acc).std()) - 0.2) < 0.03
