"""Clips imported the dataset builder's way (``import_clip``): plausible bodies on the floor, the cmu-iclone
rest-frame jump cut, and walking in the held-out test split."""

import numpy as np
import pytest
import torch

from fip_ros.core.kinematics import forward_kinematics
from fip_ros.data.build_dataset import discover, import_clip
from fip_ros.data.paths import default_mocap_dir
from fip_ros.data.split import load_split_config, split_of, subject_of

JOBS = {(src, name): files for src, name, files in discover(default_mocap_dir())}
pytestmark = pytest.mark.skipif(not JOBS, reason="shared mocap data not found")
FEET = [7, 8, 10, 11]


def load(source, name):
    return import_clip(source, name, JOBS[(source, name)])


def joints(m):
    return forward_kinematics(torch.from_numpy(m.local_rot).double(), torch.from_numpy(m.offsets).double(),
                              torch.from_numpy(m.tran).double())[1].numpy()


def walking(m) -> bool:
    """The pelvis travels forward (along its facing) while the feet take turns leading."""
    j = joints(m)
    step = m.tran[-1, [0, 2]] - m.tran[0, [0, 2]]
    travel = np.linalg.norm(step)
    facing = m.local_rot[:, 0][:, [0, 2], 2]  # pelvis z axis (forward), horizontal part
    forward = np.mean(facing @ step / (np.linalg.norm(facing, axis=1) * travel + 1e-9))
    lead = (j[:, 7, [0, 2]] - j[:, 8, [0, 2]]) @ (step / (travel + 1e-9))
    sign = np.sign(lead[np.abs(lead) > 0.1])
    return bool(travel > 0.8 and forward > 0.7 and np.count_nonzero(np.diff(sign)) >= 2)


@pytest.mark.parametrize("source, name", [("hdm05", "HDM_bd_depositFloorR_001_120"),
                                          ("cmu-iclone", "007_05")])
def test_imported_clip_plausible_body_on_floor(source, name):
    m = load(source, name)
    assert m.fps == 60 and m.frames >= 30 and m.subject == subject_of(source, name) and m.source == source
    assert np.isfinite(m.local_rot).all() and np.isfinite(m.tran).all()
    assert 1.4 <= m.body[1] <= 2.1
    feet_y = joints(m)[:, FEET, 1].min(1)  # lowest foot joint per frame
    assert abs(feet_y.min()) < 1e-4 and np.median(feet_y) < 0.12


def test_iclone_rest_frame_jump_is_cut():
    """cmu-iclone 007_05 starts with a rest frame 2.4 m from the take; the same trial in cmu-daz has none.
    With the jump cut the pelvis covers about the same distance in both (0.6x with it)."""
    iclone, daz = load("cmu-iclone", "007_05"), load("cmu-daz", "07_05")
    assert np.linalg.norm(np.diff(iclone.tran, axis=0), axis=1).max() * 60 < 5.0
    ratio = np.linalg.norm(iclone.tran[-1] - iclone.tran[0]) / np.linalg.norm(daz.tran[-1] - daz.tran[0])
    assert 0.9 < ratio < 1.4


def test_walking_check_can_fail():
    assert walking(load("cmu-daz", "07_05"))
    assert not walking(load("cmu-daz", "16_01"))  # jumps on the spot


def test_test_split_contains_walking():
    """CMU 16's shared trials (16_01, 16_02) are jumps; HDM05 tr's sneak-steps clips are the walks."""
    held = load_split_config()
    candidates = sorted(k for k in JOBS if split_of(subject_of(*k), held) == "test"
                        and any(w in k[1].lower() for w in ("walk", "sneak")))
    assert any(walking(load(*k)) for k in candidates[:3])
