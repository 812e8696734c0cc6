"""fip-eval's extra conditions: the no-shape method, corrupted IMUs, rescaled bodies, their report tables."""

import json

import pytest
import torch
from helpers import TINY, write_fake_dataset

from fip_ros.api import Model
from fip_ros.core.body_model import default_offsets, measure_offsets
from fip_ros.core.imu_synthesis import ImuCorruption
from fip_ros.evaluation import evaluate, report
from fip_ros.fip.checkpoint import load_checkpoint, save_checkpoint
from fip_ros.fip.config import get_config
from fip_ros.fip.model import FIP
from fip_ros.training import augment
from fip_ros.training.augment import AugmentConfig, rescale_body
from fip_ros.training.dataset import load_split


@pytest.fixture
def clip(tmp_path):
    return load_split(write_fake_dataset(tmp_path, n_train=1, frames=100), "test")[0]


def test_zero_corruption_reproduces_the_clean_imus(clip):
    acc, ori, _, _ = evaluate.clip_imu(clip, "tpose_start")
    c_acc, c_ori = evaluate.corrupted_imu(acc, ori, clip.name, ImuCorruption())
    assert torch.equal(c_acc, acc) and torch.equal(c_ori, ori)


def test_corruption_is_seeded_per_clip(clip):
    acc, ori, _, _ = evaluate.clip_imu(clip, "tpose_start")
    a1, o1 = evaluate.corrupted_imu(acc, ori, clip.name)
    a2, o2 = evaluate.corrupted_imu(acc, ori, clip.name)
    assert torch.equal(a1, a2) and torch.equal(o1, o2)  # same clip: the same errors on every run
    a3, o3 = evaluate.corrupted_imu(acc, ori, clip.name + "_other")
    assert not torch.allclose(a1, a3) and not torch.allclose(o1, o3)  # another clip: other errors
    assert not torch.allclose(a1, acc)
    # the seed is the crc32 of the name, independent of PYTHONHASHSEED
    assert evaluate.clip_generator("16_01").initial_seed() == 1717280274


def test_rescaled_clip_has_the_target_measurements(clip):
    before = measure_offsets(clip.offsets)
    for target in evaluate.SHAPE_BODIES.values():
        scaled = evaluate.rescaled_clip(clip, **target)
        m = measure_offsets(scaled.offsets)
        assert float(m["height"]) == pytest.approx(target["height"], abs=1e-4)
        # equal arm and leg factors keep the arm-to-leg proportion; the pelvis path follows the legs
        leg_ratio = float(m["leg_length"] / before["leg_length"])
        assert float(m["arm_length"] / before["arm_length"]) == pytest.approx(leg_ratio, abs=1e-4)
        assert torch.allclose(scaled.tran, clip.tran * leg_ratio, atol=1e-5)
        # the body vector given to FIP is measured from the rescaled skeleton, same sex
        expected = torch.stack([clip.body[0], m["height"], m["arm_length"], m["leg_length"]]).float()
        assert torch.allclose(scaled.body, expected, atol=1e-4)
        assert torch.equal(scaled.local_rot, clip.local_rot)


def test_rescale_body_known_answers():
    off = default_offsets(1.70).float()
    tran = torch.tensor([[0.0, 1.0, 2.0]])
    # no limb factors: the default skeleton is proportional to the height
    out, out_tran = rescale_body(off, tran, 1.55)
    assert torch.allclose(out, default_offsets(1.55).float(), atol=1e-5)
    assert torch.allclose(out_tran, tran * 1.55 / 1.70, atol=1e-5)
    # an arm factor alone changes the arm-to-leg proportion by exactly that factor
    m0, m = measure_offsets(off), measure_offsets(rescale_body(off, tran, 1.80, arm_scale=0.94)[0])
    assert float(m["height"]) == pytest.approx(1.80, abs=1e-4)
    proportion = (m["arm_length"] / m["leg_length"]) / (m0["arm_length"] / m0["leg_length"])
    assert float(proportion) == pytest.approx(0.94, abs=1e-4)


def test_scale_body_draws_leg_arm_height_sex_in_that_order():
    off, tran, cfg = default_offsets(1.70).float(), torch.zeros(1, 3), AugmentConfig()
    for seed in range(4):
        got = augment.scale_body(off, tran, cfg, torch.Generator().manual_seed(seed), 1.0)
        g = torch.Generator().manual_seed(seed)
        leg, arm, height = (augment._uniform(r, g) for r in (cfg.limb_scale, cfg.limb_scale, cfg.height))
        sex = 0.0 if float(torch.rand((), generator=g)) < cfg.female_p else 1.0
        assert got[2] == sex
        assert torch.equal(got[0], rescale_body(off, tran, height, arm, leg, 1.0, sex)[0])


def _weights(path, **cfg):
    torch.manual_seed(0)
    save_checkpoint(path, FIP(get_config({**TINY, **cfg})))
    return str(path)


