"""The NumPy rotation maths of the torch-free runtime against roma (the training side's library)."""

import numpy as np
import roma
import torch

from fip_ros.core import so3


def test_quaternions_and_rotation_vectors_agree_with_roma():
    rng = np.random.default_rng(0)
    rotvec = rng.normal(0, 1.5, (500, 3))
    rotvec[:5] = [[np.pi, 0, 0], [0, np.pi, 0], [0, 0, np.pi], [0, 0, 0], [1e-9, 0, 0]]  # the hard cases
    want = roma.rotvec_to_rotmat(torch.from_numpy(rotvec)).numpy()
    got = so3.axis_angle_to_matrix(rotvec)
    assert np.abs(got - want).max() < 1e-12
    q = so3.matrix_to_quat(got)
    ref = roma.rotmat_to_unitquat(torch.from_numpy(want)).numpy()
    ref *= np.where(ref[:, 3:] < 0, -1.0, 1.0)
    assert (q[:, 3] >= 0).all() and np.abs(np.abs(q) - np.abs(ref)).max() < 1e-9
    assert np.abs(so3.quat_to_matrix(q * 3.0) - got).max() < 1e-12  # any norm
    assert np.abs(so3.angle_between(got, got)).max() < 1e-6


def test_procrustes_yaw_and_chain():
    rng = np.random.default_rng(1)
    r = so3.axis_angle_to_matrix(rng.normal(0, 1, (3, 3)))
    assert np.allclose(so3.special_procrustes(2.0 * r + 1e-3 * rng.normal(size=(3, 3, 3))), r, atol=1e-3)
    assert np.isclose(so3.yaw_of(so3.yaw_rotation(0.7)), 0.7)
    local = so3.axis_angle_to_matrix(rng.normal(0, 0.5, (24, 3)))
    glob = so3.local_to_global(local)
    from fip_ros.core.kinematics import local_to_global

    assert np.allclose(glob, local_to_global(torch.from_numpy(local)).numpy(), atol=1e-12)
