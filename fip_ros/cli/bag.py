"""``fip-bag``: write a recording as a rosbag2 bag of the six raw IMU streams plus the ground truth
(``convert``), or describe a bag (``info``) (``fip_ros.ros.bag_tools``)."""

import sys
from datetime import UTC, datetime

from fip_ros.cli import HelpFormatter, parser, user_errors
from fip_ros.ros.formats import FORMATS, STORAGE_NAMES


def build_parser():
    p = parser("fip-bag", "rosbag2 bags without a ROS install: convert a recording to a bag of the six raw "
               "IMU streams (sensor_msgs/Imu, REP 145) and /ground_truth/pose, or describe a bag.")
    sub = p.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help="recording -> bag of the six raw IMU streams + ground truth",
                          formatter_class=HelpFormatter)
    src = conv.add_mutually_exclusive_group(required=True)
    for fmt in FORMATS:
        src.add_argument(f"--{fmt}", metavar="FILE", help=f"{fmt} recording")
    conv.add_argument("--out", required=True, help="output bag folder (must not exist)")
    conv.add_argument("--storage", choices=STORAGE_NAMES, default="mcap", help="bag storage plugin")
    conv.add_argument("--tpose-seconds", type=float, default=3.0, help="still T-pose put first (calibration)")
    conv.add_argument("--seed", type=int, default=0, help="seed of the simulated sensor mountings")
    conv.add_argument("--heading-deg", type=float, default=30.0, help="device world heading")
    conv.add_argument("--start-time", type=float, default=0.0, help="stamp of the first sample, s")
    conv.add_argument("--frame-prefix", default="", help="prefix of the IMU frame ids (default: none)")
    info = sub.add_parser("info", help="start time, duration, topics, types, counts and QoS of a bag",
                          formatter_class=HelpFormatter)
    info.add_argument("bag", help="bag folder")
    return p


def _info(path) -> int:
    from fip_ros.ros.bag_tools import bag_info

    try:
        info = bag_info(path)
    except ValueError as exc:
        print(f"fip-bag: {exc}", file=sys.stderr)
        return 2
    start = datetime.fromtimestamp(info["start_ns"] * 1e-9, UTC)
    print(f"start:     {start.isoformat(timespec='milliseconds')} ({info['start_ns'] * 1e-9:.3f} s)")
    print(f"duration:  {info['duration_ns'] * 1e-9:.3f} s")
    for topic, (msgtype, count, profiles) in info["topics"].items():
        desc = ", ".join(f"{q.reliability.name.lower()}/{q.durability.name.lower()}/{q.depth}"
                         for q in profiles)
        print(f"{topic}  {msgtype}  {count} msgs  qos [{desc}]")
    return 0


@user_errors("fip-bag")
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "info":
        return _info(args.bag)
    from fip_ros.ros.bag_tools import write_recording
    from fip_ros.ros.recordings import load_recording

    fmt = next(f for f in FORMATS if getattr(args, f))
    rec = load_recording(getattr(args, fmt), fmt, args.tpose_seconds, args.seed, heading_deg=args.heading_deg)
    n = write_recording(rec, args.out, args.storage, round(args.start_time * 1e9), args.frame_prefix)
    print(f"wrote {n} messages ({len(rec)} frames at {rec.fps:g} Hz) to {args.out} [{args.storage}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
