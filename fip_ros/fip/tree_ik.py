"""Tree IK solver: per-level MLPs from node positions to root-relative global joint rotations."""

import torch
from torch import nn

from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, SKELETON_JOINTS
from fip_ros.fip.layers import mlp, sixd_to_rotmat

_IDENTITY_6D = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


class TreeIK(nn.Module):
    """Levels solved in order (lower body first, then upper body); each level's MLP sees the skeleton
    offsets (57), node positions (57), leaf rotations (45) and the 6D outputs of all earlier levels.

    Outputs are 6D around identity (the identity 6D is added to the MLP output so an untrained level
    starts at the T-pose) and converted to (..., 15, 3, 3) in ``ESTIMATED_JOINTS`` order.
    """

    def __init__(self, cfg):
        super().__init__()
        self.levels = tuple(tuple(lv) for lv in cfg.lower_levels + cfg.upper_levels)
        order = [j for lv in self.levels for j in lv]
        if sorted(order) != sorted(ESTIMATED_JOINTS):
            raise ValueError(f"tree IK levels {self.levels} must cover exactly {ESTIMATED_JOINTS}")
        base = 3 * len(SKELETON_JOINTS) * 2 + 45
        nets, done = [], 0
        for lv in self.levels:
            nets.append(mlp(base + 6 * done, cfg.ik_hidden, 6 * len(lv), cfg.leaky_slope))
            done += len(lv)
        self.nets = nn.ModuleList(nets)
        self.register_buffer(
            "perm", torch.tensor([order.index(j) for j in ESTIMATED_JOINTS]), persistent=False
        )
        self.register_buffer("ident", torch.tensor(_IDENTITY_6D), persistent=False)

    def forward(self, skeleton: torch.Tensor, nodes: torch.Tensor, leaf_rot: torch.Tensor):
        """skeleton (B, 19, 3), nodes (B, T, 19, 3), leaf_rot (B, T, 5, 3, 3) -> (6D (B, T, 15, 6),
        rotations (B, T, 15, 3, 3)), root-relative global rotations of ``ESTIMATED_JOINTS``."""
        b, t = nodes.shape[0], nodes.shape[1]
        skel = skeleton.reshape(b, 1, -1).expand(b, t, skeleton.shape[1] * 3).reshape(b * t, -1)
        feats = [torch.cat([skel, nodes.reshape(b * t, -1), leaf_rot.reshape(b * t, -1)], dim=-1)]
        for net in self.nets:  # 2-D rows: one fused Gemm per layer in exported graphs
            feats.append(net(torch.cat(feats, dim=-1)))
        d6 = torch.cat(feats[1:], dim=-1).reshape(b, t, -1, 6)[:, :, self.perm] + self.ident
        return d6, sixd_to_rotmat(d6)
