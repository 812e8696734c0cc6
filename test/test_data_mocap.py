"""The shared mocap clips of each source load, retarget to plausible SMPL-24 motion, and walk forward."""


import numpy as np
import pytest
import torch

from fip_ros.core.body_model import body_dict, validate_body
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.data.asf_amc import read_asf_amc
from fip_ros.data.bvh import read_bvh
from fip_ros.data.paths import default_mocap_dir
from fip_ros.data.retarget import detect_rig, retarget

MOCAP = default_mocap_dir()
pytestmark = pytest.mark.skipif(not MOCAP.is_dir(), reason="shared mocap not available")

CLIPS = {  # one clip per source and rig (16_01 is the 30 Hz CMU BVH with ASF bone names)
    "hdm05": ("cmu_asf", "hdm05/bd/HDM_bd_sneak2StepsLStart_001_120.amc"),
    "cmu-daz": ("daz", "cmu-daz/02_01.bvh"),
    "cmu-daz-30hz": ("cmu_bvh_asf_names", "cmu-daz/16_01.bvh"),
    "cmu-iclone": ("cc_base", "cmu-iclone/007_01.bvh"),  # (subject 1 climbs a playground: feet off the floor)
}


def _load(rel):
    path = MOCAP / rel
    if path.suffix == ".amc":
        return read_asf_amc(next(path.parent.glob("*.asf")), path, fps=120.0)
    return read_bvh(path)


def _joints(motion):
    return forward_kinematics(torch.from_numpy(motion.local_rot).double(),
                              torch.from_numpy(motion.offsets).double(),
                              torch.from_numpy(motion.tran).double())


@pytest.mark.parametrize("key", sorted(CLIPS))
def test_source_retargets_plausibly(key):
    rig, rel = CLIPS[key]
    clip = _load(rel)
    assert detect_rig(clip.names) == rig
    m = retarget(clip)
    assert m.fps == 60.0 and m.frames > 60
    duration = (clip.local_rot.shape[0] - 1) / clip.fps
    assert abs((m.frames - 1) / 60.0 - duration) < 2 / 60.0
    for arr in (m.local_rot, m.tran, m.offsets, m.body):
        assert np.isfinite(arr).all()
    body = validate_body(body_dict(m.body))  # height, arm and leg lengths in their plausible ranges
    assert 1.4 < body["height"] < 2.1
    _, pos = _joints(m)
    pos = pos.numpy()
    feet_y = pos[:, [7, 8, 10, 11], 1].min(1)
    assert feet_y.min() == pytest.approx(0.0, abs=1e-4)
    assert np.median(feet_y) < 0.12  # a foot is near the floor most of the time
    assert (pos[:, 15, 1] > pos[:, 0, 1]).mean() > 0.7  # head above the pelvis most of the time


def test_tpose_at_clip_start():
    """cmu-daz 02_01 starts in a T-pose: near-identity local rotations at frame 0."""
    m = retarget(_load("cmu-daz/02_01.bvh"))
    _, pos = _joints(m)
    p = pos[0].numpy()
    assert p[16, 0] - p[17, 0] > 0  # left shoulder on +x
    arm = p[20] - p[16]
    assert abs(arm[1]) / np.linalg.norm(arm) < 0.25  # arms horizontal
    leg = p[7] - p[1]
    assert leg[1] / np.linalg.norm(leg) < -0.95  # legs down


def test_walking_moves_forward_with_alternating_feet():
    m = retarget(_load("cmu-daz/07_01.bvh"))  # CMU subject 7, walking
    glob, pos = _joints(m)
    pos, glob = pos.numpy(), glob.numpy()
    step = pos[-1, 0] - pos[0, 0]
    step[1] = 0
    assert np.linalg.norm(step) > 1.0
    heading = glob[:, 0, :, 2] * [1, 0, 1]  # pelvis forward (z) axis on the floor
    heading /= np.linalg.norm(heading, axis=1, keepdims=True)
    velocity = np.gradient(pos[:, 0], axis=0) * 60 * [1, 0, 1]
    moving = np.linalg.norm(velocity, axis=1) > 0.3
    cos = (heading * velocity).sum(1)[moving] / np.linalg.norm(velocity[moving], axis=1)
    assert np.median(cos) > 0.8  # walks the way the pelvis faces (+z of the body)
    ahead = ((pos[:, 7] - pos[:, 8]) * heading).sum(1)  # left ankle ahead of the right one
    crossings = np.count_nonzero(np.diff(np.sign(ahead[np.abs(ahead) > 0.05])))
    assert crossings >= 2
