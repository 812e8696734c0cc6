"""Leaf regressor: initial pose + skeleton -> initial positions of the 5 leaf sensors' joints."""

import torch
from torch import nn

from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, LEAF_SENSORS, SKELETON_JOINTS
from fip_ros.fip.layers import mlp


class LeafRegressor(nn.Module):
    """(B, 15, 3, 3) root-relative global rotations + (B, 19, 3) skeleton -> (B, 5, 3) leaf positions.

    Positions are root-relative, in the root (pelvis) frame, in sensor order (wrists, knees, head).
    """

    def __init__(self, cfg):
        super().__init__()
        n_in = 9 * len(ESTIMATED_JOINTS) + 3 * len(SKELETON_JOINTS)
        self.net = mlp(n_in, cfg.leaf_hidden, 3 * len(LEAF_SENSORS), cfg.leaky_slope, cfg.dropout)

    def forward(self, init_rot: torch.Tensor, skeleton: torch.Tensor) -> torch.Tensor:
        b = init_rot.shape[0]
        out = self.net(torch.cat([init_rot.reshape(b, -1), skeleton.reshape(b, -1)], dim=-1))
        return out.reshape(b, len(LEAF_SENSORS), 3)
