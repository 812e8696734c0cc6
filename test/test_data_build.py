"""fip-dataset on a small mocap folder (real shared files plus a broken one): index shape, split by subject,
dropped clips with a reason, up-to-date clips skipped on a re-run."""

import json
import os
import shutil

import pytest

from fip_ros.cli.dataset import main
from fip_ros.data.build_dataset import build
from fip_ros.data.motion import Motion
from fip_ros.data.paths import default_mocap_dir

SHARED = default_mocap_dir()
FILES = ["hdm05/tr/HDM_tr.asf", "hdm05/tr/HDM_tr_rotateArmsBothBackward1Reps_014_120.amc",
         "cmu-daz/09_03.bvh", "cmu-iclone/007_12.bvh", "cmu-acrnn/SOURCE-readme.txt",
         "cmu-acrnn/salsa/10.bvh", "cmu-acrnn/salsa/25.bvh", "cmu-expmap/skeleton.json",
         "cmu-expmap/train/running/running_1.txt"]
pytestmark = pytest.mark.skipif(not all((SHARED / f).exists() for f in FILES),
                                reason="shared mocap not found")


@pytest.fixture
def mocap(tmp_path):
    root = tmp_path / "mocap"
    for f in FILES:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).symlink_to(SHARED / f)
    (root / "cmu-daz" / "14_99.bvh").write_text("HIERARCHY\nROOT hip\n{\n")  # truncated file
    return root


def test_build_index_and_rerun(mocap, tmp_path, capsys):
    out = tmp_path / "dataset"
    assert main(["--mocap", str(mocap), "--out", str(out)]) == 0
    assert "dropped cmu-daz/14_99.npz" in capsys.readouterr().out
    index = json.loads((out / "index.json").read_text())
    assert set(index) == {"splits", "clips", "dropped"}
    assert index["splits"] == {"train": ["cmu-acrnn/salsa_10.npz", "cmu-acrnn/salsa_25.npz",
                                         "cmu-daz/09_03.npz", "cmu-expmap/running-train-running_1.npz"],
                               "val": [],  # CMU 07 and HDM05 tr are test
                               "test": ["cmu-iclone/007_12.npz",
                                        "hdm05/HDM_tr_rotateArmsBothBackward1Reps_014_120.npz"]}
    assert list(index["dropped"]) == ["cmu-daz/14_99.npz"] and index["dropped"]["cmu-daz/14_99.npz"]
    entry = index["clips"]["cmu-iclone/007_12.npz"]
    assert set(entry) == {"subject", "source", "activity", "frames", "minutes"}
    # salsa is 60 Hz although its header says 120: 1198 frames stay 1198 at 60 Hz (not 599)
    salsa = [index["clips"][f"cmu-acrnn/salsa_{n}.npz"] for n in (10, 25)]
    assert [(e["subject"], e["activity"], e["frames"]) for e in salsa] == [("cmu-salsa-10", "salsa",
                                                                             1198)] * 2
    run = index["clips"]["cmu-expmap/running-train-running_1.npz"]
    assert (run["subject"], run["activity"]) == ("cmu-expmap", "running")
    assert run["frames"] == 84  # 168 lines at 120 Hz less the leading rest frame: 167 -> 84 at 60 Hz
    m = Motion.load_npz(out / "cmu-iclone/007_12.npz")
    assert (entry["subject"], entry["source"]) == ("cmu-07", "cmu-iclone")
    assert (m.subject, m.source, m.name, m.fps) == ("cmu-07", "cmu-iclone", "007_12", 60.0)
    assert entry["frames"] == m.frames and entry["minutes"] == pytest.approx(m.frames / 3600, abs=1e-4)
    assert m.local_rot.shape == (m.frames, 24, 3, 3) and m.offsets.shape == (24, 3) and m.body.shape == (4,)

    built = {k: os.stat(out / k).st_ctime_ns for k in index["clips"]}
    link = mocap / "cmu-daz/09_03.bvh"
    link.unlink()
    shutil.copy(SHARED / "cmu-daz/09_03.bvh", link)  # a newer source file: rebuilt, the others skipped
    assert build(mocap, out) == index
    rebuilt = {k for k in built if os.stat(out / k).st_ctime_ns != built[k]}
    assert rebuilt == {"cmu-daz/09_03.npz"}


def test_missing_mocap_folder_fails_cleanly(tmp_path, capsys):
    assert main(["--mocap", str(tmp_path / "nothing"), "--out", str(tmp_path / "out")]) == 2
    assert "no clips" in capsys.readouterr().err
