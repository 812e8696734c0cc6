"""The shipped weights on every plausible body and on held-out motion: a still, calibrated T-pose gives a
standing T-pose of the body's height for both sexes over 1.50-1.95 m, flipping the sex label on held-out
motion barely changes the error, the held-out error stays under a floor that a regression would break, and
averaging with the mirror image (fip_ros.fip.mirror) pays on it."""

import numpy as np
import pytest
import torch

from fip_ros.api import load_model
from fip_ros.core.body_model import ANKLE_HEIGHT_FRACTION, HEAD_TOP_FRACTION, default_offsets, measure_offsets
from fip_ros.core.imu_synthesis import STENCIL
from fip_ros.core.metrics import sequence_errors, summarize
from fip_ros.data.build_dataset import discover, import_clip
from fip_ros.data.paths import default_mocap_dir
from fip_ros.data.split import load_split_config, split_of, subject_of
from fip_ros.evaluation.evaluate import clip_imu, run_fip

HEIGHTS = (1.50, 1.65, 1.80, 1.95)
PER_SOURCE = 2  # held-out test clips per source (evenly spaced in each) for the flip and floor checks
# Floors for the held-out clips (T-pose start-up, true body): the shipped weights score 3.62 cm and
# SIP 9.24 deg on them (3.71 cm, 9.55 deg without mirror averaging); about 10 % above that, so a
# regression fails and better weights pass.
FLOOR_POS_CM, FLOOR_SIP_DEG = 4.0, 10.2
# The target: a still T-pose stands within 3 cm of the body's height (the shipped weights: 0.3-1.5 cm off,
# worst a woman of 1.95 m).
HEIGHT_TOLERANCE_M = 0.03


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return load_model()


@pytest.mark.parametrize("height", HEIGHTS)
@pytest.mark.parametrize("sex", ["male", "female"])
def test_still_tpose_stands_at_the_body_height(model, sex, height):
    body = {"sex": sex, **{k: float(v) for k, v in measure_offsets(default_offsets(height, sex)).items()}}
    acc = np.zeros((120, 6, 3), np.float32)  # still: no free acceleration
    ori = np.tile(np.eye(3, dtype=np.float32), (120, 6, 1, 1))  # calibrated T-pose: bone frames identity
    j = model.predict(acc, ori, body)["joints"][-1]
    stands = (j[15, 1] - j[[7, 8], 1].mean()) / (1.0 - HEAD_TOP_FRACTION - ANKLE_HEIGHT_FRACTION)
    assert abs(stands - height) <= HEIGHT_TOLERANCE_M, f"{sex} {height} m stands {stands:.3f} m"
    assert j[15, 1] > j[0, 1] > j[[4, 5], 1].max() > j[[7, 8], 1].max()  # head > pelvis > knees > ankles
    for shoulder, wrist in ((16, 20), (17, 21)):
        assert abs(j[wrist, 1] - j[shoulder, 1]) < 0.05  # arms level: a T-pose, not arms down


@pytest.fixture(scope="module")
def held_out_clips():
    held = load_split_config()
    jobs = [j for j in discover(default_mocap_dir()) if split_of(subject_of(j[0], j[1]), held) == "test"]
    if not jobs:
        pytest.skip("shared mocap not available")
    by_source: dict = {}
    for job in jobs:
        by_source.setdefault(job[0], []).append(job)
    picked = [g[i * len(g) // PER_SOURCE] for g in by_source.values() for i in range(min(PER_SOURCE, len(g)))]
    return [import_clip(*job).tensors() for job in picked]


def _errors(model, clip, sex_code=None) -> dict:
    """sequence_errors of one held-out clip from a T-pose start-up, with its body or its sex code replaced."""
    acc, ori, init, skip = clip_imu(clip, "tpose_start")
    body = clip.body.clone()
    if sex_code is not None:
        body[0] = sex_code
    return sequence_errors(run_fip(model, acc, ori, body, init)[skip:], clip.local_rot[STENCIL:-STENCIL],
                           clip.offsets)


def test_held_out_accuracy_floor(model, held_out_clips):
    s = summarize([_errors(model, clip) for clip in held_out_clips])
    assert s["pos_cm"] <= FLOOR_POS_CM and s["sip_deg"] <= FLOOR_SIP_DEG, \
        f"held-out pos {s['pos_cm']:.2f} cm, SIP {s['sip_deg']:.2f} deg"


def test_mirror_averaging_pays_on_held_out_motion(model, held_out_clips):
    averaged = summarize([_errors(model, clip) for clip in held_out_clips])
    alone = summarize([_errors(load_model(mirror_average=False), clip) for clip in held_out_clips])
    # measured 9.24 deg / 3.62 cm against 9.55 deg / 3.71 cm
    assert averaged["sip_deg"] < alone["sip_deg"] - 0.2 and averaged["pos_cm"] < alone["pos_cm"] - 0.05, \
        f"averaged {averaged['sip_deg']:.2f} deg / {averaged['pos_cm']:.2f} cm, " \
        f"alone {alone['sip_deg']:.2f} deg / {alone['pos_cm']:.2f} cm"


def test_flipped_sex_label_keeps_the_error(model, held_out_clips):
    true_label = summarize([_errors(model, c) for c in held_out_clips])["pos_cm"]
    flipped = summarize([_errors(model, c, float(c.body[0] < 0.5)) for c in held_out_clips])["pos_cm"]
    assert flipped <= 1.05 * true_label, f"flipped label {flipped:.2f} cm vs true label {true_label:.2f} cm"


def test_plain_network_on_request_in_both_backends():
    """``mirror_average=False``: the plain network, in ONNX Runtime too (exported, not the shipped graphs)."""
    body = dict(sex="female", height=1.62, arm_length=0.53, leg_length=0.78)
    acc = np.random.default_rng(0).normal(0, 2, (30, 1, 6, 3)).astype(np.float32)
    ori = np.tile(np.eye(3, dtype=np.float32), (30, 1, 6, 1, 1))

    def run(engine):  # the torch engine returns its own buffers (tensors), ONNX Runtime fresh arrays
        rots = (engine.step(a, o)[0] for a, o in zip(acc, ori, strict=True))
        return np.stack([r if isinstance(r, np.ndarray) else r.numpy().copy() for r in rots])

    runs = {}
    for backend in ("torch", "onnx"):
        model = load_model(backend=backend, mirror_average=False)
        engine = model.stream(body)
        runs[backend] = run(engine)
    assert not model.shipped and engine.feed["h_up"].shape[-1] == model.fip.cfg.body_lstm
    assert np.abs(runs["onnx"] - runs["torch"]).max() < 1e-4
    assert np.abs(run(load_model().stream(body)) - runs["torch"]).max() > 1e-3  # the shipped: averaged
