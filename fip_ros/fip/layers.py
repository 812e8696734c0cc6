"""Building blocks shared by the FIP components (export-friendly: plain ops only)."""

import torch
from torch import nn


def mlp(
    n_in: int, hidden, n_out: int, slope: float, dropout: float = 0.0, act_out: bool = False
) -> nn.Sequential:
    """Linear layers with LeakyReLU between them; dropout after the first hidden layer (as in the paper)."""
    layers, width = [], n_in
    for i, h in enumerate(hidden):
        layers += [nn.Linear(width, h), nn.LeakyReLU(slope)]
        if i == 0 and dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, n_out))
    if act_out:
        layers.append(nn.LeakyReLU(slope))
    return nn.Sequential(*layers)


def _levi_civita() -> torch.Tensor:
    e = torch.zeros(3, 3, 3)
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        e[j, k, i], e[k, j, i] = 1.0, -1.0
    return e.reshape(9, 3)


_LEVI_CIVITA = _levi_civita()  # (x outer y).flatten() @ this = x cross y


def sixd_to_rotmat(d6: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3), same convention as fip_ros.core.rotations (columns 0, 1 stored row-major).

    Written with plain ops instead of roma / torch.cross so that TorchScript and ONNX export it unchanged.
    """
    m = d6.reshape(d6.shape[:-1] + (3, 2))
    a, b = m[..., 0], m[..., 1]
    x = a / torch.sqrt((a * a).sum(-1, keepdim=True) + 1e-12)
    y = b - (x * b).sum(-1, keepdim=True) * x
    y = y / torch.sqrt((y * y).sum(-1, keepdim=True) + 1e-12)
    # Cross product as (outer product) @ Levi-Civita: three ops instead of six gathers and a stack.
    outer = (x.unsqueeze(-1) * y.unsqueeze(-2)).reshape(x.shape[:-1] + (9,))
    z = outer @ _LEVI_CIVITA.to(outer)
    return torch.stack([x, y, z], dim=-1)
