"""Hand-checked answers for the evaluation metrics."""

import math

import pytest
import torch

from fip_ros.core import metrics
from fip_ros.core.rotations import axis_angle_to_matrix


def _offsets():
    off = torch.zeros(24, 3, dtype=torch.float64)
    off[:, 1] = 0.1  # every bone 10 cm up, except the left arm chain laid out along x
    off[18] = torch.tensor([0.25, 0, 0])
    off[20] = torch.tensor([0.25, 0, 0])
    off[22] = torch.tensor([0.1, 0, 0])
    return off


def _identity(t=5):
    return torch.eye(3, dtype=torch.float64).expand(t, 24, 3, 3).clone()


def _rot_z(deg):
    return axis_angle_to_matrix(torch.tensor([0, 0, math.radians(deg)], dtype=torch.float64))


def test_ninety_degrees_on_left_shoulder():
    truth, pred = _identity(), _identity()
    pred[:, 16] = _rot_z(90)
    e = metrics.sequence_errors(pred, truth, _offsets())
    # Joints 16, 18, 20, 22 are all turned by 90 deg globally; only 16 is a SIP joint.
    assert e["sip_deg"] == pytest.approx(torch.full((5,), 22.5, dtype=torch.float64))
    assert e["angle24_deg"][0].item() == pytest.approx(4 * 90 / 24)
    assert e["angle15_deg"][0].item() == pytest.approx(2 * 90 / 15)  # 16 and 18 are estimated joints
    # Elbow, wrist, hand swing from +x to +y: distances 0.25, 0.5, 0.6 m times sqrt(2).
    expected_cm = (0.25 + 0.5 + 0.6) * math.sqrt(2) * 100 / 24
    assert e["pos_cm"][0].item() == pytest.approx(expected_cm)
    assert e["per_joint_pos_cm"][0, 20].item() == pytest.approx(50 * math.sqrt(2))


def test_ignored_joints_and_root_do_not_count():
    truth, pred = _identity(), _identity()
    pred[:, 0] = _rot_z(90)  # root orientation
    pred[:, 20] = _rot_z(45)  # wrist
    pred[:, 7] = _rot_z(30)  # ankle
    e = metrics.sequence_errors(pred, truth, _offsets())
    for k in ("sip_deg", "angle24_deg", "angle15_deg", "pos_cm"):
        assert e[k].abs().max().item() < 1e-4, k


def test_jitter_constant_offset_is_zero_and_cubic_is_known():
    t = torch.arange(20, dtype=torch.float64) / 60.0
    const = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64).expand(20, 2, 3)
    assert metrics.jitter(const, 60).abs().max().item() == 0.0
    a = 1000.0  # p = a t^3 -> third derivative 6a = 6000 m/s^3 = 6 km/s^3, exact for finite differences
    cubic = torch.zeros(20, 1, 3, dtype=torch.float64)
    cubic[:, 0, 0] = a * t**3
    assert metrics.jitter(cubic, 60) == pytest.approx(torch.full((17, 1), 6.0, dtype=torch.float64))
    linear = cubic.clone()
    linear[:, 0, 0] = 3.0 * t
    assert metrics.jitter(linear, 60).abs().max().item() < 1e-9


def test_summary_is_frame_weighted_and_omits_mesh_without_smpl():
    truth = _identity(4)
    pred_a, pred_b = _identity(4), _identity(8)
    pred_b[:, 16] = _rot_z(90)
    s = metrics.summarize([metrics.sequence_errors(pred_a, truth, _offsets()),
                           metrics.sequence_errors(pred_b, _identity(8), _offsets())])
    assert s["sip_deg"] == pytest.approx(22.5 * 8 / 12)
    assert "mesh_cm" not in s
    assert len(s["per_joint_angle_deg"]) == 24


def test_upper_arm_error_by_true_elevation():
    """Left upper arm out at shoulder height (90 deg), the right one straight up (this skeleton's +y bone):
    the prediction drops the left arm to hanging (90 deg off) and keeps the right one."""
    truth, pred = _identity(4), _identity(4)
    pred[:, 16] = _rot_z(-90)  # +x to -y: hanging
    e = metrics.sequence_errors(pred, truth, _offsets())
    assert e["arm_elevation_deg"] == pytest.approx(torch.tensor([[90.0, 180.0]] * 4, dtype=torch.float64))
    assert e["upper_arm_error_deg"] == pytest.approx(torch.tensor([[90.0, 0.0]] * 4, dtype=torch.float64))
    hanging = metrics.sequence_errors(truth, pred, _offsets())  # roles swapped: the true left arm hangs
    rows = metrics.summarize([e, hanging])["per_arm_elevation"]
    assert [(r["from_deg"], r["to_deg"]) for r in rows] == [(0.0, 45.0), (45.0, 100.0), (100.0, 180.0)]
    assert [r["share"] for r in rows] == pytest.approx([0.25, 0.25, 0.5])
    assert [r["error_deg"] for r in rows] == pytest.approx([90.0, 90.0, 0.0])
    assert metrics.summarize([e])["per_arm_elevation"][0]["error_deg"] is None  # no arm hangs in e
    assert "per_arm_elevation" not in metrics.scalars(metrics.summarize([e]))
