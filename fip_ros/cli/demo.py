"""``fip-demo`` (``make demo``): one held-out mocap clip end to end through the ROS graph, scored and drawn
(``fip_ros.demo``)."""

import os
import random
import sys
from pathlib import Path

from fip_ros.cli import parser
from fip_ros.data.paths import default_mocap_dir

# Walking, CMU subject 07 (held out: the test split of config/dataset_split.yaml), its longest trial (4.3 s).
DEFAULT_CLIP = "cmu-iclone/007_05"


def build_parser():
    p = parser("fip-demo", "One held-out mocap clip, end to end through the ROS graph, scored and drawn: "
               "writes metrics.json, estimate.npz (for fip-view), skeleton.gif, contact_sheet.png and "
               "dynamics.png to --out.")
    p.add_argument("--mocap", type=Path, default=default_mocap_dir(),
                   help="mocap folder ($FIP_MOCAP_DIR, else the repo's ../shared/data/mocap)")
    p.add_argument("--clip", default=DEFAULT_CLIP,
                   help="file name without extension, e.g. 16_02 or cmu-daz/16_02")
    p.add_argument("--seconds", type=float, default=20.0, help="first seconds of the clip to play (0 = all)")
    p.add_argument("--weights", type=Path, default=None, help="FIP checkpoint (default: shipped weights)")
    p.add_argument("--backend", choices=("torch", "onnx"), default="onnx", help="the estimator's backend")
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    p.add_argument("--rate", type=float, default=1.0,
                   help="replay speed (1 = real time, as live sensors; the stamps follow the wall clock, so "
                        "the estimator sees the motion that much faster or slower)")
    p.add_argument("--tpose-seconds", type=float, default=3.0, help="still T-pose replayed before the clip")
    p.add_argument("--domain-id", type=int, default=None,
                   help="ROS domain of the demo graph (default: $ROS_DOMAIN_ID, else a random free-ish one)")
    p.add_argument("--offline", action="store_true", help="skip ROS: offline API only")
    return p


def main(argv=None) -> int:
    opts = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if opts.domain_id is None:
        env = os.environ.get("ROS_DOMAIN_ID")
        opts.domain_id = int(env) if env else random.SystemRandom().randint(101, 200)
    from fip_ros.demo import DemoError, report, run

    try:
        metrics = run(opts)
    except (DemoError, FileNotFoundError, ValueError) as exc:
        print(f"fip-demo: error: {exc}", file=sys.stderr)
        return 1
    print(report(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
