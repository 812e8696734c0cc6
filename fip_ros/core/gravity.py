"""Gravity in the SMPL frame and the specific-force <-> free-acceleration conversions.

An accelerometer measures specific force f = R^T (a - g) in its own frame, where a is the free (kinematic)
acceleration in the world and g the gravity vector; at rest it reads +9.81 m/s^2 *up*.
"""

import torch

GRAVITY = 9.81
# Gravity in the global SMPL frame (y up).
GRAVITY_SMPL = (0.0, -GRAVITY, 0.0)


def gravity_like(x: torch.Tensor) -> torch.Tensor:
    """Gravity vector (3,) with the dtype and device of ``x``."""
    return torch.tensor(GRAVITY_SMPL, dtype=x.dtype, device=x.device)


def specific_force(acc_free_global: torch.Tensor, ori_sensor: torch.Tensor) -> torch.Tensor:
    """Global free acceleration (..., 3), sensor-to-world rotation (..., 3, 3) -> sensor-frame reading."""
    a = acc_free_global - gravity_like(acc_free_global)
    return (ori_sensor.transpose(-1, -2) @ a[..., None])[..., 0]


def free_acceleration(f_sensor: torch.Tensor, ori_sensor: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`specific_force`: (..., 3) sensor-frame specific force -> global free acceleration."""
    return (ori_sensor @ f_sensor[..., None])[..., 0] + gravity_like(f_sensor)
