"""Walking clips for the physics benchmarks and the fine-tuning demo.

From the dataset builder's held-out split (``.cache/dataset/index.json``) when it exists, keeping clips of the
walking subjects; otherwise retargeted straight from the shared mocap (cached under ``.cache/physics``).
"""

import json
from pathlib import Path

from fip_ros.data.motion import Motion

DATASET = Path(".cache/dataset")
CACHE = Path(".cache/physics")
MOCAP = Path("/work/shared/data/mocap")
# CMU subjects 07 and 08 walk in every trial; HDM05 classes named walk*.
WALK_HINTS = ("07_", "08_", "007_", "walk")
FALLBACK = ("cmu-daz/07_01.bvh", "cmu-daz/07_02.bvh", "cmu-daz/08_01.bvh", "cmu-daz/08_02.bvh")


def _is_walk(name: str) -> bool:
    low = name.lower()
    return any(low.startswith(h) or (h == "walk" and h in low) for h in WALK_HINTS)


def walking_clips(limit: int = 4, split: str = "test", data=DATASET) -> list[Motion]:
    index = Path(data) / "index.json"
    if index.exists():
        files = json.loads(index.read_text())["splits"].get(split, [])
        clips = [Motion.load_npz(Path(data) / f) for f in files if _is_walk(Path(f).stem)]
        clips = [c for c in clips if _is_walk(c.name or "")] or clips
        if clips:
            return clips[:limit]
    return [_retargeted(rel) for rel in FALLBACK[:limit]]


def _retargeted(rel: str) -> Motion:
    out = CACHE / (rel.replace("/", "_").replace(".bvh", ".npz"))
    if out.exists():
        return Motion.load_npz(out)
    from fip_ros.data.bvh import read_bvh
    from fip_ros.data.retarget import retarget

    name = Path(rel).stem
    motion = retarget(read_bvh(MOCAP / rel), subject=f"cmu-{name.split('_')[0]}", source=rel.split("/")[0],
                      name=name)
    motion.save_npz(out)
    return motion
