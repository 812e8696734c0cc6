"""Rotation maths in NumPy (batched over leading axes) for the torch-free runtime and the calibration.

Same conventions as ``fip_ros.core.rotations`` (its torch/roma twin for training): matrices act on column
vectors, quaternions are (x, y, z, w).
"""

import numpy as np

from fip_ros.core.smpl_tree import PARENTS


def quat_to_matrix(quat) -> np.ndarray:
    """(..., 4) xyzw of any norm > 0 -> (..., 3, 3)."""
    q = np.asarray(quat, dtype=float)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    x, y, z, w = np.moveaxis(q, -1, 0)
    out = np.empty((*q.shape[:-1], 3, 3))
    out[..., 0, 0] = 1 - 2 * (y * y + z * z)
    out[..., 0, 1] = 2 * (x * y - z * w)
    out[..., 0, 2] = 2 * (x * z + y * w)
    out[..., 1, 0] = 2 * (x * y + z * w)
    out[..., 1, 1] = 1 - 2 * (x * x + z * z)
    out[..., 1, 2] = 2 * (y * z - x * w)
    out[..., 2, 0] = 2 * (x * z - y * w)
    out[..., 2, 1] = 2 * (y * z + x * w)
    out[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return out


def matrix_to_quat(rot) -> np.ndarray:
    """(..., 3, 3) -> (..., 4) unit xyzw with w >= 0 (the largest-component branch, stable near 180 deg)."""
    r = np.asarray(rot, dtype=float)
    m = r.reshape(-1, 3, 3)
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    # 4 q_k^2 for k = x, y, z, w; the largest gives the best-conditioned division.
    cand = np.stack([1 + 2 * m[:, 0, 0] - tr, 1 + 2 * m[:, 1, 1] - tr, 1 + 2 * m[:, 2, 2] - tr, 1 + tr], 1)
    k = cand.argmax(1)
    q = np.empty((len(m), 4))
    s = cand[np.arange(len(m)), k]  # = 4 q_k^2: each row below is 4 q_k q, normalised after
    d = {"xy": m[:, 0, 1] + m[:, 1, 0], "xz": m[:, 0, 2] + m[:, 2, 0], "yz": m[:, 1, 2] + m[:, 2, 1],
         "wx": m[:, 2, 1] - m[:, 1, 2], "wy": m[:, 0, 2] - m[:, 2, 0], "wz": m[:, 1, 0] - m[:, 0, 1]}
    rows = ((s, d["xy"], d["xz"], d["wx"]), (d["xy"], s, d["yz"], d["wy"]),
            (d["xz"], d["yz"], s, d["wz"]), (d["wx"], d["wy"], d["wz"], s))
    for branch, cols in enumerate(rows):
        sel = k == branch
        if sel.any():
            q[sel] = np.stack([c[sel] for c in cols], 1)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q *= np.where(q[:, 3:] < 0, -1.0, 1.0)
    return q.reshape(*r.shape[:-2], 4)


def axis_angle_to_matrix(rotvec) -> np.ndarray:
    """(..., 3) rotation vectors -> (..., 3, 3) (Rodrigues)."""
    v = np.asarray(rotvec, dtype=float)
    angle = np.linalg.norm(v, axis=-1)[..., None, None]
    axis = v / np.where(angle[..., 0] > 0, angle[..., 0], 1.0)
    k = np.zeros((*v.shape[:-1], 3, 3))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -axis[..., 2], axis[..., 1], -axis[..., 0]
    k = k - np.swapaxes(k, -1, -2)
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def special_procrustes(m) -> np.ndarray:
    """The rotation closest to (..., 3, 3) ``m`` in the Frobenius norm (chordal mean of a summed set)."""
    u, _, vt = np.linalg.svd(np.asarray(m, dtype=float))
    d = np.sign(np.linalg.det(u @ vt))
    u = u.copy()
    u[..., :, 2] *= d[..., None]
    return u @ vt


def angle_between(rot_a, rot_b) -> np.ndarray:
    """Geodesic angle (radians) of ``rot_a^T rot_b``, shape (...)."""
    rel = np.swapaxes(rot_a, -1, -2) @ rot_b
    return np.arccos(np.clip((np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0))


def yaw_rotation(angle) -> np.ndarray:
    """Rotation about the SMPL y axis (vertical) by ``angle`` (...) radians."""
    a = np.asarray(angle, dtype=float)
    return axis_angle_to_matrix(a[..., None] * np.array([0.0, 1.0, 0.0]))


def yaw_of(rot) -> np.ndarray:
    """Angle of the rotation about y closest to ``rot`` (maximises trace(R_y^T rot))."""
    r = np.asarray(rot, dtype=float)
    return np.arctan2(r[..., 0, 2] - r[..., 2, 0], r[..., 0, 0] + r[..., 2, 2])


def local_to_global(local, parents=PARENTS) -> np.ndarray:
    """(..., J, 3, 3) local rotations -> global rotations along the kinematic tree."""
    local = np.asarray(local, dtype=float)
    glob = np.empty_like(local)
    for j, p in enumerate(parents):
        glob[..., j, :, :] = local[..., j, :, :] if p < 0 else glob[..., p, :, :] @ local[..., j, :, :]
    return glob
