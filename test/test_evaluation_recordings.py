"""fip-eval on real-recording formats, with small files generated in exactly those formats: DIP-IMU (17
sensors, Python 2 pickles, s_09/s_10 as the published test subjects), TotalCapture in DIP's format (its own
sensor order) and raw REP 145 streams with a calibration window. Each must score the same motion exactly as
the calibrated path does, with the shipped weights."""

import json
import pickle

import numpy as np
import pytest
import torch
from helpers import fake_motion, write_py2_pickle

from fip_ros.api import load_model
from fip_ros.cli.evaluate import main as fip_eval
from fip_ros.core.body_model import offsets_for_body
from fip_ros.core.calibration import calibration_pose_local_rot
from fip_ros.core.imu_synthesis import simulate_raw, synthesize
from fip_ros.core.kinematics import root_relative_rot15
from fip_ros.core.metrics import sequence_errors, summarize
from fip_ros.core.rotations import matrix_to_axis_angle, matrix_to_quat
from fip_ros.data.dip_imu import DIP_SENSORS, read_pickle
from fip_ros.data.totalcapture import TC_ORDER
from fip_ros.evaluation import recordings
from fip_ros.training.augment import prepend_calibration

TRIM = 6  # DIP's frames dropped at each end


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return load_model()


def _motion(seed):
    """A fake clip on the default reference skeleton (the protocol's skeleton without --smpl / --body)."""
    m = fake_motion(200, seed)
    offsets = recordings.reference_skeleton()[0]
    local = torch.from_numpy(m.local_rot).double()
    imu = synthesize(local, offsets, torch.from_numpy(m.tran).double())
    return local, imu["acc"], imu["ori"]


def _dip_file(path, seed, rng):
    local, acc, ori = _motion(seed)
    t = len(local)
    acc17, ori17 = rng.normal(size=(t, 17, 3)), np.tile(np.eye(3), (t, 17, 1, 1))
    acc17[:, DIP_SENSORS], ori17[:, DIP_SENSORS] = acc.numpy(), ori.numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    gt = matrix_to_axis_angle(local).reshape(t, 72).numpy()
    write_py2_pickle(path, {"imu_acc": acc17, "imu_ori": ori17, "gt": gt})
    return local, acc, ori


@torch.no_grad()
def _expected(model, local, acc, ori, trim):
    """The calibrated path by hand: first true frame as initial pose, scored on the reference skeleton."""
    offsets, body = recordings.reference_skeleton()
    keep = slice(trim, len(local) - trim)
    out = model.fip(acc[keep].float()[None], ori[keep].float()[None], body[None],
                    root_relative_rot15(local[trim]).float()[None])["local_rot"][0]
    return summarize([sequence_errors(out.double(), local[keep], offsets)])


def test_dip_scores_only_the_published_test_subjects(tmp_path, model):
    rng = np.random.default_rng(0)
    local, acc, ori = _dip_file(tmp_path / "dip" / "s_09" / "01.pkl", 1, rng)
    _dip_file(tmp_path / "dip" / "s_10" / "05.pkl", 2, rng)
    (tmp_path / "dip" / "s_01").mkdir()
    (tmp_path / "dip" / "s_01" / "01.pkl").write_bytes(b"not read: s_01 is a training subject")
    res = recordings.evaluate_recordings(model, dip=tmp_path / "dip", out_dir=tmp_path / "out")
    assert sorted(res["dip_imu"]["sequences"]) == ["s_09/01", "s_10/05"]
    got = res["dip_imu"]["sequences"]["s_09/01"]
    want = _expected(model, local, acc, ori, TRIM)
    for key in ("sip_deg", "angle24_deg", "pos_cm", "jitter_km_s3"):
        assert got[key] == pytest.approx(float(want[key]), rel=1e-4, abs=1e-4)
    assert 0 < got["pos_cm"] < 40
    assert json.loads((tmp_path / "out" / "recordings.json").read_text())["dip_imu"]["overall"]["sip_deg"] > 0


