"""Walking with ground-truth kinematics (CMU 07_01 retargeted): moment peaks and vertical GRF land in a
generous band (0.4x-2.5x) around the reference values of docs/physics.md (/work/shared/reference)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from fip_ros.core.body_model import body_dict
from fip_ros.core.gravity import GRAVITY
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.data.split import load_split_config
from fip_ros.finetune.clips import DATASET, MOCAP, from_mocap, held_out_subject, walking_clips
from fip_ros.physics.contact import contact_from_trajectory
from fip_ros.physics.dynamics_estimator import analyse
from fip_ros.physics.segments import build_segments

MASS = 73.0
# SMPL bodies (left, right), sign of the child-frame x moment, reference peak (N m/kg, walking 1.29 m/s).
REFERENCE = {"hip extension": ((1, 2), 1.0, 0.51), "knee extension": ((4, 5), -1.0, 1.00),
             "ankle plantarflexion": ((7, 8), 1.0, 1.70)}


@pytest.mark.skipif(not Path(MOCAP, "cmu-daz/07_01.bvh").exists(), reason="shared mocap not available")
def test_walking_moment_peaks_in_band():
    clip = from_mocap("cmu-daz/07_01.bvh")
    body = body_dict(clip.body)
    off = torch.as_tensor(clip.offsets, dtype=torch.float64)
    rot = torch.as_tensor(clip.local_rot, dtype=torch.float64)
    tran = torch.as_tensor(clip.tran, dtype=torch.float64)
    seg = build_segments(off, MASS, body["height"], body["sex"])
    _, pos = forward_kinematics(rot, off, tran)
    _, contact, floor = contact_from_trajectory(pos, body["height"])
    out = analyse(rot, tran, contact, off, seg, window=15, floor=floor)
    inner = slice(10, -10)
    for name, (bodies, sign, ref) in REFERENCE.items():
        peak = float((sign * out["moments_local"][inner][:, list(bodies), 0]).max()) / MASS
        assert 0.4 * ref < peak < 2.5 * ref, (name, peak)
    grf = float(out["grf"][inner][..., 1].sum(-1).max()) / (MASS * GRAVITY)
    assert 0.9 < grf < 1.8, grf
    # The feet explain the body's motion most of the time: median residual below 10 % of body weight.
    assert float(out["residual_force"][inner].norm(dim=-1).median()) < 0.1 * MASS * GRAVITY


@pytest.mark.skipif(not Path(DATASET, "index.json").exists(), reason="dataset not built (fip-dataset)")
def test_held_out_walking_by_source():
    """The bench's held-out walking sets: test-split CMU 07 clips of the one source asked for."""
    clips = walking_clips(3, source="cmu-iclone")
    assert clips and all(c.source == "cmu-iclone" and c.subject == "cmu-07" for c in clips)


@pytest.mark.skipif(not Path(MOCAP, "cmu-iclone/007_01.bvh").exists(), reason="shared mocap not available")
def test_finetune_demo_person_is_one_held_out_subject(tmp_path):
    """fip-finetune --demo's recordings (imported from the mocap when no dataset is built): one person, in the
    test split that the shipped weights never saw."""
    clips = held_out_subject(data=tmp_path)
    assert len(clips) == 12 and {c.subject for c in clips} == {"cmu-07"}
    assert all(np.allclose(c.offsets, clips[0].offsets, atol=1e-4) for c in clips)
    assert load_split_config()["cmu-07"] == "test"
