"""Root translation figures on the held-out split (walking, running, jumping), beside the targets, and the
streaming step's cost. Clips are imported from the shared mocap on demand (no dataset needed).

Run: OMP_NUM_THREADS=1 python bench/bench_translation.py [--out out/translation] (about a minute; with a
built dataset, `fip-dataset`, also every clip of the split: 40 s more). Clean IMUs, then the same clips with
fip-eval's sensor errors.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from fip_ros.api import load_model
from fip_ros.core.translation import TranslationEstimator
from fip_ros.data.paths import default_mocap_dir
from fip_ros.evaluation.translation import (
    HELD_OUT,
    VALIDATION,
    evaluate,
    evaluate_split,
    format_summary,
    plot_top_view,
)

TARGETS = "targets: walking and running endpoint <= 10 % of the distance, walking <= 0.5 m per 10 s"


def step_cost(model, frames: int = 600) -> float:
    """Microseconds per TranslationEstimator.step on a still frame."""
    est = TranslationEstimator(1.75, net=model.translation_net())
    acc, ori, joints = np.zeros((6, 3)), np.repeat(np.eye(3)[None], 6, 0), np.zeros((24, 3))
    t = time.perf_counter()
    for _ in range(frames):
        est.step(acc, ori, joints)
    return (time.perf_counter() - t) / frames * 1e6


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("out/translation"))
    ap.add_argument("--val", action="store_true", help="the validation split instead of the held-out one")
    ap.add_argument("--data", type=Path, default=Path(".cache/dataset"),
                    help="built dataset (fip-dataset) for the figures over every clip of the split")
    args = ap.parse_args(argv)
    if not default_mocap_dir().is_dir():
        print(f"bench_translation: shared mocap {default_mocap_dir()} absent: nothing measured")
        return 0
    model = load_model()
    sets = VALIDATION if args.val else HELD_OUT
    split = "validation" if args.val else "held-out"
    print(f"## root translation, {split} split, shipped weights; {TARGETS}")
    have_data = (args.data / "index.json").is_file()
    if not have_data:
        print(f"every clip of the split: no dataset at {args.data} (fip-dataset builds it)")
    for corrupted in (False, True):
        imus = "IMUs with fip-eval's sensor errors (TEST_CORRUPTION)" if corrupted else "clean IMUs"
        for use_fip, pose in ((True, "FIP pose (fip_ros.api predict)"),
                              (False, "true pose (the method alone)")):
            summary, runs = evaluate(model, sets, use_fip=use_fip, corrupted=corrupted)
            print(f"### {pose}, {imus}")
            for activity, s in summary.items():
                print(format_summary(activity, s))
            if have_data:
                print(format_summary("all", evaluate_split(model, args.data, "val" if args.val else "test",
                                                           use_fip, corrupted)))
            if use_fip and not corrupted:
                path = args.out / "top_view.png"
                plot_top_view(runs, path)
                print(f"plot: {path}")
    print(f"streaming step: {step_cost(model):.0f} us/frame (16.7 ms budget at 60 Hz)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
