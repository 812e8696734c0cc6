"""The torch-free runtime on the shipped ONNX graphs: their contract and provenance, agreement with the
shipped checkpoint run by PyTorch, per-body restarts, clear errors for bad files, and no torch import."""

import subprocess
import sys

import numpy as np
import pytest

from fip_ros.runtime.engine import OnnxStreamingEngine, calibration_init_pose
from fip_ros.runtime.graph import (
    META_CHECKPOINT,
    META_GRAPH,
    SHIPPED,
    STATE_KEYS,
    STEP_INPUTS,
    WEIGHTS_DIR,
    GraphError,
    load_sessions,
    metadata,
)

BODY = np.array([1.0, 1.75, 0.51, 0.84], np.float32)


def frames(n, batch=1, seed=0):
    """Plausible calibrated input: small rotations about the T-pose, accelerations of a few m/s^2."""
    from fip_ros.core.so3 import axis_angle_to_matrix

    rng = np.random.default_rng(seed)
    ori = axis_angle_to_matrix(np.cumsum(rng.normal(0, 0.03, (n, batch, 6, 3)), 0)).astype(np.float32)
    acc = rng.normal(0, 2.0, (n, batch, 6, 3)).astype(np.float32)
    return acc, ori


def test_shipped_graphs_carry_their_checkpoint_hash():
    import hashlib

    step, startup = load_sessions()
    sha = hashlib.sha256((WEIGHTS_DIR / "fip_default.pt").read_bytes()).hexdigest()
    assert metadata(step)[META_GRAPH] == "step" and metadata(startup)[META_GRAPH] == "startup"
    assert metadata(step)[META_CHECKPOINT] == metadata(startup)[META_CHECKPOINT] == sha


def test_shipped_graphs_match_the_checkpoint_in_pytorch():
    import torch

    from fip_ros.api import load_model

    model = load_model()
    acc, ori = frames(60, batch=2)
    ref = model.stream([dict(sex="male", height=1.75, arm_length=0.51, leg_length=0.84)] * 2, backend="torch")
    eng = OnnxStreamingEngine(batch=2).reset(BODY, calibration_init_pose("tpose", 2))
    worst = 0.0
    for a, o in zip(acc, ori, strict=True):
        want = ref.step(torch.from_numpy(a), torch.from_numpy(o))[0].numpy()
        worst = max(worst, float(np.abs(eng.step(a, o)[0] - want).max()))
    assert worst < 1e-4


def test_one_body_sessions_have_the_batch_fixed_and_the_same_answers():
    step, startup = load_sessions(batch=1)
    dynamic = OnnxStreamingEngine.from_sessions(*load_sessions()).reset(BODY)
    fixed = OnnxStreamingEngine.from_sessions(step, startup).reset(BODY)
    acc, ori = frames(30, seed=2)
    for a, o in zip(acc, ori, strict=True):
        want, got = dynamic.step(a, o), fixed.step(a, o)
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    assert step.get_inputs()[STEP_INPUTS.index("h_int")].shape == [2, 5, 192]  # 5 rows per body
    with pytest.raises(Exception, match="(?i)dimension|shape"):  # that session takes one body only
        step.run(None, {k: np.concatenate([v, v], axis=1 if k in STATE_KEYS else 0)
                        for k, v in fixed.feed.items()})
    assert OnnxStreamingEngine(batch=1).step_sess.get_inputs()[0].shape == [1, 6, 3]
    assert OnnxStreamingEngine(batch=2).step_sess.get_inputs()[0].shape == ["batch", 6, 3]


def test_reset_rows_restarts_one_body_and_leaves_the_other():
    acc, ori = frames(30, batch=2, seed=1)
    two = OnnxStreamingEngine(batch=2).reset(BODY)
    one = OnnxStreamingEngine(batch=1)
    for a, o in zip(acc[:10], ori[:10], strict=True):
        two.step(a, o)
    other = OnnxStreamingEngine(batch=1).reset(BODY)
    for a, o in zip(acc[:10], ori[:10], strict=True):
        other.step(a[1:], o[1:])
    body1 = np.array([[0.0, 1.6, 0.47, 0.76]], np.float32)
    two.reset_rows([0], body1, calibration_init_pose("npose"))
    one.reset(body1, pose="npose")
    for a, o in zip(acc[10:], ori[10:], strict=True):
        got = two.step(a, o)[0]
        assert np.allclose(got[0], one.step(a[:1], o[:1])[0][0], atol=1e-5)
        assert np.allclose(got[1], other.step(a[1:], o[1:])[0][0], atol=1e-5)


def test_bad_model_files_give_one_line_errors(tmp_path):
    junk = tmp_path / "junk_step.onnx"
    junk.write_bytes(b"not a graph")
    with pytest.raises(GraphError, match="not a readable ONNX graph"):
        load_sessions(junk)
    with pytest.raises(GraphError, match="does not exist"):
        load_sessions(tmp_path / "missing_step.onnx")
    with pytest.raises(GraphError, match="not a FIP step graph"):
        OnnxStreamingEngine(str(SHIPPED["startup"]), str(SHIPPED["startup"]))
    with pytest.raises(GraphError, match="step graph"):
        load_sessions(tmp_path / "model.pt")


def test_runtime_never_imports_torch():
    code = (
        "import sys, numpy as np\n"
        "from fip_ros.runtime.engine import OnnxStreamingEngine\n"
        "from fip_ros.runtime.tracker import Tracker\n"
        "from fip_ros.core.calibration import estimate_calibration, apply_calibration\n"
        "e = OnnxStreamingEngine(batch=3).reset(np.array([1.0, 1.75, 0.51, 0.84]))\n"
        "r, j = e.step(np.zeros((3, 6, 3)), np.tile(np.eye(3), (3, 6, 1, 1)))\n"
        "assert r.shape == (3, 24, 3, 3) and np.isfinite(r).all()\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_runtime_requirements_are_the_full_pins():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def pins(name):
        lines = (root / name).read_text().splitlines()
        return dict(line.split("==") for line in lines if line and not line.startswith("#"))

    runtime, full = pins("requirements-runtime.txt"), pins("requirements.txt")
    assert set(runtime) == {"numpy", "onnxruntime"} and all(full[k] == v for k, v in runtime.items())


def test_the_shipped_checkpoint_finds_its_graphs_by_hash(tmp_path):
    from fip_ros.runtime.graph import shipped_sessions_for

    assert shipped_sessions_for(WEIGHTS_DIR / "fip_default.pt") is not None
    other = tmp_path / "other.pt"
    other.write_bytes((WEIGHTS_DIR / "fip_default.pt").read_bytes() + b"\0")
    assert shipped_sessions_for(other) is None and shipped_sessions_for(tmp_path / "missing.pt") is None
