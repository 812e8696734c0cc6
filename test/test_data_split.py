"""Held-out split by subject: subject ids, the configured split, no subject shared between splits."""

import pytest

from fip_ros.data.build_dataset import discover
from fip_ros.data.paths import default_mocap_dir
from fip_ros.data.split import activity_of, assign_splits, load_split_config, subject_of


@pytest.mark.parametrize("source, clip, subject", [
    ("cmu-daz", "07_05", "cmu-07"), ("cmu-iclone", "007_05", "cmu-07"), ("cmu-daz", "16_01", "cmu-16"),
    ("cmu-iclone", "102_03", "cmu-102"), ("hdm05", "HDM_bd_walk4StepsLstart_001_120", "hdm-bd"),
    ("cmu-acrnn", "salsa_03", "cmu-salsa-03"), ("cmu-acrnn", "salsa_18", "cmu-salsa-03"),
    ("cmu-acrnn", "salsa_15", "cmu-salsa-15"), ("cmu-acrnn", "martial_04", "cmu-martial"),
    ("cmu-expmap", "walking_extra-test-walking_12", "cmu-expmap")])
def test_subject_ids_merge_cmu_sources(source, clip, subject):
    assert subject_of(source, clip) == subject


@pytest.mark.parametrize("source, clip, activity", [
    ("cmu-expmap", "walking_extra-test-walking_12", "walking"),
    ("cmu-expmap", "basketball_signal-train-basketball_signal_3", "basketball_signal"),
    ("cmu-acrnn", "indian_04", "indian"), ("hdm05", "HDM_bd_grabHighR_001_120", "grab"),
    ("cmu-daz", "07_05", "cmu-daz")])
def test_activity_classes(source, clip, activity):
    assert activity_of(source, clip) == activity


def test_unknown_clip_name_is_an_error():
    with pytest.raises(ValueError):
        subject_of("hdm05", "walking")


def test_configured_held_out_subjects():
    held = load_split_config()
    test = {"hdm-tr", "cmu-16", "cmu-07", "cmu-salsa-01"}
    assert {s for s, split in held.items() if split == "test"} == test
    assert {s for s, split in held.items() if split == "val"} == {"hdm-mm", "cmu-14", "cmu-salsa-02"}


def test_subject_listed_twice_is_rejected(tmp_path):
    cfg = tmp_path / "split.yaml"
    cfg.write_text("test: [cmu-16]\nval: [cmu-16]\n")
    with pytest.raises(ValueError, match="cmu-16"):
        load_split_config(cfg)


def test_shared_clips_no_subject_in_two_splits():
    jobs = discover(default_mocap_dir())
    if not jobs:
        pytest.skip("shared mocap data not found")
    subjects = {f"{src}/{name}.npz": subject_of(src, name) for src, name, _ in jobs}
    splits = assign_splits(subjects, load_split_config())
    owners = {}
    for split, keys in splits.items():
        assert keys, f"empty {split} split"
        for key in keys:
            assert owners.setdefault(subjects[key], split) == split, f"{subjects[key]} in two splits"
    # The same CMU subject from both sources lands in one split (cmu-07 has daz and iclone clips).
    assert {k.split("/")[0] for k in splits["test"] if subjects[k] == "cmu-07"} == {"cmu-daz", "cmu-iclone"}
    assert sum(len(v) for v in splits.values()) == len(jobs)
    # Both partners of a held-out salsa recording are held out; every cmu-expmap clip is in train.
    assert {"cmu-acrnn/salsa_01.npz", "cmu-acrnn/salsa_16.npz"} <= set(splits["test"])
    assert all(subjects[k] != "cmu-expmap" for k in splits["test"] + splits["val"])
    assert sum(subjects[k] == "cmu-expmap" for k in splits["train"]) == 96
