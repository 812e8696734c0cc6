"""Rotation conversions (torch, batched), thin wrappers over ``roma``.

Conventions for the whole project: rotation matrices act on column vectors; quaternions are (x, y, z, w),
as in ROS and roma; the 6D representation is the first two columns of the matrix, flattened
row-major as (r00, r01, r10, r11, r20, r21), i.e. ``R[..., :, :2].reshape(..., 6)``.
"""

import math

import roma
import torch

RANDOM_ANGLES = ("exact", "uniform", "normal")


def sixd_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) via Gram-Schmidt on the two stored columns."""
    return roma.special_gramschmidt(d6.reshape(*d6.shape[:-1], 3, 2))


def matrix_to_sixd(rot: torch.Tensor) -> torch.Tensor:
    return rot[..., :, :2].reshape(*rot.shape[:-2], 6)


def quat_to_matrix(quat_xyzw: torch.Tensor) -> torch.Tensor:
    return roma.unitquat_to_rotmat(quat_xyzw / quat_xyzw.norm(dim=-1, keepdim=True))


def matrix_to_quat(rot: torch.Tensor) -> torch.Tensor:
    return roma.rotmat_to_unitquat(rot)


def axis_angle_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    return roma.rotvec_to_rotmat(rotvec)


def matrix_to_axis_angle(rot: torch.Tensor) -> torch.Tensor:
    return roma.rotmat_to_rotvec(rot)


def euler_to_matrix(order: str, angles: torch.Tensor, degrees: bool = True) -> torch.Tensor:
    """Intrinsic rotations in ``order`` (e.g. 'ZXY', upper case as in BVH channel lists)."""
    return roma.euler_to_rotmat(order.upper(), angles, degrees=degrees)


def slerp(r0: torch.Tensor, r1: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Element-wise slerp from r0 (..., 3, 3) to r1 with weights w (...) broadcast over the leading dims."""
    rel = matrix_to_axis_angle(r0.transpose(-1, -2) @ r1)
    return r0 @ axis_angle_to_matrix(w[..., None] * rel)


def random_rotation(shape, deg: float, generator: torch.Generator | None = None, dtype=torch.float64,
                    device=None, angle: str = "exact") -> torch.Tensor:
    """Random rotations (*shape, 3, 3) about uniformly random axes. ``angle``: 'exact' turns by ``deg``;
    'uniform' by an angle uniform in [0, deg]; 'normal' draws the rotation vector's three components from
    N(0, deg) (a small-noise model)."""
    if angle not in RANDOM_ANGLES:
        raise ValueError(f"angle must be one of {RANDOM_ANGLES}, got {angle!r}")
    rad = math.radians(deg)
    v = torch.randn((*shape, 3), generator=generator, dtype=dtype, device=device)
    if angle == "normal":
        return axis_angle_to_matrix(v * rad)
    axis = v / v.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    if angle == "uniform":
        return axis_angle_to_matrix(axis * (torch.rand((*shape, 1), generator=generator, dtype=dtype,
                                                       device=device) * rad))
    return axis_angle_to_matrix(axis * rad)


def angle_between(rot_a: torch.Tensor, rot_b: torch.Tensor) -> torch.Tensor:
    """Geodesic angle (radians) of ``rot_a^T rot_b``, shape (...)."""
    rel = rot_a.transpose(-1, -2) @ rot_b
    cos = ((rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1.0) / 2.0).clamp(-1.0, 1.0)
    return torch.acos(cos)
