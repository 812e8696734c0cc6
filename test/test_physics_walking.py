"""The bench's held-out walking sets and the fine-tuning demo's person (the moments and ground reactions
are checked against a gait lab with force plates in test_gait_lab.py)."""

from pathlib import Path

import numpy as np
import pytest

from fip_ros.data.build_dataset import build
from fip_ros.data.split import load_split_config
from fip_ros.finetune.clips import MOCAP, held_out_subject, walking_clips


@pytest.mark.skipif(not Path(MOCAP, "cmu-iclone/007_01.bvh").exists(), reason="shared mocap not available")
def test_held_out_walking_by_source(tmp_path):
    """The bench's held-out walking sets: test-split CMU 07 clips of the one source asked for, from a built
    dataset (a small one, built here from two test-split walks and a training one) and, without one, imported
    from the mocap."""
    mocap = tmp_path / "mocap"
    for rel in ("cmu-iclone/007_01.bvh", "cmu-iclone/007_02.bvh", "cmu-iclone/001_01.bvh"):  # CMU 01: train
        (mocap / rel).parent.mkdir(parents=True, exist_ok=True)
        (mocap / rel).symlink_to(MOCAP / rel)
    build(mocap, tmp_path / "dataset")
    built = walking_clips(3, data=tmp_path / "dataset", source="cmu-iclone")
    assert [(c.source, c.name, c.subject) for c in built] == [("cmu-iclone", "007_01", "cmu-07"),
                                                              ("cmu-iclone", "007_02", "cmu-07")]
    imported = walking_clips(3, data=tmp_path / "none", source="cmu-iclone")
    assert [(c.source, c.subject) for c in imported] == [("cmu-iclone", "cmu-07")] * 3
    assert np.allclose(imported[0].local_rot, built[0].local_rot, atol=1e-6)
    daz = walking_clips(2, data=tmp_path / "none", source="cmu-daz")
    assert [(c.name, c.subject) for c in daz] == [("07_01", "cmu-07"), ("07_02", "cmu-07")]


@pytest.mark.skipif(not Path(MOCAP, "cmu-iclone/007_01.bvh").exists(), reason="shared mocap not available")
def test_finetune_demo_person_is_one_held_out_subject(tmp_path):
    """fip-finetune --demo's recordings (imported from the mocap when no dataset is built): one person, in the
    test split that the shipped weights never saw."""
    clips = held_out_subject(data=tmp_path)
    assert len(clips) == 12 and {c.subject for c in clips} == {"cmu-07"}
    assert all(np.allclose(c.offsets, clips[0].offsets, atol=1e-4) for c in clips)
    assert load_split_config()["cmu-07"] == "test"
