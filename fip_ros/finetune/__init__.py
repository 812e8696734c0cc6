"""Self-supervised, physics-informed fine-tuning of FIP on unlabelled IMU recordings (SSPINNpose idea):
the body dynamics (``fip_ros.physics``) applied to the network (``fip_ros.fip``); see docs/physics.md."""
