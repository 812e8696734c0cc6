"""Exports (TorchScript, ONNX Runtime) match PyTorch over a long stream; checkpoints fail clearly."""

import os

import numpy as np
import pytest
import roma
import torch

from fip_ros.cli.export import main
from fip_ros.fip import FIP
from fip_ros.fip.checkpoint import WeightsError, load_checkpoint, save_checkpoint
from fip_ros.fip.engine import StreamingEngine
from fip_ros.fip.export import FILES, export_onnx, export_torchscript
from fip_ros.runtime.engine import OnnxStreamingEngine

torch.manual_seed(2)
BODIES = torch.tensor([[1.0, 1.80, 0.60, 0.90], [0.0, 1.62, 0.52, 0.80], [1.0, 1.70, 0.58, 0.85]])


def motion(b, t):
    """Smooth random motion so that the LSTM states evolve like with real data."""
    rotvec = torch.cumsum(torch.randn(b, t, 6, 3) * 0.05, dim=1)
    return torch.randn(b, t, 6, 3).cumsum(1) * 0.2, roma.rotvec_to_rotmat(rotvec)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("fip_export")
    model = FIP("default").eval()
    export_onnx(model, str(d))
    export_torchscript(model, str(d))
    return model, d


def test_onnx_matches_torch_over_600_frames(exported):
    model, d = exported
    acc, ori = motion(3, 600)  # batch 3: the graph was traced at batch 2, so the batch axis must be dynamic
    init = roma.random_rotmat((3, 15))
    with torch.no_grad():
        ref = model(acc, ori, BODIES, init)
    engine = OnnxStreamingEngine(str(d / FILES["step_onnx"]), str(d / FILES["startup_onnx"]), batch=3)
    engine.reset(BODIES.numpy(), init.numpy())
    rot, joints = zip(*(engine.step(acc[:, t].numpy(), ori[:, t].numpy()) for t in range(600)), strict=True)
    assert np.abs(np.stack(rot, 1) - ref["local_rot"].numpy()).max() <= 1e-4
    assert np.abs(np.stack(joints, 1) - ref["joints"].numpy()).max() <= 1e-4


def test_torchscript_matches_torch(exported):
    model, d = exported
    acc, ori = motion(1, 100)
    with torch.no_grad():
        ref = model(acc, ori, BODIES[:1])
    script = torch.jit.load(str(d / FILES["step_ts"]))
    engine = StreamingEngine(model, batch=1, step_fn=script).reset(BODIES[0])
    rot = torch.stack([engine.step(acc[:, t], ori[:, t])[0].clone() for t in range(100)], 1)
    assert (rot - ref["local_rot"]).abs().max() <= 1e-5
    startup = torch.jit.load(str(d / FILES["startup_ts"]))
    with torch.no_grad():
        torch.testing.assert_close(startup(BODIES, torch.eye(3).expand(3, 15, 3, 3))[0], model.tpose(BODIES))


def test_checkpoint_roundtrip_and_errors(tmp_path):
    model = FIP("default").eval()
    path = tmp_path / "fip.pt"
    save_checkpoint(path, model, {"note": "random"})
    loaded, meta = load_checkpoint(path)
    assert meta == {"note": "random"} and loaded.cfg == model.cfg
    for k, v in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v, atol=0, rtol=0)

    with pytest.raises(WeightsError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    data = path.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="not a readable FIP checkpoint"):
        load_checkpoint(tmp_path / "trunc.pt")
    (tmp_path / "junk.pt").write_bytes(os.urandom(4096))
    with pytest.raises(WeightsError):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(WeightsError, match="not a fip_ros"):
        load_checkpoint(tmp_path / "other.pt")
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["ik.nets.0.0.weight"] = torch.zeros(3, 3)
    torch.save(payload, tmp_path / "shape.pt")
    with pytest.raises(WeightsError, match="does not match"):
        load_checkpoint(tmp_path / "shape.pt")


def test_export_console_script_static_batch(tmp_path):
    path = tmp_path / "fip.pt"
    model = FIP("default").eval()
    save_checkpoint(path, model)
    main([str(path), "-o", str(tmp_path / "out"), "--format", "onnx", "--batch", "2"])
    d = tmp_path / "out"
    acc, ori = motion(2, 30)
    with torch.no_grad():
        ref = model(acc, ori, BODIES[:2])
    engine = OnnxStreamingEngine(str(d / FILES["step_onnx"]), str(d / FILES["startup_onnx"]), batch=2)
    engine.reset(BODIES[:2].numpy())
    joints = np.stack([engine.step(acc[:, t].numpy(), ori[:, t].numpy())[1] for t in range(30)], 1)
    assert np.abs(joints - ref["joints"].numpy()).max() <= 1e-4


def test_export_without_mirror_averaging_gives_the_plain_network(tmp_path):
    path = tmp_path / "fip.pt"
    model = FIP("default").eval()
    save_checkpoint(path, model)
    main([str(path), "-o", str(tmp_path / "out"), "--format", "onnx", "--no-mirror-average"])
    plain, _ = load_checkpoint(path, mirror_average=False)
    acc, ori = motion(1, 30)
    with torch.no_grad():
        want, averaged = plain(acc, ori, BODIES[:1]), model(acc, ori, BODIES[:1])
    d = tmp_path / "out"
    engine = OnnxStreamingEngine(str(d / FILES["step_onnx"]), str(d / FILES["startup_onnx"])).reset(BODIES[0])
    assert engine.feed["h_up"].shape[-1] == model.cfg.body_lstm  # the averaged graphs carry twice this
    rot = np.stack([engine.step(acc[:, t].numpy(), ori[:, t].numpy())[0] for t in range(30)], 1)
    assert np.abs(rot - want["local_rot"].numpy()).max() <= 1e-4
    assert np.abs(rot - averaged["local_rot"].numpy()).max() > 1e-2
