"""Root translation on the held-out split, measured as the field does (TransPose, PIP): the error of the root
displacement after 1, 5 and 10 s of travel, and the endpoint error as a percentage of the distance
travelled, for walking, running and jumping clips apart.

Each clip: clean IMUs synthesised from it -> FIP (shipped weights, first true frame as the initial pose,
fip-eval's gt_init) -> :class:`fip_ros.core.translation.TranslationEstimator` fed the same IMUs and FIP's
joints; "true pose" feeds the clip's own joints instead (the translation method apart from FIP's errors).
With ``corrupted``, both see the IMUs with fip-eval's sensor errors (``TEST_CORRUPTION``, seeded per clip).
"""

from pathlib import Path

import numpy as np
import torch

from fip_ros.core.body_model import body_dict, validate_body
from fip_ros.core.imu_synthesis import synthesize
from fip_ros.core.translation import estimate_translation
from fip_ros.data.build_dataset import import_clip
from fip_ros.data.motion import Motion
from fip_ros.data.paths import default_mocap_dir
from fip_ros.evaluation.evaluate import corrupted_imu
from fip_ros.training.dataset import clip_paths

# The held-out split's clips by activity (test subjects hdm-tr, cmu-16, cmu-07; HDM05 class names).
HELD_OUT = {
    "walking": [f"cmu-iclone/007_{i:02d}.bvh" for i in range(1, 13)]
    + [f"hdm05/tr/HDM_tr_sneak2StepsLStart_{i:03d}_120.amc" for i in (14, 15, 16)],
    "running": [f"hdm05/tr/HDM_tr_jogLeftCircle4StepsRstart_{i:03d}_120.amc" for i in (14, 15, 16, 17)],
    "jumping": ["cmu-daz/16_01.bvh", "cmu-daz/16_02.bvh"]
    + [f"hdm05/tr/HDM_tr_hopBothLegs1hops_{i:03d}_120.amc" for i in (34, 35, 36)],
}
# The validation split's (hdm-mm, cmu-14), on which the fusion's constants were chosen.
VALIDATION = {
    "walking": [f"hdm05/mm/HDM_mm_sneak2StepsLStart_{i:03d}_120.amc" for i in (11, 12, 13)]
    + ["cmu-daz/14_07.bvh", "cmu-daz/14_08.bvh"],
    "running": [f"hdm05/mm/HDM_mm_jogLeftCircle4StepsRstart_{i:03d}_120.amc" for i in (11, 12, 13)],
    "jumping": [f"hdm05/mm/HDM_mm_hopBothLegs1hops_{i:03d}_120.amc" for i in (31, 32, 33)],
}
HORIZONS = (1.0, 5.0, 10.0)  # s


def load_clip(rel: str, mocap=None):
    """A clip of the shared mocap by its path relative to it (HDM05: the actor's .asf beside it)."""
    path = Path(mocap or default_mocap_dir()) / rel
    source = rel.split("/")[0]
    files = (next(path.parent.glob("*.asf")), path) if source == "hdm05" else (path,)
    return import_clip(source, path.stem, files)


def run_clip(model, motion, use_fip: bool = True, corrupted: bool = False) -> dict:
    """-> dict(true (T,3), est (T,3), contact (T,2)) root paths from the origin, SMPL axes."""
    clip = motion.tensors(torch.float32)
    syn = synthesize(clip.local_rot, clip.offsets, clip.tran, motion.fps)
    acc, ori = corrupted_imu(syn["acc"], syn["ori"], motion.name) if corrupted else (syn["acc"], syn["ori"])
    acc, ori = acc.numpy(), ori.numpy()
    true = clip.tran.numpy().astype(np.float64)
    body = body_dict(clip.body)
    if use_fip:  # the public API's translation
        out = model.predict(acc, ori, validate_body(body), init_pose=clip.local_rot[0].numpy())
        est, contact = out["translation"].astype(np.float64), out["contact"]
    else:
        rel = (syn["joints"] - clip.tran[:, None]).numpy()
        est, contact = estimate_translation(acc, ori, rel, body["height"], motion.fps,
                                            model.translation_net())
    return dict(true=true - true[0], est=est, contact=contact, fps=motion.fps)


def horizontal_distance(path: np.ndarray) -> float:
    """Length (m) of a (T, 3) path in the SMPL world's horizontal plane (x, z)."""
    return float(np.linalg.norm(np.diff(path[:, [0, 2]], axis=0), axis=-1).sum())


