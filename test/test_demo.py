"""`make demo` in short: one held-out clip through the ROS replay graph, scored, drawn, in a subprocess; its
estimate file opens in fip-view with the dynamics node's output."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import random_checkpoint

from fip_ros.cli.view import load_sources
from fip_ros.data.paths import default_mocap_dir
from fip_ros.visualization.tracks import load_clip

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_demo_streams_every_clip_frame_through_ros_and_writes_its_outputs(tmp_path):
    if not default_mocap_dir().is_dir():
        pytest.skip(f"no shared mocap at {default_mocap_dir()} (set FIP_MOCAP_DIR)")
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "fip_ros.cli.demo", "--seconds", "4", "--tpose-seconds", "1.5",
         "--weights", random_checkpoint(tmp_path / "random.pt"), "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)  # -m: the checkout is importable
    assert proc.returncode == 0, proc.stdout + proc.stderr

    m = json.loads((out / "metrics.json").read_text())
    assert m["path"].startswith("ROS graph"), m["path"]
    assert (m["clip"]["file"], m["clip"]["split"]) == ("cmu-iclone/007_05", "test")  # held-out walking
    listed = {os.path.basename(f) for f in m["files"]}
    assert listed == {"estimate.npz", "skeleton.gif", "contact_sheet.png", "dynamics.png", "clip_007_05.npz",
                      "body_params.yaml"}
    assert {p.name for p in out.iterdir()} == listed | {"metrics.json"}  # every listed output, nothing else
    for name in listed:
        assert (out / name).stat().st_size > 0
    for key in ("sip_deg", "angle24_deg", "pos_cm", "jitter_km_s3"):
        assert math.isfinite(m["accuracy"][key]), key
    f = m["frames"]
    assert 0 < f["clip_frames"] <= 4 * 60
    assert f["imu_frames_in"] == f["clip_frames"] + 90 + 30  # the T-pose, the blend into the clip, the clip
    # One pose per replayed clip frame. Not timing-dependent: in the demo's one-process, single-threaded
    # graph no frame can be dropped (see fip_ros.demo._wait_for_replay), so an exact count holds under load.
    assert f["clip_frames_with_pose"] == f["clip_frames"]
    for lat in m["latency"].values():
        assert lat["count"] > 0 and 0 < lat["p50_ms"] <= lat["p99_ms"] < 5000
    assert "SIP error" in proc.stdout and "IMU publish -> TF receipt" in proc.stdout
    assert f"fip-view {out}" in proc.stdout

    # The estimate for fip-view: the clip's frames and the dynamics node's output, which never covers the
    # last frames (its filter still held them: delay = window // 2 + 1 = 6 at the default 11) nor frames the
    # estimator marked INITIALIZING (after its start-up, or after an input gap on a starved machine).
    estimate, truth = load_clip(out / "estimate.npz"), load_clip(out / "clip_007_05.npz")
    assert len(estimate) == len(truth) == f["clip_frames"]
    with_dynamics = np.isfinite(estimate.grf).all((1, 2))
    assert with_dynamics.sum() > 0 and not with_dynamics[-6:].any()
    assert np.isfinite(estimate.moments[with_dynamics]).all()
    assert np.isfinite(estimate.cop[with_dynamics]).all()
    assert np.allclose(estimate.joints[0, 0, [0, 2]], truth.joints[0, 0, [0, 2]])  # from the truth start
    feet = [7, 8, 10, 11]  # ... standing on the same floor
    assert estimate.joints[0, feet, 1].min() == pytest.approx(truth.joints[0, feet, 1].min(), abs=1e-5)
    t = m["translation"]
    assert all(math.isfinite(v) for v in t.values()) and t["true_distance_m"] > 2.0  # CMU 07 walks 4 m
    assert "endpoint error" in proc.stdout
    # `fip-view OUT` shows this run's two people, not the clip of an earlier run in the same folder.
    (out / "clip_earlier.npz").write_bytes((out / "clip_007_05.npz").read_bytes())
    assert sorted(t.name for t in load_sources([out], 75.0, None)) == ["007_05", "estimate"]
