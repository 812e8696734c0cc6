"""Body parameters and the parametric skeleton: known values, round trips, validation messages."""

import math

import pytest
import torch

from fip_ros.core.body_model import (
    ARM_CHAINS,
    DE_LEVA_LENGTHS_MM,
    DEFAULT_OFFSET_FRACTIONS,
    SEX_BONE_FACTORS,
    body_dict,
    body_vector,
    body_vector_from_offsets,
    default_offsets,
    measure_offsets,
    offsets_for_body,
    tpose_positions,
    validate_body,
)

BODY = {"sex": "female", "height": 1.62, "arm_length": 0.49, "leg_length": 0.78}


def test_body_vector_round_trip():
    vec = body_vector(BODY)
    assert vec.dtype == torch.float32 and vec.tolist() == pytest.approx([0.0, 1.62, 0.49, 0.78])
    assert body_dict(vec) == pytest.approx(BODY) and body_dict(vec)["sex"] == "female"
    assert body_dict(body_vector({**BODY, "sex": "Male"}))["sex"] == "male"


def test_default_skeleton_t_pose():
    pos = tpose_positions(default_offsets(1.75))
    for shoulder, elbow, wrist, hand in ARM_CHAINS:  # arms along +-x at shoulder height
        assert torch.allclose(pos[[elbow, wrist, hand], 1:], pos[shoulder, 1:].expand(3, 2))
    assert pos[20, 0] > pos[16, 0] > 0 > pos[17, 0] > pos[21, 0]
    # Upper arm keeps its A-pose length: |(0.199, 0.685, 0.012) - (0.102, 0.794, 0.012)| * H.
    assert float((pos[18] - pos[16]).norm()) == pytest.approx(1.75 * math.hypot(0.097, 0.109), rel=1e-6)
    m = measure_offsets(default_offsets(1.75))
    assert float(m["height"]) == pytest.approx(1.75, rel=1e-6)


@pytest.mark.parametrize("body", [
    BODY, {"sex": "male", "height": 1.95, "arm_length": 0.66, "leg_length": 1.02},
    {"sex": "male", "height": 1.5, "arm_length": 0.42, "leg_length": 0.62},
])
def test_measure_offsets_round_trip(body):
    m = measure_offsets(offsets_for_body(body))
    for key in ("height", "arm_length", "leg_length"):
        assert float(m[key]) == pytest.approx(body[key], abs=1e-5)


def test_batched_and_differentiable():
    vec = torch.tensor([[1, 1.8, 0.55, 0.86], [0, 1.6, 0.47, 0.75]], dtype=torch.float64, requires_grad=True)
    off = offsets_for_body(vec)
    assert off.shape == (2, 24, 3)
    back = body_vector_from_offsets(off, vec[:, 0].detach())
    assert torch.allclose(back, vec, atol=1e-9)
    back[:, 2].sum().backward()  # d(measured arm)/d(arm) = 1, independent of height and legs
    assert torch.allclose(vec.grad[:, 2], torch.ones(2, dtype=torch.float64))
    assert torch.allclose(vec.grad[:, 1], torch.zeros(2, dtype=torch.float64), atol=1e-9)


@pytest.mark.parametrize("change, message", [
    ({"height": 175.0}, "centimetres"), ({"height": float("nan")}, "finite"), ({"sex": "x"}, "sex"),
    ({"arm_length": 0.9}, "of the height"), ({"leg_length": 0.5}, "of the height"),
    ({"arm_length": "long"}, "number"), ({"leg_length": -1.0}, "outside"),
])
def test_validate_body_rejects(change, message):
    with pytest.raises(ValueError, match=message):
        validate_body({**BODY, **change})
    with pytest.raises(ValueError, match="missing"):
        validate_body({"sex": "male"})


def test_de_leva_trunk_parts_sum_to_the_trunk():
    """Digit check: de Leva's upper + mid + lower trunk equal his whole trunk (531.9 / 529.3 mm)."""
    for sex, trunk in (("male", 531.9), ("female", 529.3)):
        t = DE_LEVA_LENGTHS_MM[sex]
        assert t["upper_trunk"] + t["mid_trunk"] + t["lower_trunk"] == pytest.approx(trunk, abs=0.05)


@pytest.mark.parametrize("height", [1.50, 1.65, 1.80, 1.95])
def test_female_skeleton_keeps_the_body_and_takes_de_leva_proportions(height):
    body = {"sex": "female", "height": height, "arm_length": 0.33 * height, "leg_length": 0.47 * height}
    female = offsets_for_body(body).double()
    male = offsets_for_body({**body, "sex": "male"}).double()
    for off in (female, male):  # both sexes measure exactly as the body given
        m = measure_offsets(off)
        for key in ("height", "arm_length", "leg_length"):
            assert float(m[key]) == pytest.approx(body[key], abs=1e-5)
    t = DE_LEVA_LENGTHS_MM
    ratio = {s: float(o[4].norm() / o[7].norm()) for s, o in (("female", female), ("male", male))}
    # thigh / shank of a woman relative to a man's: de Leva's (368.5/432.3) / (422.2/434.0) = 0.876
    expected = (t["female"]["thigh"] / t["female"]["shank"]) / (t["male"]["thigh"] / t["male"]["shank"])
    assert ratio["female"] / ratio["male"] == pytest.approx(expected, rel=1e-6)
    assert float(female[12].norm() / female[3].norm()) < float(male[12].norm() / male[3].norm())  # trunk
    assert float(female[22].norm()) < float(male[22].norm())  # smaller hands


def test_sex_code_interpolates_and_male_is_the_default_table():
    assert torch.equal(SEX_BONE_FACTORS["male"], torch.ones(24, dtype=torch.float64))
    male = default_offsets(1.7, "male").double()
    assert torch.allclose(male, DEFAULT_OFFSET_FRACTIONS * 1.7, atol=1e-6)
    half = offsets_for_body(torch.tensor([0.5, 1.7, 0.56, 0.80], dtype=torch.float64))
    ends = [offsets_for_body(torch.tensor([c, 1.7, 0.56, 0.80], dtype=torch.float64)) for c in (0.0, 1.0)]
    assert float(half[4].norm()) == pytest.approx(float(ends[0][4].norm() + ends[1][4].norm()) / 2, rel=2e-3)
