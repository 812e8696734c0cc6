"""The two world frames and the quaternion convention every layer shares (NumPy only, no torch, no ROS).

SMPL's canonical frame is y up, x to the body's left, z forward; ROS (REP 103) is x forward, y left, z up:
``p_ros = M_SMPL_TO_ROS @ p_smpl`` (SMPL z -> ROS x, SMPL x -> ROS y, SMPL y -> ROS z). Quaternions are
(x, y, z, w), as in ROS and roma.
"""

import numpy as np

M_SMPL_TO_ROS = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
M_SMPL_TO_ROS.setflags(write=False)
# Largest | |q| - 1 | of a quaternion accepted from outside (what tf2 listeners accept).
QUAT_TOLERANCE = 1e-2
