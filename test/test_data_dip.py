"""DIP-IMU and TotalCapture loaders on generated files in the real formats (Python 2 pickles)."""

import pickle

import numpy as np
import pytest
import torch
from helpers import write_py2_pickle

from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.data.dip_imu import DIP_SENSORS, fill_nan, load_dip
from fip_ros.data.totalcapture import TC_ORDER, load_totalcapture
from fip_ros.ros.recordings import load_calibrated

N = 40


def _rotations(shape, rng):
    return axis_angle_to_matrix(torch.from_numpy(rng.normal(0, 1, shape + (3,)))).numpy()


def _write(path, data):
    write_py2_pickle(path, data)
    with pytest.raises(UnicodeDecodeError):  # really Python 2 style: the default ASCII decoding fails
        pickle.loads(path.read_bytes())
    return path


def test_dip_selects_sensors_fills_nan_trims(tmp_path):
    rng = np.random.default_rng(0)
    acc, ori, gt = rng.normal(size=(N, 17, 3)), _rotations((N, 17), rng), rng.normal(0, 0.5, (N, 72))
    acc_nan, ori_nan = acc.copy(), ori.copy()
    acc_nan[10:13, 7] = np.nan  # left forearm (FIP sensor 0): three frames lost
    ori_nan[20, 2] = np.nan  # pelvis (FIP sensor 5): one frame lost
    path = _write(tmp_path / "s_01_01.pkl", {"imu_acc": acc_nan, "imu_ori": ori_nan, "gt": gt})

    seq = load_dip(path)
    assert seq["fps"] == 60 and seq["acc"].shape == (N - 12, 6, 3) and seq["ori"].shape == (N - 12, 6, 3, 3)
    assert np.isfinite(seq["acc"]).all() and np.isfinite(seq["ori"]).all()
    keep = slice(6, N - 6)
    untouched = np.ones(N, bool)
    untouched[10:13] = False
    assert np.allclose(seq["acc"][untouched[keep], 0], acc[keep][untouched[keep], 7])
    assert np.allclose(seq["acc"][:, 1:], acc[keep][:, DIP_SENSORS[1:]])
    # Linear between the neighbours frames 9 and 13 (index 11 is frame 11 - 6 = 5 after the trim).
    assert np.allclose(seq["acc"][5, 0], 0.5 * (acc[9, 7] + acc[13, 7]))
    assert np.allclose(seq["ori"][20 - 6, 5], ori[19, 2]) or np.allclose(seq["ori"][20 - 6, 5], ori[21, 2])
    expected = axis_angle_to_matrix(torch.from_numpy(gt[keep].reshape(-1, 24, 3))).numpy()
    assert np.allclose(seq["local_rot"], expected)
    assert load_dip(path, trim=0)["acc"].shape[0] == N


def test_nearest_fill_at_the_ends_and_dead_sensor():
    acc = np.arange(5.0)[:, None, None] * np.ones((5, 1, 3))
    ori = np.tile(np.eye(3), (5, 1, 1, 1))
    acc[[0, 4]] = np.nan
    ori[0, 0] = np.nan
    ori[1, 0] = 2 * np.eye(3)
    a, o = fill_nan(acc, ori)
    assert np.allclose(a[:, 0, 0], [1, 1, 2, 3, 3]) and np.allclose(o[0, 0], 2 * np.eye(3))
    acc[:] = np.nan
    with pytest.raises(ValueError, match="sensor 0"):
        fill_nan(acc, ori)


def test_totalcapture_reorders_to_fip_sensors(tmp_path):
    rng = np.random.default_rng(1)
    acc, ori, gt = rng.normal(size=(N, 6, 3)), _rotations((N, 6), rng), rng.normal(0, 0.5, (N, 72))
    stored = np.argsort(TC_ORDER)  # FIP order -> TotalCapture's stored order
    data = {"acc": acc[:, stored], "ori": ori[:, stored].reshape(N, 6, 9), "gt": gt}
    path = _write(tmp_path / "s1_walking2.pkl", data)
    seq = load_totalcapture(path)
    assert np.allclose(seq["acc"], acc) and np.allclose(seq["ori"], ori)
    assert seq["local_rot"].shape == (N, 24, 3, 3)
    assert TC_ORDER == [2, 3, 0, 1, 4, 5]
    assert np.allclose(load_calibrated(path, "totalcapture")["acc"], acc)  # the replay driver's entry
