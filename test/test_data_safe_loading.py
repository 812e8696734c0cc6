"""No code runs from a data file: crafted DIP/TotalCapture pickles, AMASS and SMPL .npz/.pkl files whose
pickles would write a marker file are refused with a one-line ValueError, and the marker is never written;
the same loaders still read plain-data files (numpy arrays, scipy sparse matrices, Python 2 style pickles)."""

import io
import pickle
import zipfile

import numpy as np
import pytest
import scipy.sparse

from fip_ros.core import safe_pickle
from fip_ros.data.amass import load_amass
from fip_ros.data.dip_imu import load_dip
from fip_ros.data.totalcapture import load_totalcapture
from fip_ros.ros.ngimu_osc import NgimuState, OscError, OscMessage


class WritesMarker:
    """Unpickling this calls open(marker, 'w'): what an attacker's __reduce__ would run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _dip(frames=20, extra=None):
    data = {"imu_acc": np.zeros((frames, 17, 3)), "imu_ori": np.tile(np.eye(3), (frames, 17, 1, 1)),
            "gt": np.zeros((frames, 72))}
    return dict(data, **(extra or {}))


@pytest.mark.parametrize("loader", [load_dip, load_totalcapture])
def test_crafted_pickle_runs_nothing(tmp_path, loader):
    marker = tmp_path / "pwned"
    path = tmp_path / "s_01" / "01.pkl"
    path.parent.mkdir()
    path.write_bytes(pickle.dumps(_dip(extra={"note": WritesMarker(marker)}), protocol=2))
    with pytest.raises(ValueError, match=r"refusing to load io\.open") as err:
        loader(path)
    assert not marker.exists()
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_plain_dip_pickle_still_loads(tmp_path):
    path = tmp_path / "01.pkl"
    path.write_bytes(pickle.dumps(_dip(), protocol=2))
    out = load_dip(path, trim=2)
    assert out["acc"].shape == (16, 6, 3) and np.allclose(out["ori"], np.eye(3))


def _npz_with_object_member(path, plain: dict, name, obj):
    """An .npz whose member ``name`` is a pickled 0-d object array, as np.savez writes one."""
    np.savez(path, **plain)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array(obj, dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(f"{name}.npy", buf.getvalue())


def test_crafted_amass_npz_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    plain = {"poses": np.zeros((10, 156)), "trans": np.zeros((10, 3)), "betas": np.zeros(16),
             "mocap_framerate": np.array(60.0)}
    _npz_with_object_member(tmp_path / "seq_poses.npz", plain, "gender", WritesMarker(marker))
    with pytest.raises(ValueError, match="refusing to load"):
        load_amass(tmp_path / "seq_poses.npz")
    assert not marker.exists()


def test_crafted_smpl_model_runs_nothing(tmp_path):
    from fip_ros.core.smpl_model import SmplBody

    marker = tmp_path / "pwned"
    (tmp_path / "SMPL_MALE.pkl").write_bytes(pickle.dumps({"v_template": WritesMarker(marker)}))
    with pytest.raises(ValueError, match="refusing to load"):
        SmplBody(str(tmp_path), gender="male")
    _npz_with_object_member(tmp_path / "SMPL_FEMALE.npz", {"v_template": np.zeros((3, 3))}, "J_regressor",
                            WritesMarker(marker))
    with pytest.raises(ValueError, match="refusing to load"):
        SmplBody(str(tmp_path), gender="female")
    assert not marker.exists()


def test_restricted_unpickler_reads_arrays_sparse_and_scalars(tmp_path):
    value = {"a": np.arange(6.0).reshape(2, 3), "s": scipy.sparse.csc_matrix(np.eye(3)), "f": np.float32(2.5),
             "t": (1, "x", [b"raw"]), "set": {1, 2}}
    for protocol in (2, 5):
        out = safe_pickle.loads(io.BytesIO(pickle.dumps(value, protocol=protocol)), "mem")
        assert np.array_equal(out["a"], value["a"]) and (out["s"] != value["s"]).nnz == 0
        assert out["f"] == np.float32(2.5) and out["t"] == (1, "x", [b"raw"]) and out["set"] == {1, 2}
    _npz_with_object_member(tmp_path / "m.npz", {"x": np.ones(3)}, "J", scipy.sparse.csr_matrix(np.eye(2)))
    z = safe_pickle.load_npz(tmp_path / "m.npz")
    assert np.array_equal(z["x"], np.ones(3)) and z["J"].item().shape == (2, 2)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable .npz"):
        safe_pickle.load_npz(tmp_path / "bad.npz")


@pytest.mark.parametrize("values,sensor", [([0, 0, 0, 1e308, 0, 1, 20, 0, 40], "accelerometer"),
                                           ([1e308, 0, 0, 0, 0, 1, 20, 0, 40], "gyroscope"),
                                           ([0, 0, 0, 0, 0, 30.0, 20, 0, 40], "accelerometer"),
                                           ([0, 0, 0, 0, 0, 1, 5e3, 0, 40], "magnetometer")])
def test_osc_values_range_checked_after_unit_conversion(values, sensor):
    """1e308 g is finite but becomes inf in m/s^2; 30 g and 5 mT are beyond what an NGIMU can measure."""
    state = NgimuState()
    with pytest.raises(OscError, match=sensor):
        state.update(OscMessage("/sensors", [float(v) for v in values]))
    assert state.acc is None  # nothing kept from the rejected sample
    assert state.update(OscMessage("/sensors", [2000.0, 0, 0, 16.0, 0, 0, 1300.0, 0, 0]))  # full scale
