"""Stable offline API: load_model / predict / predict_raw / stream, input validation, backends."""

import numpy as np
import pytest
import roma
import torch

from fip_ros.api import default_weights_path, load_model
from fip_ros.core.imu_synthesis import simulate_raw
from fip_ros.fip import FIP
from fip_ros.fip.checkpoint import WeightsError, save_checkpoint

BODY = dict(sex="female", height=1.65, arm_length=0.55, leg_length=0.82)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("api") / "fip.pt"
    save_checkpoint(path, FIP("default"), {"trained": False})
    return path


def sequence(t=80, seed=0):
    g = torch.Generator().manual_seed(seed)
    rotvec = torch.cumsum(torch.randn(t, 6, 3, generator=g) * 0.05, dim=0)
    acc = torch.randn(t, 6, 3, generator=g).cumsum(0) * 0.2
    return acc.numpy(), roma.rotvec_to_rotmat(rotvec).numpy()


def test_default_weights_missing_is_clear():
    if default_weights_path().is_file():
        assert load_model().metadata is not None
    else:
        with pytest.raises(WeightsError, match="do not exist yet"):
            load_model()


def test_predict_contract(ckpt):
    model = load_model(ckpt)
    acc, ori = sequence()
    out = model.predict(acc, ori, BODY)
    assert out["rotations"].shape == (80, 24, 3, 3) and out["rotations"].dtype == np.float32
    assert out["joints"].shape == (80, 24, 3) and out["joints"].dtype == np.float32
    np.testing.assert_allclose(out["rotations"][:, 0], ori[:, 5], atol=1e-6)
    assert np.all(out["joints"][:, 0] == 0)
    # Local (24,3,3) and root-relative (15,3,3) initial poses are the same thing when the pose is identity.
    same = model.predict(acc, ori, BODY, init_pose=np.tile(np.eye(3, dtype=np.float32), (24, 1, 1)))
    np.testing.assert_allclose(same["joints"], out["joints"], atol=1e-6)


def test_predict_validation(ckpt):
    model = load_model(ckpt)
    acc, ori = sequence(10)
    with pytest.raises(ValueError, match="acc must have shape"):
        model.predict(acc[:, :5], ori, BODY)
    with pytest.raises(ValueError, match="rotation matrices"):
        model.predict(acc, ori * 2, BODY)
    with pytest.raises(ValueError, match="same number of frames"):
        model.predict(acc[:5], ori, BODY)
    with pytest.raises(ValueError, match="centimetres"):
        model.predict(acc, ori, {**BODY, "height": 165})
    with pytest.raises(ValueError, match="no finite"):
        bad = acc.copy()
        bad[:, 2, 0] = np.nan
        model.predict(bad, ori, BODY)


def test_non_finite_frames_hold_last_valid(ckpt):
    model = load_model(ckpt)
    acc, ori = sequence(12)
    bad_acc, bad_ori = acc.copy(), ori.copy()
    bad_acc[0, 1] = np.nan      # leading gap: takes the first valid value
    bad_ori[5:7, 3] = np.inf    # inner gap: holds frame 4
    fill_acc, fill_ori = acc.copy(), ori.copy()
    fill_acc[0, 1] = acc[1, 1]
    fill_ori[5:7, 3] = ori[4, 3]
    got = model.predict(bad_acc, bad_ori, BODY)
    want = model.predict(fill_acc, fill_ori, BODY)
    np.testing.assert_array_equal(got["rotations"], want["rotations"])


def test_onnx_backend_and_stream_match_torch(ckpt):
    acc, ori = sequence(120, seed=1)
    ref = load_model(ckpt).predict(acc, ori, BODY)
    onnx_model = load_model(ckpt, backend="onnx")
    got = onnx_model.predict(acc, ori, BODY)
    assert np.abs(got["rotations"] - ref["rotations"]).max() <= 1e-4
    assert np.abs(got["joints"] - ref["joints"]).max() <= 1e-4
    engine = onnx_model.stream([BODY, BODY], backend="torch")
    rot, joints = engine.step(np.stack([acc[0]] * 2), np.stack([ori[0]] * 2))
    assert rot.shape == (2, 24, 3, 3) and joints.shape == (2, 24, 3)
    np.testing.assert_allclose(np.asarray(rot)[1], ref["rotations"][0], atol=1e-5)
    with pytest.raises(ValueError, match="backend"):
        load_model(ckpt, backend="tensorrt")


def test_predict_raw_recovers_calibrated_prediction(ckpt):
    model = load_model(ckpt)
    acc, ori = sequence(90, seed=2)
    acc[:60] = 0.0      # still in T-pose for the calibration segment
    ori[:60] = np.eye(3)
    g = torch.Generator().manual_seed(4)
    raw_ori, raw_acc = simulate_raw(torch.from_numpy(acc).double(), torch.from_numpy(ori).double(), g,
                                    mount_error_deg=25.0, heading_deg=70.0)
    ref = model.predict(acc, ori, BODY)
    out = model.predict_raw(raw_acc.numpy(), raw_ori.numpy(), BODY, calib_slice=slice(0, 60))
    assert np.abs(out["rotations"] - ref["rotations"]).max() <= 1e-3
    assert np.abs(out["joints"] - ref["joints"]).max() <= 1e-3
    assert out["calibration"] is not None
