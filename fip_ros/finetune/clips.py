"""Walking clips for the physics benchmarks and the fine-tuning demo.

From the dataset builder's held-out split (``.cache/dataset/index.json``) when it exists, keeping clips of the
walking subjects; otherwise imported straight from the shared mocap.
"""

import json
from pathlib import Path

from fip_ros.data.build_dataset import import_clip
from fip_ros.data.motion import Motion
from fip_ros.data.paths import DATASET_DIR, REPO, default_mocap_dir

DATASET = REPO / DATASET_DIR
MOCAP = default_mocap_dir()
# The fine-tuning demo's person: CMU subject 07 (test split), its twelve walking trials, preferred source.
HELD_OUT_SUBJECT = ("cmu-iclone", "cmu-07", [f"cmu-iclone/007_{i:02d}.bvh" for i in range(1, 13)])
# CMU subjects 07 and 08 walk in every trial; HDM05 classes named walk*.
WALK_HINTS = ("07_", "08_", "007_", "walk")
FALLBACK = ("cmu-daz/07_01.bvh", "cmu-daz/07_02.bvh", "cmu-daz/08_01.bvh", "cmu-daz/08_02.bvh")


def _is_walk(name: str) -> bool:
    low = name.lower()
    return any(low.startswith(h) or (h == "walk" and h in low) for h in WALK_HINTS)


def walking_clips(limit: int = 4, split: str = "test", data=DATASET,
                  source: str | None = None) -> list[Motion]:
    """Walking clips of ``split`` (only those of ``source``, e.g. 'cmu-iclone', when given)."""
    index = Path(data) / "index.json"
    if index.exists():
        files = json.loads(index.read_text())["splits"].get(split, [])
        files = [f for f in files if source is None or Path(f).parent.name == source]
        clips = [Motion.load_npz(Path(data) / f) for f in files if _is_walk(Path(f).stem)]
        clips = [c for c in clips if _is_walk(c.name or "")] or clips
        if clips:
            return clips[:limit]
    return [from_mocap(rel) for rel in FALLBACK if source is None or rel.startswith(f"{source}/")][:limit]


def held_out_subject(data=DATASET) -> list[Motion]:
    """All walking trials of one test-split person (HELD_OUT_SUBJECT): from the dataset when it is built,
    else retargeted from the shared mocap."""
    source, subject, files = HELD_OUT_SUBJECT
    clips = [c for c in walking_clips(len(files), data=data, source=source) if c.subject == subject]
    return clips or [from_mocap(rel) for rel in files]


def from_mocap(rel: str) -> Motion:
    """One clip of the shared mocap (path relative to it), imported as the dataset builder does (a fraction of
    a second: not cached, so it always follows the current retargeting)."""
    source, name = rel.split("/")[0], Path(rel).stem
    return import_clip(source, name, (MOCAP / rel,))
