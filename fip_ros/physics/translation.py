"""Global root translation by stance-foot anchoring, causal (one frame in, one position out).

FIP estimates no translation. Given the root-relative joint positions (world-oriented), the root moves so
that the sole points in contact stay where they were; the vertical position puts the lowest sole on the
floor (y = 0). Contact probabilities (low and slow relative to the lowest point) weight the anchors, so the
hand-over between feet is smooth; without confident contact the root keeps its last horizontal velocity.
Limit: the lowest sole is taken as on the floor, so flight phases (running, jumps) and stairs are not seen.
"""

import torch

from fip_ros.physics.contact import foot_probability, lowest_sole, point_probability, sole_points

SOFTMIN_SCALE = 0.01  # m; soft minimum over the sole heights, smooth when the lowest point changes
VELOCITY_SMOOTHING = 0.3  # EMA weight of the newest root velocity (kept for frames without contact)


class StanceTranslation:
    """Streaming translation estimator; call :meth:`step` once per frame."""

    def __init__(self, height: float, fps: float = 60.0):
        self.height, self.fps = float(height), float(fps)
        self.reset()

    def reset(self):
        self.prev_pts = None
        self.root = torch.zeros(3, dtype=torch.float64)
        self.vel = torch.zeros(3, dtype=torch.float64)

    def step(self, rel_joint_pos: torch.Tensor):
        """rel_joint_pos (24,3): joints minus the root, world axes. Returns (root (3,), foot contact (2,))."""
        pts = sole_points(rel_joint_pos.to(torch.float64), self.height)
        lowest, ground = lowest_sole(pts, SOFTMIN_SCALE)
        rel_step = torch.zeros_like(pts) if self.prev_pts is None else pts - self.prev_pts
        height = pts[:, 1] - ground
        # World speed of each sole point under the current root velocity: a point keeps (or gains) contact
        # only while it is still in the world frame, so a swing heel that reaches the floor still gliding
        # forward (mocap heel strikes: ~1 m/s for ~0.1 s) is not anchored before it stops.
        p_world = point_probability(height, (rel_step * self.fps + self.vel).norm(dim=-1))
        # Fallback when no point is still under that velocity (start-up, a wrong velocity): the lowest point
        # is the one on the ground, speeds relative to it (needs no root velocity, cannot lock out).
        p_low = point_probability(height, ((rel_step - (lowest[:, None] * rel_step).sum(0)) * self.fps)
                                  .norm(dim=-1))
        p = p_world + (1.0 - p_world.sum().clamp(max=1.0)) * p_low
        total = p.sum()
        anchored = -(p[:, None] * rel_step).sum(0) / total.clamp_min(1e-6)
        trust = total.clamp(max=1.0)
        root = self.root + trust * anchored + (1.0 - trust) * self.vel / self.fps
        root[1] = -ground
        self.vel = (1 - VELOCITY_SMOOTHING) * self.vel + VELOCITY_SMOOTHING * (root - self.root) * self.fps
        self.vel[1] = 0.0
        self.root, self.prev_pts = root, pts
        return root.clone(), foot_probability(p)


def estimate_translation(rel_joint_pos: torch.Tensor, height: float, fps: float = 60.0):
    """Offline convenience over :class:`StanceTranslation`: (T,24,3) -> root (T,3), foot contact (T,2)."""
    est = StanceTranslation(height, fps)
    out = [est.step(frame) for frame in rel_joint_pos]
    return torch.stack([o[0] for o in out]), torch.stack([o[1] for o in out])
