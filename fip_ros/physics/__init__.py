"""Body dynamics on the SMPL-24 tree: segments, inverse dynamics, contacts, translation, ground reactions,
virtual IMUs and self-supervised fine-tuning (see docs/physics.md). Torch only; no ROS imports."""
