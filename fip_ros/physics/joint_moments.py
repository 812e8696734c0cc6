"""Lower-limb joint moments by anatomical axis, as gait labs report them (N m, positive as named).

Each is a component of the net moment (parent on child) in the child segment's axes (x to the body's left,
y along the segment, z forward in the T-pose): sagittal about x, frontal about z, transverse about y; the
signs mirror between the legs so that every name means the same on both sides. These are the quantities the
gait-lab validation checks against OpenSim (fip_ros.physics.gait_lab) and the dynamics node publishes.
"""

import torch

# name, SMPL body (the child segment), axis (0 x, 1 y, 2 z), sign.
ANATOMICAL = (
    ("left_hip_extension", 1, 0, 1.0), ("right_hip_extension", 2, 0, 1.0),
    ("left_hip_abduction", 1, 2, 1.0), ("right_hip_abduction", 2, 2, -1.0),
    ("left_hip_internal_rotation", 1, 1, -1.0), ("right_hip_internal_rotation", 2, 1, 1.0),
    ("left_knee_extension", 4, 0, -1.0), ("right_knee_extension", 5, 0, -1.0),
    ("left_ankle_plantarflexion", 7, 0, 1.0), ("right_ankle_plantarflexion", 8, 0, 1.0),
    ("left_ankle_inversion", 7, 2, -1.0), ("right_ankle_inversion", 8, 2, 1.0),
)
NAMES = tuple(name for name, *_ in ANATOMICAL)


def anatomical_moments(moments_local: torch.Tensor) -> torch.Tensor:
    """(..., 24, 3) moments in the child segments' axes -> (..., len(NAMES)) in :data:`NAMES` order."""
    return torch.stack([sign * moments_local[..., body, axis] for _, body, axis, sign in ANATOMICAL], -1)