def test_totalcapture_order_gives_the_same_scores(tmp_path, model):
    local, acc, ori = _motion(3)
    stored = np.empty((len(local), 6, 3)), np.empty((len(local), 6, 3, 3))
    for fip_sensor, stored_index in enumerate(TC_ORDER):  # the file keeps TotalCapture's own order
        stored[0][:, stored_index], stored[1][:, stored_index] = acc[:, fip_sensor], ori[:, fip_sensor]
    (tmp_path / "tc").mkdir()
    write_py2_pickle(tmp_path / "tc" / "s1_walking2.pkl",
           {"acc": stored[0], "ori": stored[1].reshape(-1, 6, 9),
            "gt": matrix_to_axis_angle(local).reshape(-1, 72).numpy()})
    res = recordings.evaluate_recordings(model, totalcapture=tmp_path / "tc")
    got = res["totalcapture"]["sequences"]["s1_walking2"]
    want = _expected(model, local, acc, ori, 0)
    assert got["pos_cm"] == pytest.approx(float(want["pos_cm"]), rel=1e-4)
    assert got["sip_deg"] == pytest.approx(float(want["sip_deg"]), rel=1e-4)


def _raw_file(path, body):
    """One second of a held T-pose, then motion; raw streams from simulate_raw (mounting errors 25 deg,
    device heading 70 deg), orientations as REP 145 quaternions."""
    m = fake_motion(240, 4)
    local = torch.from_numpy(m.local_rot).double()
    tran = torch.from_numpy(m.tran).double()
    tpose = torch.as_tensor(calibration_pose_local_rot("tpose"))
    local, tran = prepend_calibration(local, tran, tpose, 60, 30)
    imu = synthesize(local, offsets_for_body(body).double(), tran)
    acc, ori = imu["acc"], imu["ori"]
    acc[:60] = 0.0  # still while calibrating
    raw_ori, raw_acc = simulate_raw(acc, ori, torch.Generator().manual_seed(5), mount_error_deg=25.0,
                                    heading_deg=70.0)
    np.savez(path, raw_acc=raw_acc.numpy(), raw_ori=matrix_to_quat(raw_ori).numpy(),
             pose=matrix_to_axis_angle(local).reshape(-1, 72).numpy(), calib=np.array([0, 60]),
             calib_pose=np.array("tpose"), fps=np.array(60.0), **{k: np.array(v) for k, v in body.items()})
    return local, acc, ori


def test_raw_recording_matches_the_calibrated_path(tmp_path, model):
    body = {"sex": "female", "height": 1.62, "arm_length": 0.52, "leg_length": 0.76}
    local, acc, ori = _raw_file(tmp_path / "walk.npz", body)
    res = recordings.evaluate_recordings(model, raw=[tmp_path / "walk.npz"])
    got = res["raw"]["sequences"]["walk"]
    ref = model.predict(acc.float().numpy(), ori.float().numpy(), body)["rotations"]
    want = summarize([sequence_errors(torch.from_numpy(ref[60:]).double(), local[60:],
                                      offsets_for_body(body).double())])
    assert got["pos_cm"] == pytest.approx(float(want["pos_cm"]), abs=0.05)
    assert got["sip_deg"] == pytest.approx(float(want["sip_deg"]), abs=0.1)


