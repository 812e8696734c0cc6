"""Upper- and lower-body RNNs: leaf positions/rotations + body embedding -> skeleton node positions."""

import torch
from torch import nn

from fip_ros.core.smpl_tree import LOWER_BODY_JOINTS, SKELETON_JOINTS, UPPER_BODY_JOINTS
from fip_ros.fip.layers import mlp

UPPER_SENSORS = (0, 1, 4)  # wrists and head
LOWER_SENSORS = (2, 3)  # knees


class BodyRNN(nn.Module):
    """[leaf positions, leaf rotations, body embedding] -> MLP -> LSTM -> MLP -> node positions.

    ``sensors``: the leaf sensors it reads; ``joints``: the SMPL joints whose root-relative positions (root
    frame) it outputs. The body embedding is computed once per body from the regressed skeleton (``embed``).
    """

    def __init__(self, cfg, sensors, joints):
        super().__init__()
        self.sensors, self.joints = tuple(sensors), tuple(joints)
        self.layers, self.hidden = cfg.body_layers, cfg.body_lstm
        self.embed_net = mlp(3 * len(SKELETON_JOINTS), (), cfg.body_embed, cfg.leaky_slope, act_out=True)
        self.inp = mlp(
            12 * len(sensors) + cfg.body_embed, cfg.body_in, cfg.body_lstm, cfg.leaky_slope, act_out=True
        )
        self.lstm = nn.LSTM(cfg.body_lstm, cfg.body_lstm, cfg.body_layers, batch_first=True)
        self.out = mlp(cfg.body_lstm, cfg.body_out, 3 * len(joints), cfg.leaky_slope)

    def zero_state(self, batch: int, device=None):
        z = torch.zeros(self.layers, batch, self.hidden, device=device)
        return z, z.clone()

    def embed(self, skeleton: torch.Tensor) -> torch.Tensor:
        """(B, 19, 3) -> (B, body_embed)."""
        return self.embed_net(skeleton.reshape(skeleton.shape[0], -1))

    def forward(self, leaf_pos, leaf_rot, emb, h, c):
        """leaf_pos (B, T, 5, 3), leaf_rot (B, T, 5, 3, 3), emb (B, E) -> (nodes (B, T, J, 3), h, c)."""
        b, t = leaf_pos.shape[0], leaf_pos.shape[1]
        idx = list(self.sensors)
        # MLPs on 2-D rows (one fused Gemm per layer in exported graphs), the LSTM on (B, T, H).
        x = torch.cat(
            [
                leaf_pos[:, :, idx].reshape(b * t, -1),
                leaf_rot[:, :, idx].reshape(b * t, -1),
                emb.unsqueeze(1).expand(b, t, emb.shape[-1]).reshape(b * t, -1),
            ],
            dim=-1,
        )
        y, (h, c) = self.lstm(self.inp(x).reshape(b, t, self.hidden), (h, c))
        return self.out(y.reshape(b * t, self.hidden)).reshape(b, t, len(self.joints), 3), h, c


def upper_body_rnn(cfg) -> BodyRNN:
    return BodyRNN(cfg, UPPER_SENSORS, UPPER_BODY_JOINTS)


def lower_body_rnn(cfg) -> BodyRNN:
    return BodyRNN(cfg, LOWER_SENSORS, LOWER_BODY_JOINTS)
