"""Mirror averaging: at inference FIP also runs on the left-right mirror image of its input and averages the
two poses.

A person seen in a mirror moves as plausibly as the person, and training shows the network both (mirroring
augmentation), so its errors on the two are partly independent; the mean of the pose and the mirrored-back
pose of the mirror image is more accurate than either (test-time augmentation). Mirroring reflects the SMPL
world through its y-z plane (x -> -x; the calibrated body's sagittal plane, and as FIP is blind to the
heading, any vertical plane would do) and swaps left and right: sensors, leaf points, skeleton nodes and
joints. Plain ops only (sign masks and gathers), so it exports to ONNX unchanged.
"""

import torch

from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, LEAF_JOINTS, MIRROR, SENSOR_JOINTS, SKELETON_JOINTS

_SIGN = (-1.0, 1.0, 1.0)  # x -> -x
POLAR_ITERATIONS = 8


def _partners(joints) -> list[int]:
    """Index, within ``joints``, of each joint's left/right partner."""
    return [list(joints).index(MIRROR[j]) for j in joints]


SENSOR_PARTNERS = _partners(SENSOR_JOINTS)
LEAF_PARTNERS = _partners(LEAF_JOINTS)
NODE_PARTNERS = _partners(SKELETON_JOINTS)
ROTATION_PARTNERS = _partners(ESTIMATED_JOINTS)


def mirror_points(p: torch.Tensor, partners) -> torch.Tensor:
    """(..., N, 3) points in a frame with x across the body -> their mirror image (partners swapped)."""
    return p[..., partners, :] * p.new_tensor(_SIGN)


def mirror_rotations(r: torch.Tensor, partners) -> torch.Tensor:
    """(..., N, 3, 3) rotations -> M r M with M = diag(-1, 1, 1), partners swapped."""
    sign = r.new_tensor(_SIGN)
    return r[..., partners, :, :] * (sign[:, None] * sign[None, :])


def mirror_imu(acc: torch.Tensor, ori: torch.Tensor):
    """acc (..., 6, 3), ori (..., 6, 3, 3) calibrated, sensor order -> the IMUs of the mirror image."""
    return mirror_points(acc, SENSOR_PARTNERS), mirror_rotations(ori, SENSOR_PARTNERS)


def mean_rotation(a: torch.Tensor, b: torch.Tensor, to_rotmat) -> torch.Tensor:
    """(..., 3, 3) x 2 -> the rotation halfway between them on the shortest path.

    The orthonormal (polar) factor of (a + b) / 2 is exactly that midpoint (a^T b turns by theta about n;
    (I + a^T b) / 2 is the half turn times a symmetric positive factor while theta < 180 deg). Newton-Schulz
    iterations X <- X (3 I - X^T X) / 2 find it with matrix products only (the singular values of the mean,
    1 and cos(theta / 2), go to 1; ``POLAR_ITERATIONS`` reach float precision up to theta = 150 deg); the
    network's own 6D conversion ``to_rotmat`` then makes the result a proper rotation in every case."""
    x = (a + b) * 0.5
    eye3 = torch.eye(3, dtype=x.dtype, device=x.device)
    for _ in range(POLAR_ITERATIONS):
        x = x @ (3.0 * eye3 - x.transpose(-1, -2) @ x) * 0.5
    return to_rotmat(x[..., :, :2].reshape(x.shape[:-2] + (6,)))
