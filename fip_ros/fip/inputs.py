"""FIP's root-relative input normalisation.

Leaf sensors (0..4) are expressed in the root (pelvis) sensor's frame: ``a = R_root^T (a_i - a_root) / 30``,
``R = R_root^T R_i``. The root sensor's own orientation is not a network input: it becomes joint 0's global
rotation when the output pose is assembled.
"""

import torch

from fip_ros.core.smpl_tree import LEAF_SENSORS, ROOT_SENSOR

ACC_SCALE = 30.0  # m/s^2; brings accelerations to roughly unit range


def normalize(acc: torch.Tensor, ori: torch.Tensor):
    """acc (..., 6, 3), ori (..., 6, 3, 3) -> (features (..., 5, 12), leaf_rot (..., 5, 3, 3),
    root_rot (..., 3, 3)).

    Features per leaf sensor: 3 root-frame accelerations then the 9 entries of the root-relative rotation.
    """
    leaf = list(LEAF_SENSORS)
    root_rot = ori[..., ROOT_SENSOR, :, :]
    root_t = root_rot.unsqueeze(-3).transpose(-1, -2)
    rel_acc = acc[..., leaf, :] - acc[..., ROOT_SENSOR : ROOT_SENSOR + 1, :]
    leaf_acc = (root_t @ rel_acc.unsqueeze(-1)).squeeze(-1) / ACC_SCALE
    leaf_rot = root_t @ ori[..., leaf, :, :]
    feats = torch.cat([leaf_acc, leaf_rot.flatten(-2)], dim=-1)
    return feats, leaf_rot, root_rot