@pytest.mark.parametrize("hz", [120, 100])
def test_raw_recordings_at_other_rates_are_resampled_to_60_hz(tmp_path, model, hz):
    """The 60 Hz recording interpolated to 120 Hz scores exactly as it does (every other frame is its own),
    and to 100 Hz nearly so (interpolated twice)."""
    from fip_ros.core.resample import resample
    from fip_ros.core.rotations import quat_to_matrix

    body = {"sex": "male", "height": 1.8, "arm_length": 0.56, "leg_length": 0.85}
    _raw_file(tmp_path / "r60.npz", body)
    with np.load(tmp_path / "r60.npz") as z:
        d = {k: z[k] for k in z.files}
    t = len(d["raw_acc"])
    truth = recordings.axis_angle_to_matrix(torch.from_numpy(d["pose"].reshape(t, 24, 3))).numpy()
    ori, acc = resample(quat_to_matrix(torch.from_numpy(d["raw_ori"])).numpy(), d["raw_acc"].reshape(t, 18),
                        60.0, hz)
    pose, _ = resample(truth, np.zeros((t, 3)), 60.0, hz)
    pose = matrix_to_axis_angle(torch.from_numpy(pose)).reshape(-1, 72).numpy()
    np.savez(tmp_path / "r.npz", **dict(d, raw_ori=ori, raw_acc=acc.reshape(-1, 6, 3), pose=pose,
                                        fps=np.array(float(hz)), calib=np.array([0, hz])))
    rec = recordings.load_raw(tmp_path / "r.npz")
    assert len(rec["raw_acc"]) == (t if hz == 120 else t - 1) and rec["calib"] == slice(0, 60)
    res = recordings.evaluate_recordings(model, raw=[tmp_path / "r60.npz", tmp_path / "r.npz"])["raw"]
    got, want = res["sequences"]["r"], res["sequences"]["r60"]
    # 100 Hz: measured 0.012 cm and 0.003 deg off; read as 60 Hz it is 0.13 cm and 0.10 deg off
    tol = 1e-6 if hz == 120 else 0.03
    assert got["pos_cm"] == pytest.approx(want["pos_cm"], abs=tol)
    assert got["sip_deg"] == pytest.approx(want["sip_deg"], abs=tol)


def _turned(yaw: float, points):
    """(..., 3) points or (..., 3, 3) rotations turned about the vertical (SMPL y) by ``yaw`` rad."""
    from fip_ros.core.so3 import yaw_rotation

    r = yaw_rotation(yaw)
    points = np.asarray(points, np.float64)
    return r @ points if points.shape[-2:] == (3, 3) else points @ r.T


def test_raw_translation_known_answers():
    t = np.arange(200) / 60.0
    tran = np.stack([1.2 * t, 0.9 + 0.0 * t, 0.0 * t], -1)  # a straight walk at 1.2 m/s along x
    truth = np.tile(np.eye(3), (200, 24, 1, 1))
    rec = {"tran": tran, "truth": truth, "calib": slice(0, 20)}
    # The estimate in a world turned by 40 deg (its pelvis too), starting elsewhere: no error at all.
    out = {"translation": _turned(0.7, tran) + 5.0, "rotations": _turned(0.7, truth)}
    got = recordings.raw_translation(out, rec)
    assert got["end"] == pytest.approx(0.0, abs=1e-9) and got["err_1s"] == pytest.approx(0.0, abs=1e-9)
    assert got["dist"] == pytest.approx(1.2 * 179 / 60.0)  # frames 20-199
    # Short by a tenth of every step: 10 % of the distance at the end.
    out["translation"] = _turned(0.7, 0.9 * tran)
    assert recordings.raw_translation(out, rec)["end_pct"] == pytest.approx(10.0)
    assert recordings.raw_translation(out, dict(rec, tran=None)) is None


