"""``fip-eval``: score FIP weights and baselines on held-out clips with synthesised IMUs
(``fip_ros.evaluation.evaluate``; the modes, methods and conditions are described there), or on real
recordings with --dip / --totalcapture / --raw (``fip_ros.evaluation.recordings``)."""

import json
import sys
import time

from fip_ros.cli import parser, user_errors
from fip_ros.data.paths import DATASET_DIR
from fip_ros.evaluation import CONDITIONS


def build_parser():
    p = parser("fip-eval", "Score FIP weights and baselines on held-out clips with synthesised IMUs, in two "
               "start-up modes (T-pose prefix, first true frame).\n\nWrites OUT/results.json, OUT/*.png and, "
               "with --report, the markdown report.\n\nWith --dip, --totalcapture or --raw it scores real "
               "recordings instead (published protocol; SIP, Ang, Pos, Mesh with --smpl, Jitter) and writes "
               "OUT/recordings.json.")
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
    p.add_argument("--no-mirror-average", action="store_true",
                   help="score the plain network, without the averaging with the mirror image "
                        "(fip_ros.fip.mirror; as graphs from fip-export --no-mirror-average run)")
    p.add_argument("--dip", default=None,
                   help="DIP-IMU folder with s_01..s_10: scores the published test subjects s_09, s_10 "
                        "(default: none)")
    p.add_argument("--totalcapture", default=None,
                   help="folder of TotalCapture .pkl files in DIP's format (default: none)")
    p.add_argument("--raw", nargs="+", default=[],
                   help="raw recordings (.npz: six REP 145 streams, a calibration window and the reference "
                        "pose; keys in fip_ros.evaluation.recordings; default: none)")
    p.add_argument("--body", default=None,
                   help="body of the recordings as JSON, e.g. '{\"sex\": \"female\", \"height\": 1.65, "
                        "\"arm_length\": 0.55, \"leg_length\": 0.8}' (default: the reference skeleton's "
                        "measurements)")
    return p


def _line(label: str, s: dict) -> str:
    return (f"{label:34s} SIP {s['sip_deg']:6.2f}  ang24 {s['angle24_deg']:6.2f}  "
            f"ang15 {s['angle15_deg']:6.2f}  pos {s['pos_cm']:6.2f} cm  "
            f"jitter {s['jitter_km_s3']:6.3f} km/s^3")


def recordings_main(a) -> int:
    from fip_ros.api import load_model
    from fip_ros.evaluation.recordings import evaluate_recordings

    try:
        body = json.loads(a.body) if a.body else None
        model = load_model(a.weights, mirror_average=False if a.no_mirror_average else None)
        res = evaluate_recordings(model, a.dip, a.totalcapture, a.raw, body, a.smpl, a.out)
    except (FileNotFoundError, ValueError) as exc:
        print(f"fip-eval: {exc}", file=sys.stderr)
        return 2
    for name in ("dip_imu", "totalcapture", "raw"):
        if name in res:
            s = res[name]["overall"]
            mesh = f"  mesh {s['mesh_cm']:6.2f} cm" if "mesh_cm" in s else ""
            print(_line(f"{name} ({len(res[name]['sequences'])} sequences)", s) + mesh)
    if "raw_translation" in res:
        from fip_ros.evaluation.translation import format_summary

        print("root translation, " + format_summary("raw", res["raw_translation"]["overall"]))
    return 0


@user_errors("fip-eval")
def main(argv=None):
    a = build_parser().parse_args(argv)
    if a.dip or a.totalcapture or a.raw:
        return recordings_main(a)
    from fip_ros.evaluation.evaluate import MODES, evaluate
    from fip_ros.evaluation.report import write_report
    from fip_ros.fip.checkpoint import default_weights_path

    t0 = time.time()
    res = evaluate(a.weights or default_weights_path(), a.data, a.split, a.out, a.smpl, a.max_clips,
                   a.no_shape_weights, a.conditions, False if a.no_mirror_average else None)
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
    raise SystemExit(main())
