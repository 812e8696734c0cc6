"""T-pose regressor: body measurements -> the subject's 19 skeleton offsets."""

import torch
from torch import nn

from fip_ros.core.smpl_tree import SKELETON_JOINTS
from fip_ros.fip.layers import mlp


class TPoseRegressor(nn.Module):
    """Sex embedding + [height, arm_length, leg_length] (m) -> MLP -> (B, 19, 3) offsets.

    Rows follow ``SKELETON_JOINTS``; row 0 (left hip) is relative to the root, the others to their parent.
    """

    def __init__(self, cfg):
        super().__init__()
        self.sex = nn.Embedding(2, cfg.sex_embed)
        self.net = mlp(
            cfg.sex_embed + 3, cfg.tpose_hidden, 3 * len(SKELETON_JOINTS), cfg.leaky_slope, cfg.dropout
        )

    def forward(self, body: torch.Tensor) -> torch.Tensor:
        """body (B, 4) = [sex (female 0, male 1), height, arm_length, leg_length]."""
        sex = self.sex(body[:, 0].round().clamp(0, 1).long())
        out = self.net(torch.cat([sex, body[:, 1:]], dim=-1))
        return out.reshape(body.shape[0], len(SKELETON_JOINTS), 3)
