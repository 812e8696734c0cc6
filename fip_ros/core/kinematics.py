"""Forward kinematics on the SMPL tree (torch, batched over any leading dimensions)."""

import torch

from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, PARENTS


def local_to_global(local_rot: torch.Tensor, parents=PARENTS) -> torch.Tensor:
    """(..., J, 3, 3) local rotations -> global rotations (joint 0's local rotation is global)."""
    out = [local_rot[..., 0, :, :]]
    for j in range(1, len(parents)):
        out.append(out[parents[j]] @ local_rot[..., j, :, :])
    return torch.stack(out, dim=-3)


def global_to_local(global_rot: torch.Tensor, parents=PARENTS) -> torch.Tensor:
    parent_rot = global_rot[..., [max(p, 0) for p in parents], :, :]
    local = parent_rot.transpose(-1, -2) @ global_rot
    return torch.cat([global_rot[..., :1, :, :], local[..., 1:, :, :]], dim=-3)


def root_relative_rot15(local_rot: torch.Tensor) -> torch.Tensor:
    """(..., 24, 3, 3) local rotations -> (..., 15, 3, 3) root-relative global rotations of ESTIMATED_JOINTS
    (FIP's rotation output and initial-pose input)."""
    rel = local_rot.clone()
    rel[..., 0, :, :] = torch.eye(3, dtype=local_rot.dtype, device=local_rot.device)
    return local_to_global(rel)[..., list(ESTIMATED_JOINTS), :, :]


def forward_kinematics(local_rot: torch.Tensor, offsets: torch.Tensor, root_pos: torch.Tensor | None = None,
                       parents=PARENTS):
    """Global rotations and joint positions.

    local_rot: (..., J, 3, 3); offsets: (..., J, 3) T-pose offsets of each joint from its parent (metres,
    offsets[0] is ignored); root_pos: (..., 3) pelvis position, zeros when omitted.
    Returns (global_rot (..., J, 3, 3), positions (..., J, 3)).
    """
    glob = local_to_global(local_rot, parents)
    offsets = offsets.expand(*local_rot.shape[:-2], 3)
    zero = torch.zeros_like(offsets[..., 0, :])
    root = zero if root_pos is None else root_pos.expand_as(zero)
    pos = [root]
    for j in range(1, len(parents)):
        p = parents[j]
        pos.append(pos[p] + (glob[..., p, :, :] @ offsets[..., j, :, None])[..., 0])
    return glob, torch.stack(pos, dim=-2)


def offsets_from_positions(tpose_positions: torch.Tensor, parents=PARENTS) -> torch.Tensor:
    """T-pose joint positions (..., J, 3) -> parent-relative offsets (offsets[0] = root position)."""
    parent_pos = tpose_positions[..., [max(p, 0) for p in parents], :]
    off = tpose_positions - parent_pos
    off[..., 0, :] = tpose_positions[..., 0, :]
    return off
