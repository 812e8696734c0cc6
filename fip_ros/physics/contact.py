"""Foot contact probability from the height and speed of points on the soles (smooth, differentiable).

Each foot has two contact points: below the ankle joint (heel side) and below the SMPL foot joint (ball of the
foot), so heel strike, flat foot and push-off all keep one point anchored.
"""

import torch

# SMPL joints carrying the contact points: left ankle, left foot, right ankle, right foot.
CONTACT_JOINTS = (7, 10, 8, 11)
# Height of those joints above the sole in a standing T-pose, as fractions of body height (default skeleton).
SOLE_DEPTH = (0.042, 0.006, 0.042, 0.006)
HEIGHT_THRESHOLD = 0.04  # m above the floor, 50 % contact
HEIGHT_SCALE = 0.01  # m, sharpness
SPEED_THRESHOLD = 0.6  # m/s, 50 % contact
SPEED_SCALE = 0.15  # m/s


def sole_points(joint_pos: torch.Tensor, height) -> torch.Tensor:
    """(...,24,3) joint positions -> (...,4,3) points on the soles (y up)."""
    pts = joint_pos[..., list(CONTACT_JOINTS), :].clone()
    depth = torch.as_tensor(SOLE_DEPTH, dtype=pts.dtype) * torch.as_tensor(height, dtype=pts.dtype)[..., None]
    pts[..., 1] = pts[..., 1] - depth
    return pts


def point_probability(height_above_floor: torch.Tensor, speed: torch.Tensor) -> torch.Tensor:
    """Contact probability of sole points: low and slow."""
    low = torch.sigmoid((HEIGHT_THRESHOLD - height_above_floor) / HEIGHT_SCALE)
    slow = torch.sigmoid((SPEED_THRESHOLD - speed) / SPEED_SCALE)
    return low * slow


def foot_probability(point_prob: torch.Tensor) -> torch.Tensor:
    """(...,4) point probabilities -> (...,2) left/right foot: either of its two points in contact."""
    p = point_prob.reshape(*point_prob.shape[:-1], 2, 2)
    return 1.0 - (1.0 - p[..., 0]) * (1.0 - p[..., 1])


def lowest_sole(pts: torch.Tensor, scale: float = 0.01):
    """Soft-min weights (...,4) over the sole points and the floor height (...) they define."""
    weights = torch.softmax(-pts[..., 1] / scale, -1)
    return weights, (weights * pts[..., 1]).sum(-1)


def contact_from_trajectory(joint_pos: torch.Tensor, height, fps: float = 60.0, world_speed: bool = True):
    """Offline, differentiable: joint positions (T,...,24,3) -> point (T,...,4) and foot (T,...,2) contact
    probabilities and the floor height (T,...) under the lowest sole point.

    Heights are taken relative to the lowest sole point (a sloped or drifting floor does not matter); speeds
    are world speeds, or with ``world_speed=False`` relative to the lowest point (for root-relative poses).
    """
    pts = sole_points(joint_pos, height)
    weights, floor = lowest_sole(pts)
    vel = torch.gradient(pts, spacing=1.0 / fps, dim=0)[0]
    rel_vel = vel if world_speed else vel - (weights[..., None] * vel).sum(-2, keepdim=True)
    point = point_probability(pts[..., 1] - floor[..., None], rel_vel.norm(dim=-1))
    return point, foot_probability(point), floor
