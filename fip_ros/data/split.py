"""Subject ids of mocap clips and the held-out split by subject (``config/dataset_split.yaml``)."""

import re
from pathlib import Path

import yaml

SPLIT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "dataset_split.yaml"
SPLITS = ("train", "val", "test")


def subject_of(source: str, clip: str) -> str:
    """Subject id of a clip: ``cmu-daz``/``cmu-iclone`` ``07_05``/``007_05`` -> ``cmu-07`` (same CMU
    subject in both sources), ``hdm05`` ``HDM_bd_walk_001_120`` -> ``hdm-bd``."""
    if source.startswith("cmu"):
        m = re.match(r"0*(\d+)_", clip)
        if m:
            return f"cmu-{int(m.group(1)):02d}"
    elif source == "hdm05":
        m = re.match(r"HDM_([a-z]+)_", clip)
        if m:
            return f"hdm-{m.group(1)}"
    raise ValueError(f"cannot tell the subject of {source}/{clip}")


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
