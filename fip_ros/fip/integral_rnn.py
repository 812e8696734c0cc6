"""Shared integral RNN: one network for all 5 leaf sensors (sensors folded into the batch)."""

import torch
from torch import nn

from fip_ros.fip.layers import mlp

N_LEAF = 5


class IntegralRNN(nn.Module):
    """Per sensor 12 features -> MLP -> LSTM -> MLP -> 3: displacement from the initial leaf position.

    Sharing weights across sensors is the paper's design (an unshared network was 12 % worse).
    """

    def __init__(self, cfg):
        super().__init__()
        self.layers, self.hidden = cfg.integral_layers, cfg.integral_lstm
        self.inp = mlp(12, cfg.integral_in, cfg.integral_lstm, cfg.leaky_slope, act_out=True)
        self.lstm = nn.LSTM(cfg.integral_lstm, cfg.integral_lstm, cfg.integral_layers, batch_first=True)
        self.out = mlp(cfg.integral_lstm, cfg.integral_out, 3, cfg.leaky_slope)

    def zero_state(self, batch: int, device=None):
        """(h, c), each (layers, batch * 5, hidden); batch row b, sensor s sits at b * 5 + s."""
        z = torch.zeros(self.layers, batch * N_LEAF, self.hidden, device=device)
        return z, z.clone()

    def forward(self, feats: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        """feats (B, T, 5, 12) -> (displacement (B, T, 5, 3), h, c)."""
        b, t = feats.shape[0], feats.shape[1]
        # MLPs on 2-D rows (one fused Gemm per layer in exported graphs), the LSTM on (B * 5, T, H).
        x = self.inp(feats.transpose(1, 2).reshape(b * N_LEAF * t, 12))
        y, (h, c) = self.lstm(x.reshape(b * N_LEAF, t, self.hidden), (h, c))
        return self.out(y.reshape(b * N_LEAF * t, self.hidden)).reshape(b, N_LEAF, t, 3).transpose(1, 2), h, c
