"""Gravity in the SMPL frame and the specific-force <-> free-acceleration conversions.

An accelerometer measures specific force f = R^T (a - g) in its own frame, where a is the free (kinematic)
acceleration in the world and g the gravity vector; at rest it reads +9.81 m/s^2 *up*.
The functions take NumPy arrays or torch tensors (differentiable) and return the same kind; the module
imports no torch, so the torch-free runtime uses it too.
"""

import numpy as np

GRAVITY = 9.81  # m/s^2, the world's gravity everywhere in the method (synthesis, calibration, dynamics)
# Gravity in the global SMPL frame (y up).
GRAVITY_SMPL = (0.0, -GRAVITY, 0.0)
# m/s^2 per "g", the unit (standard gravity by definition): for devices and sensor ranges stated in g.
G_UNIT = 9.80665


def gravity_like(x):
    """Gravity vector (3,) of the array kind, dtype (and torch device) of ``x``."""
    if isinstance(x, np.ndarray):
        return np.asarray(GRAVITY_SMPL, dtype=x.dtype)
    return x.new_tensor(GRAVITY_SMPL)


def specific_force(acc_free_global, ori_sensor):
    """Global free acceleration (..., 3), sensor-to-world rotation (..., 3, 3) -> sensor-frame reading."""
    a = acc_free_global - gravity_like(acc_free_global)
    return (ori_sensor.mT @ a[..., None])[..., 0]


def free_acceleration(f_sensor, ori_sensor):
    """Inverse of :func:`specific_force`: (..., 3) sensor-frame specific force -> global free acceleration."""
    return (ori_sensor @ f_sensor[..., None])[..., 0] + gravity_like(f_sensor)
