"""Batched, differentiable recursive Newton-Euler inverse dynamics on the SMPL-24 tree (ball joints).

Everything is in the world frame (SMPL: y up). Two ways in:
- :func:`propagate_kinematics` from joint-space rates (local angular velocity / acceleration of each ball
  joint in its child frame, as pinocchio's spherical joints take them), the forward pass of RNEA;
- :func:`kinematics_from_motion` from a pose sequence by Savitzky-Golay differentiation (smoothing and
  differentiating at once), the route for mocap and network output.
:func:`newton_euler` is the backward pass: it returns the force and moment each parent applies to each child
at the joint (row 0: the wrench the root needs from outside, the "root residual" when the ground reactions
are given as external forces).
"""

from functools import lru_cache

import torch
from scipy.signal import savgol_coeffs

from fip_ros.core.gravity import gravity_like
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.rotations import matrix_to_axis_angle
from fip_ros.core.smpl_tree import NUM_JOINTS, PARENTS
from fip_ros.physics.segments import Segments


def _cross(a, b):
    return torch.linalg.cross(a, b, dim=-1)


def _mv(m, v):
    return (m @ v[..., None])[..., 0]


def propagate_kinematics(local_rot, local_omega, local_alpha, offsets, root_pos, root_vel, root_acc):
    """Forward pass. local_rot (...,24,3,3); local_omega/alpha (...,24,3) in each child frame (row 0: root's
    angular rate in its own frame); root_pos/vel/acc (...,3) world. Returns dict of world quantities."""
    rot, omega, alpha, pos, acc = [local_rot[..., 0, :, :]], [], [], [root_pos], [root_acc]
    omega.append(_mv(rot[0], local_omega[..., 0, :]))
    alpha.append(_mv(rot[0], local_alpha[..., 0, :]))
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        r = rot[p] @ local_rot[..., j, :, :]
        w_rel = _mv(r, local_omega[..., j, :])
        lever = _mv(rot[p], offsets[..., j, :])
        rot.append(r)
        omega.append(omega[p] + w_rel)
        alpha.append(alpha[p] + _cross(omega[p], w_rel) + _mv(r, local_alpha[..., j, :]))
        pos.append(pos[p] + lever)
        acc.append(acc[p] + _cross(alpha[p], lever) + _cross(omega[p], _cross(omega[p], lever)))
    stack = lambda xs, d=-2: torch.stack(xs, d)  # noqa: E731
    return dict(global_rot=stack(rot, -3), omega=stack(omega), alpha=stack(alpha), joint_pos=stack(pos),
                joint_acc=stack(acc))


def com_acceleration(kin: dict, seg: Segments) -> torch.Tensor:
    """Acceleration of each body's CM from its joint's acceleration and the body's rates (rigid body)."""
    r = _mv(kin["global_rot"], seg.com)
    w = kin["omega"]
    return kin["joint_acc"] + _cross(kin["alpha"], r) + _cross(w, _cross(w, r))


@lru_cache(maxsize=64)
def _savgol_kernel(window: int, order: int, deriv: int, fps: float) -> torch.Tensor:
    return torch.as_tensor(savgol_coeffs(window, order, deriv=deriv, delta=1.0 / fps, use="dot").copy())


def savgol_filter(x: torch.Tensor, fps: float, window: int = 9, deriv: int = 0, order: int = 2):
    """Savitzky-Golay smoothing/derivative along dim 0 (time), edges padded by replication."""
    k = _savgol_kernel(window, order, deriv, float(fps)).to(x.dtype)
    half = window // 2
    flat = x.reshape(x.shape[0], -1).T[:, None, :]  # (C, 1, T)
    flat = torch.nn.functional.pad(flat, (half, half), mode="replicate")
    out = torch.nn.functional.conv1d(flat, k[None, None, :])  # cross-correlation = savgol's "dot" order
    return out[:, 0, :].T.reshape(x.shape)


def world_angular_velocity(global_rot: torch.Tensor, fps: float) -> torch.Tensor:
    """World angular velocity (T,...,3) from rotations (T,...,3,3) by central relative rotations."""
    nxt = torch.cat([global_rot[1:], global_rot[-1:]], 0)
    prv = torch.cat([global_rot[:1], global_rot[:-1]], 0)
    steps = torch.full((global_rot.shape[0],), 2.0, dtype=global_rot.dtype)
    steps[0] = steps[-1] = 1.0
    rel = nxt @ prv.transpose(-1, -2)
    return matrix_to_axis_angle(rel) * (fps / steps).reshape(-1, *[1] * (rel.dim() - 2))


def kinematics_from_motion(local_rot, offsets, root_pos, fps: float = 60.0, window: int = 9) -> dict:
    """Kinematics of a sequence local_rot (T,24,3,3), root_pos (T,3): rotations, rates and accelerations.

    Positions are differentiated with a Savitzky-Golay filter; the angular velocity from central relative
    rotations is smoothed with the same filter and differentiated for the angular acceleration.
    """
    glob, pos = forward_kinematics(local_rot, offsets, root_pos)
    omega_raw = world_angular_velocity(glob, fps)
    return dict(global_rot=glob, joint_pos=pos, omega=savgol_filter(omega_raw, fps, window),
                alpha=savgol_filter(omega_raw, fps, window, deriv=1),
                joint_vel=savgol_filter(pos, fps, window, deriv=1),
                joint_acc=savgol_filter(pos, fps, window, deriv=2))


def com_acceleration_from_motion(kin: dict, seg: Segments, fps: float, window: int = 9) -> torch.Tensor:
    """CM accelerations (T,24,3) by differentiating the CM trajectories (consistent with the joint path)."""
    com = kin["joint_pos"] + _mv(kin["global_rot"], seg.com)
    return savgol_filter(com, fps, window, deriv=2)


def newton_euler(kin: dict, seg: Segments, com_acc: torch.Tensor, ext_force=None, ext_point=None,
                 ext_moment=None):
    """Backward pass of RNEA in the world frame.

    kin: global_rot (...,24,3,3), omega, alpha, joint_pos (...,24,3); com_acc (...,24,3).
    ext_force/ext_point/ext_moment (...,24,3): external force on each body at a world point, plus a free
    moment (e.g. ground reactions on the feet). Returns (force, moment) (...,24,3): the wrench the parent
    applies to the child at the joint, moment about the joint (row 0: the root residual wrench).
    """
    rot = kin["global_rot"]
    inertia = rot @ seg.inertia @ rot.transpose(-1, -2)
    w, a = kin["omega"], kin["alpha"]
    com = kin["joint_pos"] + _mv(rot, seg.com)
    f = seg.mass[..., None] * (com_acc - gravity_like(com_acc))
    n = _mv(inertia, a) + _cross(w, _mv(inertia, w))
    # Moments are carried about the world origin during the sweep and moved to the joints at the end.
    n = n + _cross(com, f)
    if ext_force is not None:
        f = f - ext_force
        n = n - _cross(ext_point, ext_force)
    if ext_moment is not None:
        n = n - ext_moment
    fs, ns = list(f.unbind(-2)), list(n.unbind(-2))
    for j in range(NUM_JOINTS - 1, 0, -1):
        p = PARENTS[j]
        fs[p] = fs[p] + fs[j]
        ns[p] = ns[p] + ns[j]
    force, moment_origin = torch.stack(fs, -2), torch.stack(ns, -2)
    return force, moment_origin - _cross(kin["joint_pos"], force)


def to_local(rot: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    """World vectors (...,24,3) -> each body's frame (e.g. joint moments in the child segment's axes)."""
    return (rot.transpose(-1, -2) @ vec[..., None])[..., 0]
