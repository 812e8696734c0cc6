"""Streaming engine: frame-by-frame equals the sequence forward; reset restores the start state."""

import roma
import torch

from fip_ros.fip import FIP
from fip_ros.fip.engine import StreamingEngine, calibration_init_pose

torch.manual_seed(1)
BODIES = torch.tensor([[1.0, 1.80, 0.60, 0.90], [0.0, 1.62, 0.52, 0.80], [1.0, 1.95, 0.66, 1.0]])


def run(engine, acc, ori):
    outs = [tuple(x.clone() for x in engine.step(acc[:, t], ori[:, t])) for t in range(acc.shape[1])]
    return torch.stack([o[0] for o in outs], 1), torch.stack([o[1] for o in outs], 1)


def test_streaming_equals_sequence_forward():
    model = FIP("default").eval()
    acc, ori = torch.randn(3, 40, 6, 3) * 3, roma.random_rotmat((3, 40, 6))
    init = roma.random_rotmat((3, 15))
    with torch.no_grad():
        ref = model(acc, ori, BODIES, init)
    rot, joints = run(StreamingEngine(model, batch=3).reset(BODIES, init), acc, ori)
    assert (rot - ref["local_rot"]).abs().max() <= 1e-5
    assert (joints - ref["joints"]).abs().max() <= 1e-5


def test_reset_is_equivalent_to_a_fresh_engine():
    model = FIP("default").eval()
    acc, ori = torch.randn(1, 15, 6, 3), roma.random_rotmat((1, 15, 6))
    acc[0, 0, 2] = float("nan")  # held values must not leak from one session into the next
    engine = StreamingEngine(model).reset(BODIES[0])
    first = run(engine, acc, ori)
    second = run(engine.reset(BODIES[0]), acc, ori)
    torch.testing.assert_close(second[0], first[0], atol=0, rtol=0)
    torch.testing.assert_close(second[1], first[1], atol=0, rtol=0)


def test_default_start_is_the_calibration_tpose():
    model = FIP("default").eval()
    acc, ori = torch.randn(1, 5, 6, 3), roma.random_rotmat((1, 5, 6))
    torch.testing.assert_close(calibration_init_pose("tpose"), torch.eye(3).expand(1, 15, 3, 3))
    assert not torch.allclose(calibration_init_pose("npose"), calibration_init_pose("tpose"))
    with torch.no_grad():
        ref = model(acc, ori, BODIES[:1])  # init_pose None = T-pose
    rot, _ = run(StreamingEngine(model).reset(BODIES[0]), acc, ori)
    assert (rot - ref["local_rot"]).abs().max() <= 1e-5


def test_non_finite_input_holds_last_valid():
    model = FIP("default").eval()
    acc, ori = torch.randn(1, 3, 6, 3), roma.random_rotmat((1, 3, 6))
    bad_acc, bad_ori = acc.clone(), ori.clone()
    bad_acc[0, 2, 1] = float("nan")
    bad_ori[0, 2, 4, 0, 0] = float("inf")
    fill_acc, fill_ori = acc.clone(), ori.clone()
    fill_acc[0, 2, 1] = acc[0, 1, 1]
    fill_ori[0, 2, 4, 0, 0] = ori[0, 1, 4, 0, 0]
    got = run(StreamingEngine(model).reset(BODIES[0]), bad_acc, bad_ori)
    want = run(StreamingEngine(model).reset(BODIES[0]), fill_acc, fill_ori)
    assert torch.isfinite(got[0]).all()
    torch.testing.assert_close(got[0], want[0], atol=0, rtol=0)


def test_per_body_restart_and_step_match_separate_engines():
    """reset_rows / step_rows (several people in one engine, as the estimator's Team drives it): body 0
    restarts and steps alone while body 1 keeps its state; each equals an engine of its own."""
    model = FIP("default").eval()
    acc, ori = torch.randn(2, 20, 6, 3) * 2, roma.random_rotmat((2, 20, 6))
    two = StreamingEngine(model, batch=2).reset(BODIES[:2])
    alone = [StreamingEngine(model).reset(BODIES[i]) for i in range(2)]
    for t in range(8):
        two.step(acc[:, t], ori[:, t])
        for i in range(2):
            alone[i].step(acc[i:i + 1, t], ori[i:i + 1, t])
    two.reset_rows([0], BODIES[2:3], calibration_init_pose("npose"))
    alone[0].reset(BODIES[2], pose="npose")
    for t in range(8, 20):
        rows = [0] if t % 3 else [0, 1]  # body 1 skips some frames
        got, _ = two.step_rows(rows, acc[rows, t], ori[rows, t])
        for k, i in enumerate(rows):
            want = alone[i].step(acc[i:i + 1, t], ori[i:i + 1, t])[0][0].numpy()
            assert abs(got[k] - want).max() <= 1e-5
