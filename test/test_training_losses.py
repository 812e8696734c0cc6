"""Losses: zero for a perfect prediction, known values for known errors."""

import math

import pytest
import torch
from helpers import fake_motion

from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.training.losses import fip_loss, targets_from_pose


def _perfect_output():
    m = fake_motion(20)
    rot, off = torch.as_tensor(m.local_rot)[None], torch.as_tensor(m.offsets)[None]
    tgt = targets_from_pose(rot, off)
    # the model reports joints pelvis-centred in global axes (the loss turns them into the root frame)
    joints = forward_kinematics(rot, off[:, None])[1]
    out = {k: tgt[k].clone() for k in ("skeleton", "leaf_pos", "nodes", "rot15")}
    out.update(local_rot=rot, joints=joints)
    return out, tgt


def test_perfect_prediction_has_zero_loss():
    out, tgt = _perfect_output()
    total, parts = fip_loss(out, tgt)
    assert total.item() < 1e-3
    assert all(v < 1e-4 for v in parts.values()), parts


def test_known_errors():
    out, tgt = _perfect_output()
    out["skeleton"] = out["skeleton"] + torch.tensor([0.03, 0.0, 0.04])  # 5 cm on every offset
    out["rot15"] = out["rot15"] @ axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2]))
    _, parts = fip_loss(out, tgt)
    assert parts["skeleton"] == pytest.approx(0.05, rel=1e-4)
    assert parts["rot"] == pytest.approx(2.0, rel=1e-4)  # chordal distance of 90 deg: 2 sqrt(2) sin(45 deg)
    assert parts["joints"] < 1e-4  # joints come from the model's own FK, untouched here
