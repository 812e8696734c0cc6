"""Output assembly: 15 root-relative rotations -> 24 SMPL local rotations and joint positions.

Vectorised (gathers, one batched matmul, a constant ancestor matrix) instead of a joint-by-joint loop, so
that one streaming step stays a few ops; equal to ``fip_ros.core.kinematics.forward_kinematics`` (tested).
"""

import torch

from fip_ros.core.body_model import DEFAULT_OFFSET_FRACTIONS
from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, NUM_JOINTS, PARENTS, SKELETON_JOINTS

# Feet and hands are not regressed: their offsets are the default skeleton's anthropometric ratios
# (fip_ros.core.body_model) times the subject's height. They only place the foot/hand points.
EXTREMITIES = (10, 11, 22, 23)
EXTREMITY_FRACTIONS = DEFAULT_OFFSET_FRACTIONS[list(EXTREMITIES)].float()


def _source_index():
    """Index of every joint's root-relative global rotation in [identity, rot15...] (ignored joints have
    identity local rotation, so they copy their parent's)."""
    src = [0] * NUM_JOINTS
    for j in range(1, NUM_JOINTS):
        src[j] = 1 + ESTIMATED_JOINTS.index(j) if j in ESTIMATED_JOINTS else src[PARENTS[j]]
    return src


def _ancestors():
    a = torch.zeros(NUM_JOINTS, NUM_JOINTS)
    for j in range(1, NUM_JOINTS):
        k = j
        while k > 0:
            a[j, k] = 1.0
            k = PARENTS[k]
    return a


SOURCE = _source_index()
PARENT_IDX = [max(p, 0) for p in PARENTS]


def full_offsets(skeleton: torch.Tensor, body: torch.Tensor) -> torch.Tensor:
    """(B, 19, 3) regressed offsets + (B, 4) body -> (B, 24, 3) offsets (row 0 zero, feet/hands: ratios)."""
    b = skeleton.shape[0]
    ext = EXTREMITY_FRACTIONS.to(skeleton).unsqueeze(0) * body[:, 1].reshape(b, 1, 1)
    rows = [skeleton.new_zeros(b, 1, 3), skeleton, ext]
    order = [0] + list(SKELETON_JOINTS) + list(EXTREMITIES)
    inv = [order.index(j) for j in range(NUM_JOINTS)]
    return torch.cat(rows, dim=1)[:, inv]


class Assembler(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("source", torch.tensor(SOURCE), persistent=False)
        self.register_buffer("parent", torch.tensor(PARENT_IDX[1:]), persistent=False)
        self.register_buffer("ancestors", _ancestors(), persistent=False)

    def forward(self, rot15: torch.Tensor, root_rot: torch.Tensor, offsets: torch.Tensor):
        """rot15 (..., 15, 3, 3), root_rot (..., 3, 3), offsets (B, 24, 3) with ... = (B, T)
        -> (local_rot (..., 24, 3, 3), joints (..., 24, 3)) pelvis at the origin, global SMPL axes."""
        eye = torch.eye(3, dtype=rot15.dtype, device=rot15.device).expand(rot15.shape[:-3] + (1, 3, 3))
        rel = torch.cat([eye, rot15], dim=-3)[..., self.source, :, :]  # root-relative globals (24)
        local = rel[..., self.parent, :, :].transpose(-1, -2) @ rel[..., 1:, :, :]
        local_rot = torch.cat([root_rot.unsqueeze(-3), local], dim=-3)
        glob = root_rot.unsqueeze(-3) @ rel[..., self.parent, :, :]  # parents' global rotations
        bones = (glob @ offsets[:, None, 1:, :, None]).squeeze(-1)  # (B, T, 23, 3)
        joints = self.ancestors[:, 1:] @ bones
        return local_rot, joints
