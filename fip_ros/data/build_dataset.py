"""``fip-dataset``: import every mocap clip of the shared sources into Motion npz files plus ``index.json``.

Sources under ``--mocap`` (default ``$FIP_MOCAP_DIR``, else ``../shared/data/mocap`` next to the repo):
``hdm05/<actor>/*.amc`` with the actor's ``.asf``, ``cmu-daz/*.bvh``, ``cmu-iclone/*.bvh``,
``cmu-acrnn/<class>/NN.bvh`` (clip ``<class>_NN``; frame rate per class from its ``SOURCE-readme.txt`` where
the headers are wrong) and ``cmu-expmap/{train,test}/<action>/*.txt`` (clip ``<action>-<folder>-<stem>``,
``fip_ros.data.expmap``). Each clip is parsed, retargeted to SMPL-24 (``fip_ros.data.retarget``) and written
to ``OUT/<source>/<clip>.npz`` (docs/CONTRACTS.md). A clip whose npz carries its source's mtime is not rebuilt
(``--force`` rebuilds).
``index.json``: ``{"splits": {split: [keys]}, "clips": {key: {subject, source, activity, frames, minutes}},
"dropped": {key: reason}}`` with keys ``<source>/<clip>.npz`` and the split by subject of
``fip_ros.data.split``.
"""

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from fip_ros.core.body_model import body_dict, validate_body
from fip_ros.data.asf_amc import read_asf, read_asf_amc
from fip_ros.data.bvh import read_bvh
from fip_ros.data.expmap import read_expmap
from fip_ros.data.motion import Motion
from fip_ros.data.retarget import retarget
from fip_ros.data.split import SPLITS, activity_of, assign_splits, load_split_config, subject_of

SOURCES = ("hdm05", "cmu-daz", "cmu-iclone", "cmu-acrnn", "cmu-expmap")
MIN_FRAMES = 30  # under 0.5 s at 60 Hz: too short for the synthesis stencil and any motion window


def discover(mocap: Path) -> list[tuple[str, str, tuple[Path, ...]]]:
    """-> [(source, clip name, source files)]; HDM05 clips list the actor's .asf first, cmu-expmap clips
    their skeleton.json."""
    jobs = []
    for asf in sorted((mocap / "hdm05").glob("*/*.asf")):
        jobs += [("hdm05", amc.stem, (asf, amc)) for amc in sorted(asf.parent.glob("*.amc"))]
    for source in ("cmu-daz", "cmu-iclone"):
        jobs += [(source, bvh.stem, (bvh,)) for bvh in sorted((mocap / source).glob("*.bvh"))]
    jobs += [("cmu-acrnn", f"{bvh.parent.name}_{bvh.stem}", (bvh,))
             for bvh in sorted((mocap / "cmu-acrnn").glob("*/*.bvh"))]
    skeleton = mocap / "cmu-expmap" / "skeleton.json"
    jobs += [("cmu-expmap", f"{txt.parent.name}-{txt.parent.parent.name}-{txt.stem}", (skeleton, txt))
             for txt in sorted((mocap / "cmu-expmap").glob("*/*/*.txt"))]
    return jobs


@lru_cache
def class_rates(folder: Path) -> dict[str, float]:
    """``{class: fps}`` from a ``SOURCE-readme.txt`` with lines ``<class> framerate <fps>`` ({} if none)."""
    readme = folder / "SOURCE-readme.txt"
    lines = readme.read_text(encoding="latin-1").splitlines() if readme.is_file() else []
    return {p[0]: float(p[2]) for p in map(str.split, lines) if len(p) == 3 and p[1].lower() == "framerate"}


@lru_cache
def _skeleton(asf: Path) -> dict:
    return read_asf(asf)


def _mtime(files) -> float:
    return max(f.stat().st_mtime for f in files)


def import_clip(source: str, name: str, files) -> Motion:
    """Parse and retarget one clip; ValueError if the result is unusable."""
    if source == "hdm05":
        clip = read_asf_amc(files[0], files[1], fps=120.0, skeleton=_skeleton(files[0]))
    elif source == "cmu-expmap":
        clip = read_expmap(files[1], skeleton=files[0])
    else:
        clip = read_bvh(files[0])
        fps = class_rates(files[0].parents[1]).get(files[0].parent.name) if source == "cmu-acrnn" else None
        if fps:  # the publisher's stated rate beats the header's (cmu-acrnn salsa: 60 Hz, headers say 120)
            clip = replace(clip, fps=fps)
    motion = retarget(clip, subject=subject_of(source, name), source=source, name=name)
    if motion.frames < MIN_FRAMES:
        raise ValueError(f"too short: {motion.frames} frames at 60 Hz")
    if not (np.isfinite(motion.local_rot).all() and np.isfinite(motion.tran).all()):
        raise ValueError("non-finite rotations or translation")
    validate_body(body_dict(motion.body))  # implausible skeleton = wrong units or joint map
    return motion


def _build_one(job, out: Path, force: bool) -> tuple[str, dict | None, str | None]:
    """-> (key, clip entry or None, drop reason or None); writes OUT/<source>/<clip>.npz."""
    source, name, files = job
    key = f"{source}/{name}.npz"
    path = out / key
    mtime = _mtime(files)
    try:
        if force or not path.exists() or path.stat().st_mtime != mtime:
            import_clip(source, name, files).save_npz(path)
            os.utime(path, (mtime, mtime))  # the source's mtime marks the npz as up to date
        with np.load(path) as z:
            frames, fps = int(z["tran"].shape[0]), float(z["fps"])
    except Exception as exc:  # noqa: BLE001 (any failure of one file drops that clip, with its reason)
        return key, None, f"{type(exc).__name__}: {exc}"
    entry = dict(subject=subject_of(source, name), source=source, activity=activity_of(source, name),
                 frames=frames,
                 minutes=round(frames / fps / 60.0, 4))
    return key, entry, None


def build(mocap: Path, out: Path, workers: int = 1, force: bool = False, split_config=None) -> dict:
    """Build (or update) the dataset; returns and writes the index."""
    jobs = discover(Path(mocap))
    if not jobs:
        raise FileNotFoundError(f"no clips under {mocap} (expected {', '.join(SOURCES)} folders)")
    out = Path(out)
    held = load_split_config(split_config)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_build_one, jobs, [out] * len(jobs), [force] * len(jobs), chunksize=4))
    else:
        results = [_build_one(job, out, force) for job in jobs]
    clips = {k: e for k, e, _ in results if e is not None}
    dropped = {k: r for k, _, r in results if r is not None}
    splits = assign_splits({k: e["subject"] for k, e in clips.items()}, held)
    index = {"splits": splits, "clips": clips, "dropped": dropped}
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "index.json.tmp"
    tmp.write_text(json.dumps(index, indent=1))
    tmp.replace(out / "index.json")  # atomic: a training run may be reading it
    return index


def summary(index: dict) -> str:
    lines = []
    for split in SPLITS:
        keys = index["splits"][split]
        minutes = sum(index["clips"][k]["minutes"] for k in keys)
        subjects = sorted({index["clips"][k]["subject"] for k in keys})
        lines.append(f"{split:5s} {len(keys):4d} clips {minutes:6.2f} min, {len(subjects)} subjects: "
                     + " ".join(subjects))
    for key, reason in sorted(index["dropped"].items()):
        lines.append(f"dropped {key}: {reason}")
    return "\n".join(lines)
