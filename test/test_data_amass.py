"""AMASS loader on generated sequences in the real format (z up, SMPL+H or SMPL poses, 120 or 100 Hz)."""

import numpy as np
import pytest
import torch

from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.resample import resample_times
from fip_ros.core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from fip_ros.data.amass import load_amass

N = 40


def _sequence(rng, fps=120.0):
    """SMPL+H poses whose y-up body orientations are ``body_root``; AMASS stores them turned to z up."""
    poses = rng.normal(0, 0.3, (N, 52, 3))
    body_root = axis_angle_to_matrix(torch.from_numpy(rng.normal(0, 0.3, (N, 3)))).numpy()
    y_up_to_z_up = axis_angle_to_matrix(torch.tensor([np.pi / 2, 0.0, 0.0], dtype=torch.float64)).numpy()
    poses[:, 0] = matrix_to_axis_angle(torch.from_numpy(y_up_to_z_up @ body_root)).numpy()
    trans = np.stack([np.zeros(N), np.linspace(0, 1, N), np.full(N, 0.9)], 1)  # walks along +y, 0.9 m up
    return dict(poses=poses.reshape(N, 156), trans=trans, betas=np.zeros(16), gender=np.array(b"female"),
                mocap_framerate=np.array(fps)), body_root


def test_amass_smplh_to_y_up_60hz(tmp_path):
    data, body_root = _sequence(np.random.default_rng(0))
    np.savez(tmp_path / "seq_poses.npz", **data)
    m = load_amass(tmp_path / "seq_poses.npz")
    assert m.fps == 60 and m.frames == N // 2 and m.source == "amass" and m.name == "seq_poses"
    assert np.allclose(m.local_rot[:, 0], body_root[::2], atol=1e-5)  # back to y up
    joints52 = data["poses"].reshape(N, 52, 3)[::2]
    expected = axis_angle_to_matrix(torch.from_numpy(joints52[:, [1, 21, 22, 37]])).numpy()
    assert np.allclose(m.local_rot[:, [1, 21, 22, 23]], expected, atol=1e-5)  # hands from the hand roots
    step = m.tran[-1] - m.tran[0]
    assert np.allclose(step, [0, 0, -(N - 2) / (N - 1)], atol=1e-5)  # z-up +y is y-up -z; frame 38 is last
    feet = forward_kinematics(torch.from_numpy(m.local_rot).double(), torch.from_numpy(m.offsets).double(),
                              torch.from_numpy(m.tran).double())[1][:, [7, 8, 10, 11], 1]
    assert float(feet.min()) == pytest.approx(0.0, abs=1e-5)
    assert m.body[0] == 0 and m.body[1] == pytest.approx(1.63, abs=1e-3)  # nominal female body


def test_amass_smpl72_and_other_rate(tmp_path):
    data, _ = _sequence(np.random.default_rng(1), fps=100.0)
    np.savez(tmp_path / "a.npz", **data)
    full = load_amass(tmp_path / "a.npz")
    joints52 = data["poses"].reshape(N, 52, 3)
    data["poses"] = np.concatenate([joints52[:, :22], joints52[:, [22, 37]]], 1).reshape(N, 72)
    data["gender"] = np.array("male")
    np.savez(tmp_path / "b.npz", **data)
    smpl = load_amass(tmp_path / "b.npz")
    assert smpl.frames == len(resample_times(N, 100.0, 60.0)) == full.frames
    assert np.allclose(smpl.local_rot, full.local_rot, atol=1e-5) and smpl.body[0] == 1
    data["poses"] = data["poses"][:, :69]
    np.savez(tmp_path / "c.npz", **data)
    with pytest.raises(ValueError, match="156"):
        load_amass(tmp_path / "c.npz")
