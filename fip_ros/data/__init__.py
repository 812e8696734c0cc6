"""Datasets: mocap parsers (BVH, ASF/AMC), retargeting to SMPL-24, loaders (AMASS, DIP-IMU, TotalCapture)."""
