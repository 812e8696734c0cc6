"""``fip-calibrate``: ask the estimator to calibrate on a still T-pose or N-pose (its ``calibrate`` service,
fip_msgs/srv/Calibrate), without the ros2 CLI. Exit status 0 when the calibration succeeded, 1 otherwise."""

import sys

from fip_ros.cli import parse_ros_argv, parser

POSES = ("tpose", "npose")


def build_parser():
    p = parser("fip-calibrate", "Calibrate the estimator: stand still in the pose for the duration. ROS "
               "arguments (e.g. --ros-args -r __ns:=/p1) follow --ros-args.")
    p.add_argument("--pose", choices=POSES, default="tpose", help="pose held during the window")
    p.add_argument("--duration", type=float, default=0.0,
                   help="window, s (default 0 = the estimator's default_calibration_duration)")
    p.add_argument("--namespace", default="", help="the person's namespace, e.g. p1 (default: none)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="extra seconds to wait for the service and the frames, beyond the window")
    return p


def main(argv=None) -> int:
    argv, ros_args = parse_ros_argv(argv)
    ap = build_parser()
    a = ap.parse_args(argv)
    if not 0.0 <= a.duration <= 120.0:
        ap.error(f"argument --duration: {a.duration:g} s is outside 0-120 s")
    from fip_msgs.srv import Calibrate
    from fip_ros.ros.service_call import ServiceError, Session

    name = f"/{a.namespace.strip('/')}/calibrate" if a.namespace.strip("/") else "calibrate"
    request = Calibrate.Request(pose=POSES.index(a.pose), duration=a.duration)
    try:
        with Session(ros_args) as session:
            reply = session.call(Calibrate, name, request, a.timeout + a.duration)
    except ServiceError as exc:
        print(f"fip-calibrate: error: {exc}", file=sys.stderr)
        return 1
    print(reply.message, file=sys.stdout if reply.success else sys.stderr)
    return 0 if reply.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
