"""The bench's held-out walking sets and the fine-tuning demo's person (the moments and ground reactions
are checked against a gait lab with force plates in test_gait_lab.py)."""

from pathlib import Path

import numpy as np
import pytest

from fip_ros.data.split import load_split_config
from fip_ros.finetune.clips import DATASET, MOCAP, held_out_subject, walking_clips


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
