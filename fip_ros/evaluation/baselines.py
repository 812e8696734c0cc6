"""Reference predictors scored beside FIP: a static calibration pose and FIP with altered body input."""

import torch

from fip_ros.core.calibration import calibration_pose_local_rot


def static_pose(truth_local: torch.Tensor, pose: str = "tpose") -> torch.Tensor:
    """The calibration pose held for every frame (T, 24, 3, 3); the root is copied from the truth, though the
    protocol ignores it anyway."""
    pose_rot = torch.as_tensor(calibration_pose_local_rot(pose), dtype=truth_local.dtype)
    out = pose_rot.expand_as(truth_local).clone()
    out[:, 0] = truth_local[:, 0]
    return out


def average_body(body: torch.Tensor, mean_body: torch.Tensor) -> torch.Tensor:
    """The subject's sex with the average measurements (height, arm, leg) of the training subjects."""
    return torch.cat([body[:1], mean_body[1:]])


def zero_body(body: torch.Tensor) -> torch.Tensor:
    """All-zero body input: what the network makes of no shape information at all. The released FIP
    regresses the skeleton from the body input, so this is an out-of-range probe, not the paper's retrained
    'no shape input' ablation."""
    return torch.zeros_like(body)
