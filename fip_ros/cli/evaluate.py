"""``fip-eval``: score FIP weights and baselines on held-out clips with synthesised IMUs
(``fip_ros.evaluation.evaluate``; the modes, methods and conditions are described there)."""

import sys
import time

from fip_ros.cli import parser
from fip_ros.data.paths import DATASET_DIR
from fip_ros.evaluation import CONDITIONS


def build_parser():
    p = parser("fip-eval", "Score FIP weights and baselines on held-out clips with synthesised IMUs, in two "
               "start-up modes (T-pose prefix, first true frame).\n\nWrites OUT/results.json, OUT/*.png and, "
               "with --report, the markdown report.")
    p.add_argument("--weights", default=None, help="checkpoint (default: the shipped fip_default.pt)")
    p.add_argument("--data", default=str(DATASET_DIR), help="dataset folder (index.json + clip npz files)")
    p.add_argument("--split", default="test", help="split of index.json to score")
    p.add_argument("--out", required=True, help="output folder for results.json and plots")
    p.add_argument("--smpl", default=None, help="SMPL model folder: adds the mesh error (default: none)")
    p.add_argument("--max-clips", type=int, default=None, help="score only the first N clips (default: all)")
    p.add_argument("--report", default=None,
                   help="also render the markdown report to this path (default: no report)")
    p.add_argument("--no-shape-weights", default=None,
                   help="checkpoint trained with shape_input false: adds the method fip_no_shape "
                        "(default: none)")
    p.add_argument("--conditions", nargs="*", choices=CONDITIONS, default=list(CONDITIONS),
                   help="extra conditions beside clean IMUs (default: all; none: clean only)")
    return p


def _line(label: str, s: dict) -> str:
    return (f"{label:34s} SIP {s['sip_deg']:6.2f}  ang24 {s['angle24_deg']:6.2f}  "
            f"ang15 {s['angle15_deg']:6.2f}  pos {s['pos_cm']:6.2f} cm  "
            f"jitter {s['jitter_km_s3']:6.3f} km/s^3")


def main(argv=None):
    a = build_parser().parse_args(argv)
    from fip_ros.evaluation.evaluate import MODES, evaluate
    from fip_ros.evaluation.report import write_report
    from fip_ros.fip.checkpoint import default_weights_path

    t0 = time.time()
    res = evaluate(a.weights or default_weights_path(), a.data, a.split, a.out, a.smpl, a.max_clips,
                   a.no_shape_weights, a.conditions)
    for mode in MODES:
        for m, s in res["overall"][mode].items():
            print(_line(f"{mode} {m}", s))
    for mode, methods in res.get("overall_corrupted", {}).items():
        for m, s in methods.items():
            print(_line(f"corrupted {mode} {m}", s))
    for body, modes in res.get("overall_shape", {}).items():
        for mode, methods in modes.items():
            for m, s in methods.items():
                print(_line(f"{body} {mode} {m}", s))
    print(f"{res['settings']['clips']} clips, {res['settings']['frames']} frames in {time.time() - t0:.0f} s")
    if a.report:
        cmd = "fip-eval " + " ".join(sys.argv[1:] if argv is None else argv)
        write_report(res, a.report, command=cmd, figure_dir=a.out)


if __name__ == "__main__":
    main()
