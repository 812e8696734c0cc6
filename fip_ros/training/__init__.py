"""Training of the FIP network on motion clips with on-the-fly IMU synthesis and augmentation (fip-train)."""