def clip_metrics(true: np.ndarray, est: np.ndarray, fps: float) -> dict:
    """Displacement error after each horizon (mean over start frames every 0.25 s; NaN when the clip is
    shorter), endpoint error (m) and as % of the horizontal distance travelled, the 10 s drift (the endpoint
    error scaled to 10 s), distance (m) and duration (s)."""
    out = {}
    n = len(true)
    for h in HORIZONS:
        k = int(round(h * fps))
        if k >= n:
            out[f"err_{h:g}s"] = float("nan")
            continue
        starts = np.arange(0, n - k, max(1, int(fps / 4)))
        d = (est[starts + k] - est[starts]) - (true[starts + k] - true[starts])
        out[f"err_{h:g}s"] = float(np.linalg.norm(d, axis=-1).mean())
    dist = horizontal_distance(true)
    end = float(np.linalg.norm(est[-1] - true[-1]))
    secs = (n - 1) / fps
    out.update(end=end, end_pct=100.0 * end / max(dist, 1e-6), dist=dist, secs=secs,
               drift_10s=end * 10.0 / secs, vertical_end=float(abs(est[-1, 1] - true[-1, 1])))
    return out


def summarise(per_clip: list[dict]) -> dict:
    """Mean of each metric over clips (NaNs, clips too short for a horizon, left out); the endpoint % is the
    summed endpoint error over the summed distance."""
    keys = per_clip[0].keys()
    out = {k: float(np.nanmean([c[k] for c in per_clip])) if any(np.isfinite(c[k]) for c in per_clip)
           else float("nan") for k in keys}
    out["end_pct"] = 100.0 * sum(c["end"] for c in per_clip) / max(sum(c["dist"] for c in per_clip), 1e-6)
    out["clips"] = len(per_clip)
    return out


def evaluate(model, sets=HELD_OUT, use_fip: bool = True, mocap=None, limit=None, corrupted: bool = False
             ) -> tuple[dict, dict]:
    """-> ({activity: summary}, {activity: [(clip, run dict)]})."""
    summaries, runs = {}, {}
    for activity, rels in sets.items():
        rels = rels[:limit] if limit else rels
        runs[activity] = [(rel, run_clip(model, load_clip(rel, mocap), use_fip, corrupted)) for rel in rels]
        summaries[activity] = summarise([clip_metrics(r["true"], r["est"], r["fps"])
                                         for _, r in runs[activity]])
    return summaries, runs


def evaluate_split(model, data, split: str = "test", use_fip: bool = True, corrupted: bool = False) -> dict:
    """Every clip of a built dataset's split (``fip-dataset``'s ``index.json``), whatever its activity
    (dances, kicks, squats, lying down): :func:`summarise` over them all."""
    runs = [run_clip(model, Motion.load_npz(p), use_fip, corrupted) for p in clip_paths(data, split)]
    return summarise([clip_metrics(r["true"], r["est"], r["fps"]) for r in runs])


def format_summary(activity: str, s: dict) -> str:
    errs = " / ".join("n/a" if not np.isfinite(s[f"err_{h:g}s"]) else f"{s[f'err_{h:g}s']:.2f}"
                      for h in HORIZONS)
    return (f"{activity:8s} {s['clips']:2d} clips ({s['secs']:.1f} s, {s['dist']:.2f} m): error after "
            f"1/5/10 s {errs} m; endpoint {s['end']:.2f} m = {s['end_pct']:.1f} % of distance; "
            f"{s['drift_10s']:.2f} m per 10 s; vertical at the end {s['vertical_end']:.3f} m")


def plot_top_view(runs: dict, path: Path):
    """True beside estimated root paths seen from above (x, z), one panel per activity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 5))
    for ax, (activity, items) in zip(np.atleast_1d(axes), runs.items(), strict=True):
        for i, (_, r) in enumerate(items):
            color = f"C{i % 10}"
            ax.plot(r["true"][:, 0], r["true"][:, 2], color=color, lw=1.5)
            ax.plot(r["est"][:, 0], r["est"][:, 2], color=color, lw=1.0, ls="--")
        ax.set_title(f"{activity}: true (solid), estimated (dashed)")
        ax.set_xlabel("x (m, SMPL)")
        ax.set_ylabel("z (m, SMPL)")
        ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
