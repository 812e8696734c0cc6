"""Subject ids of mocap clips and the held-out split by subject (``config/dataset_split.yaml``)."""

import re
from pathlib import Path

import yaml

SPLIT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "dataset_split.yaml"
SPLITS = ("train", "val", "test")


SALSA_PARTNER = 15  # cmu-acrnn salsa/NN.bvh and salsa/(NN+15).bvh are the two partners of one recording


def subject_of(source: str, clip: str) -> str:
    """Subject id of a clip: ``cmu-daz``/``cmu-iclone`` ``07_05``/``007_05`` -> ``cmu-07`` (same CMU
    subject in both sources), ``hdm05`` ``HDM_bd_walk_001_120`` -> ``hdm-bd``. ``cmu-acrnn``: one id per
    salsa recording for both partners (``salsa_03``, ``salsa_18`` -> ``cmu-salsa-03``: the same two dancers
    are in every recording, so a held-out recording is the closest to a held-out subject), ``cmu-indian``
    and ``cmu-martial`` (one dancer, one fighter). ``cmu-expmap``: ``cmu-expmap`` (its subjects are lost)."""
    if source == "cmu-expmap":
        return "cmu-expmap"
    if source == "cmu-acrnn":
        m = re.match(r"([a-z]+)_(\d+)$", clip)
        if m and m.group(1) == "salsa":
            n = int(m.group(2))
            return f"cmu-salsa-{n - SALSA_PARTNER if n > SALSA_PARTNER else n:02d}"
        if m:
            return f"cmu-{m.group(1)}"
    elif source.startswith("cmu"):
        m = re.match(r"0*(\d+)_", clip)
        if m:
            return f"cmu-{int(m.group(1)):02d}"
    elif source == "hdm05":
        m = re.match(r"HDM_([a-z]+)_", clip)
        if m:
            return f"hdm-{m.group(1)}"
    raise ValueError(f"cannot tell the subject of {source}/{clip}")


def activity_of(source: str, clip: str) -> str:
    """Activity class of a clip, for the minutes per class in docs/data.md: the cmu-acrnn class folder, the
    cmu-expmap action (``walking_extra`` counts as walking), the HDM05 action's first word
    (``HDM_bd_grabHighR_001_120`` -> ``grab``), else the source's name (its file names do not say)."""
    if source == "cmu-expmap":
        action = clip.split("-")[0]
        return "walking" if action == "walking_extra" else action
    if source == "cmu-acrnn":
        return clip.split("_")[0]
    m = re.match(r"HDM_[a-z]+_([a-z]+)", clip) if source == "hdm05" else None
    return m.group(1) if m else source


def load_split_config(path=None) -> dict[str, str]:
    """-> {subject: 'val'|'test'} for the held-out subjects; ValueError if one is listed twice."""
    cfg = yaml.safe_load(Path(path or SPLIT_CONFIG).read_text())
    held: dict[str, str] = {}
    for split in ("val", "test"):
        for subject in cfg.get(split) or []:
            if subject in held:
                raise ValueError(f"subject {subject} is in both {held[subject]} and {split}")
            held[subject] = split
    return held


def split_of(subject: str, held: dict[str, str]) -> str:
    return held.get(subject, "train")


def assign_splits(clip_subjects: dict[str, str], held: dict[str, str]) -> dict[str, list[str]]:
    """{clip key: subject} -> {split: sorted clip keys}."""
    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    for key in sorted(clip_subjects):
        out[split_of(clip_subjects[key], held)].append(key)
    return out
