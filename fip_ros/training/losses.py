"""Training losses of the FIP network (our own design: the paper's training losses are not public).

All position terms are mean Euclidean distances in metres and the rotation term is a chordal distance
(about sqrt(2) x the angle in radians for small errors), so every term is an error in physical units and
the weights below say how much each unit is worth.
"""

from dataclasses import asdict, dataclass

import torch

from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, LEAF_JOINTS, SKELETON_JOINTS

# Feet and hands are placed by the model from mean proportions, not regressed: not supervised.
SUPERVISED_JOINTS = [j for j in range(24) if j not in (10, 11, 22, 23)]


@dataclass(frozen=True)
class LossWeights:
    # Skeleton offsets: a per-subject constant that every later stage consumes (leaf regressor, IK); the
    # paper's ablation loses 8 % position accuracy without it. Offsets are a few cm: weighted up.
    skeleton: float = 2.0
    # Leaf positions: output of the integral RNN, the only stage that sees accelerations; supervised directly
    # so that the integrator learns displacement, not whatever helps the IK.
    leaf: float = 1.0
    # Node (19 joint) positions from the upper/lower RNNs: the IK's input.
    nodes: float = 1.0
    # Rotations: the end product; positions cannot see bone twist. 0.25 per chordal unit makes a 10-degree
    # error cost about as much as a 6 cm position error.
    rot: float = 0.25
    # Joint positions after FK of the predicted rotations on the predicted skeleton: ties rotations to the
    # position metric we report and penalises error accumulation down the chains.
    joints: float = 1.0


def targets_from_kinematics(global_rot: torch.Tensor, joints: torch.Tensor, offsets: torch.Tensor) -> dict:
    """Ground truth in the root frame from the truth's forward kinematics: global rotations (B, T, 24, 3, 3)
    and joint positions (B, T, 24, 3) (any root position), offsets (B, 24, 3)."""
    root_t = global_rot[..., :1, :, :].transpose(-1, -2)
    glob = root_t @ global_rot
    pos = (root_t @ (joints - joints[..., :1, :])[..., None])[..., 0]
    return {
        "skeleton": offsets[:, list(SKELETON_JOINTS)],
        "leaf_pos": pos[..., list(LEAF_JOINTS), :],
        "nodes": pos[..., list(SKELETON_JOINTS), :],
        "rot15": glob[..., list(ESTIMATED_JOINTS), :, :],
        "joints": pos[..., SUPERVISED_JOINTS, :],
    }


def targets_from_pose(local_rot: torch.Tensor, offsets: torch.Tensor) -> dict:
    """Ground truth in the root frame from (B, T, 24, 3, 3) local rotations and (B, 24, 3) offsets."""
    return targets_from_kinematics(*forward_kinematics(local_rot, offsets[:, None]), offsets)


def root_frame_joints(out: dict) -> torch.Tensor:
    """The model's joints (pelvis at origin, global axes) turned into the root frame, like the targets."""
    root_t = out["local_rot"][..., 0, :, :].transpose(-1, -2).unsqueeze(-3)
    return (root_t @ out["joints"][..., SUPERVISED_JOINTS, :, None])[..., 0]


def _dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # eps keeps the gradient of the norm finite when a prediction is exact
    return ((a - b).square().sum(-1) + 1e-10).sqrt().mean()


def _chordal(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a - b).square().sum((-1, -2)) + 1e-10).sqrt().mean()


def fip_loss(out: dict, target: dict, weights: LossWeights = LossWeights()) -> tuple[torch.Tensor, dict]:
    """Weighted total and the unweighted parts (floats, for display)."""
    parts = {
        "skeleton": _dist(out["skeleton"], target["skeleton"]),
        "leaf": _dist(out["leaf_pos"], target["leaf_pos"]),
        "nodes": _dist(out["nodes"], target["nodes"]),
        "rot": _chordal(out["rot15"], target["rot15"]),
        "joints": _dist(root_frame_joints(out), target["joints"]),
    }
    w = asdict(weights)
    total = sum(w[k] * v for k, v in parts.items())
    return total, {k: float(v.detach()) for k, v in parts.items()}