def test_raw_recording_of_a_walk_scores_its_translation(tmp_path, model, capsys):
    """A held-out walk (CMU 07_05, as the demo) after a T-pose, as a raw recording with its root path: the
    translation score is that of the calibrated path through the API, and a reference world turned by 90 deg
    about the vertical changes nothing."""
    from fip_ros.core.body_model import body_dict
    from fip_ros.evaluation.translation import clip_metrics, load_clip

    clip = load_clip("cmu-iclone/007_05.bvh").tensors(torch.float64)
    local, tran = prepend_calibration(clip.local_rot, clip.tran,
                                      torch.as_tensor(calibration_pose_local_rot("tpose")), 60, 30)
    imu = synthesize(local, clip.offsets, tran)
    acc, ori = imu["acc"], imu["ori"]
    acc[:60] = 0.0
    body = body_dict(clip.body)
    raw_ori, raw_acc = simulate_raw(acc, ori, torch.Generator().manual_seed(5), mount_error_deg=25.0,
                                    heading_deg=70.0)
    streams = dict(raw_acc=raw_acc.numpy(), raw_ori=matrix_to_quat(raw_ori).numpy(), calib=np.array([0, 60]),
                   **{k: np.array(v) for k, v in body.items()})
    local, tran = local.numpy(), tran.numpy()
    turned = local.copy()
    turned[:, 0] = _turned(1.57, local[:, 0])
    for name, rot, path in (("walk", local, tran), ("turned", turned, _turned(1.57, tran))):
        pose = matrix_to_axis_angle(torch.from_numpy(rot)).reshape(-1, 72).numpy()
        np.savez(tmp_path / f"{name}.npz", pose=pose, tran=path, **streams)
    assert fip_eval(["--raw", str(tmp_path / "walk.npz"), str(tmp_path / "turned.npz"),
                     "--out", str(tmp_path / "o")]) == 0
    assert "root translation, raw" in capsys.readouterr().out
    res = json.loads((tmp_path / "o" / "recordings.json").read_text())["raw_translation"]["sequences"]
    est = model.predict(acc.float().numpy(), ori.float().numpy(), body)["translation"][60:]
    want = clip_metrics(tran[60:] - tran[60], est - est[0], 60.0)
    for got in res.values():
        assert got["end"] == pytest.approx(want["end"], abs=0.01)
        assert got["dist"] == pytest.approx(want["dist"], rel=1e-6)
    assert res["turned"]["end"] == pytest.approx(res["walk"]["end"], abs=1e-4)
    assert res["walk"]["end_pct"] < 15.0  # measured 9.5 %; a path turned by the device heading: > 100 %


@pytest.mark.parametrize("change, message", [
    ({"pose": None}, "missing pose"), ({"calib": np.array([0, 500])}, "calibration window"),
    ({"fps": np.array(5.0)}, "fps must be a rate of 20-1000 Hz"), ({"fps": np.array("fast")}, "fps must be"),
    ({"fps": np.array(1000.0), "calib": np.array([5, 10])}, "holds no frame"),
    ({"raw_acc": np.zeros((10, 6, 3))}, "same T"),
    ({"tran": np.zeros((10, 3))}, "tran must be")])
def test_bad_raw_files_are_refused_in_one_line(tmp_path, change, message):
    body = {"sex": "male", "height": 1.8, "arm_length": 0.56, "leg_length": 0.85}
    _raw_file(tmp_path / "r.npz", body)
    with np.load(tmp_path / "r.npz") as z:
        data = {k: z[k] for k in z.files}
    for k, v in change.items():
        data.pop(k) if v is None else data.__setitem__(k, v)
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(ValueError, match=message):
        recordings.load_raw(tmp_path / "bad.npz")


def test_fip_eval_command_line(tmp_path, capsys):
    rng = np.random.default_rng(1)
    _dip_file(tmp_path / "dip" / "s_10" / "02.pkl", 6, rng)
    assert fip_eval(["--dip", str(tmp_path / "dip"), "--out", str(tmp_path / "o")]) == 0
    assert "dip_imu (1 sequences)" in capsys.readouterr().out
    assert fip_eval(["--dip", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fip-eval: no DIP-IMU test sequences") and err.count("\n") == 1


def test_crafted_pickle_runs_no_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"imu_acc": Evil()}, protocol=2))
    with pytest.raises(ValueError, match="refusing"):
        read_pickle(tmp_path / "evil.pkl")
    assert not (tmp_path / "pwned").exists()