def test_error_terms_split_the_test_preset_into_single_terms():
    terms = evaluate.error_terms()
    assert set(terms) == {"acc_noise_std", "acc_bias_std", "acc_bias_walk_std", "ori_noise_deg",
                          "heading_error_deg", "mount_rot_deg", "mount_pos_m", "drop_prob",
                          "heading_walk_deg", "calib_pose_deg"}
    clean = ImuCorruption()
    for name, cfg in terms.items():
        changed = {k for k in terms if getattr(cfg, k) != getattr(clean, k)}
        assert changed == {name} and getattr(cfg, name) == getattr(evaluate.TEST_CORRUPTION, name)
    assert list(evaluate.error_terms(ImuCorruption(heading_error_deg=3.0))) == ["heading_error_deg"]


def test_error_terms_table_gives_each_terms_cost_over_clean():
    md = report.error_terms_table({"heading_error_deg": {"sip_deg": 12.5, "pos_cm": 6.0, "jitter_km_s3": 0.8},
                                   "drop_prob": {"sip_deg": 9.75, "pos_cm": 5.5, "jitter_km_s3": 2.25}},
                                  {"heading_error_deg": 5.0, "drop_prob": 0.005},
                                  {"sip_deg": 10.0, "pos_cm": 5.5})
    assert "| heading error | 5° | 12.50 | 6.00 | 0.80 | +2.50 | +0.50 |" in md
    assert "| dropped samples | 0.5 % | 9.75 | 5.50 | 2.25 | −0.25 | +0.00 |" in md


def test_no_shape_method_is_absent_without_the_option(tmp_path):
    data = write_fake_dataset(tmp_path / "data", n_train=1, frames=100)
    res = evaluate.evaluate(_weights(tmp_path / "w.pt"), data, conditions=())
    for mode in evaluate.MODES:
        assert evaluate.NO_SHAPE not in res["overall"][mode]
        assert evaluate.NO_SHAPE not in res["per_clip"][mode]["clip2"]
    assert not {"overall_corrupted", "overall_shape", "overall_error_terms"} & set(res)
    assert "Corrupted IMUs" not in report.render(res) and "Body-shape" not in report.render(res)


def test_no_shape_method_runs_the_same_way_and_the_report_has_the_conditions(tmp_path):
    data = write_fake_dataset(tmp_path / "data", n_train=1, frames=100)
    w = _weights(tmp_path / "w.pt")
    # the same checkpoint given as the "no-shape" model must score exactly like fip: the same API path
    res = evaluate.evaluate(w, data, no_shape_weights=w)
    for mode in evaluate.MODES:
        assert list(res["overall"][mode]) == ["fip", "fip_avg_body", "fip_zero_body", "fip_no_shape",
                                              "static_tpose"]
        assert res["overall"][mode]["fip_no_shape"]["pos_cm"] == res["overall"][mode]["fip"]["pos_cm"]
    (mode,) = evaluate.EXTRA_MODES
    corrupted = res["overall_corrupted"][mode]
    assert set(corrupted) == {"fip", "fip_avg_body", "fip_zero_body", "fip_no_shape"}
    assert corrupted["fip_no_shape"]["sip_deg"] == corrupted["fip"]["sip_deg"]
    assert corrupted["fip"]["sip_deg"] != res["overall"][mode]["fip"]["sip_deg"]
    for body in evaluate.SHAPE_BODIES:
        shape = res["overall_shape"][body][mode]
        assert set(shape) == {"fip", "fip_avg_body", "fip_no_shape"}
        assert shape["fip_no_shape"]["angle24_deg"] == shape["fip"]["angle24_deg"]
    # a real no-shape model ignores the body: its start-up is the same for any measurements
    ns = Model(*load_checkpoint(_weights(tmp_path / "ns.pt", shape_input=False)))
    clip = load_split(data, "test")[0]
    acc, ori, init, _ = evaluate.clip_imu(clip, "tpose_start")
    short = evaluate.rescaled_clip(clip, **evaluate.SHAPE_BODIES["short"]).body
    assert torch.equal(evaluate.run_fip(ns, acc, ori, clip.body, init),
                       evaluate.run_fip(ns, acc, ori, short, init))
    json.dumps(res)  # results.json stays serialisable
    md = report.render(res)
    assert "## Corrupted IMUs (tpose_start)" in md and "## Body-shape sensitivity (tpose_start)" in md
    assert "| FIP trained without shape input |" in md
    assert "| short (1.55 m, arm ×0.94, leg ×0.94) | FIP, average body measurements |" in md
    assert "Gap to FIP with the true measurements" in md
    assert "heading error 5°, mount rotation 5°, mount offset 2 cm, dropped samples 0.5 %" in md
    assert "heading random walk 1°/√s, calibration posture error (forearms, lower legs, head, pelvis) " \
           "8/8/3/3/4/2°" in md
    terms = res["overall_error_terms"][mode]
    assert set(terms) == set(evaluate.error_terms())
    assert terms["heading_error_deg"]["sip_deg"] != res["overall"][mode]["fip"]["sip_deg"]
    assert "## Cost of each sensor error (FIP, tpose_start)" in md and "| heading error | 5° |" in md
