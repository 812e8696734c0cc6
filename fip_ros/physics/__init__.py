"""Rigid-body dynamics on the SMPL-24 tree: segments, inverse dynamics, contacts, translation, ground
reactions, virtual IMUs and the streaming DynamicsEstimator (docs/physics.md). Torch only; no ROS imports."""
