"""``fip-body``: read or change a person's body parameters (the body_params node's ``get_body_params`` and
``set_body_params`` services), without the ros2 CLI. ``set`` changes only the values given; the node
validates them, persists them and latches them on ``body_params``."""

import sys

from fip_ros.cli import parse_ros_argv, parser

FIELDS = ("sex", "height", "arm_length", "leg_length", "mass")


def build_parser():
    p = parser("fip-body", "Body parameters of one person (fip_msgs/BodyParams). ROS arguments follow "
               "--ros-args.")
    sub = p.add_subparsers(dest="command", required=True)
    get = sub.add_parser("get", help="print the body parameters", formatter_class=p.formatter_class)
    put = sub.add_parser("set", help="change some body parameters", formatter_class=p.formatter_class)
    for s in (get, put):
        s.add_argument("--namespace", default="", help="the person's namespace, e.g. p1 (default: none)")
        s.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the service")
    put.add_argument("--sex", choices=("male", "female"), help="(default: unchanged)")
    for name, what in (("height", "standing height, m"), ("arm-length", "wrist to armpit, m"),
                       ("leg-length", "ankle to hip, m"), ("mass", "body mass, kg")):
        put.add_argument(f"--{name}", type=float, help=f"{what} (default: unchanged)")
    return p


def _show(params) -> str:
    sex = "male" if params.sex == params.SEX_MALE else "female"
    return (f"subject_id: {params.subject_id}\nsex: {sex}\nheight: {params.height:.4g}\n"
            f"arm_length: {params.arm_length:.4g}\nleg_length: {params.leg_length:.4g}\n"
            f"mass: {params.mass:.4g}")


def main(argv=None) -> int:
    argv, ros_args = parse_ros_argv(argv)
    a = build_parser().parse_args(argv)
    from fip_msgs.msg import BodyParams
    from fip_msgs.srv import GetBodyParams, SetBodyParams
    from fip_ros.ros.service_call import ServiceError, Session

    prefix = f"/{a.namespace.strip('/')}/" if a.namespace.strip("/") else ""
    try:
        with Session(ros_args) as session:
            got = session.call(GetBodyParams, f"{prefix}get_body_params", GetBodyParams.Request(), a.timeout)
            if a.command == "get" or not got.success:
                print(_show(got.params) if got.success else f"fip-body: error: {got.message}",
                      file=sys.stdout if got.success else sys.stderr)
                return 0 if got.success else 1
            params = got.params
            if a.sex:
                params.sex = BodyParams.SEX_MALE if a.sex == "male" else BodyParams.SEX_FEMALE
            for field in FIELDS[1:]:
                value = getattr(a, field)
                if value is not None:
                    setattr(params, field, value)
            reply = session.call(SetBodyParams, f"{prefix}set_body_params",
                                 SetBodyParams.Request(params=params), a.timeout)
    except ServiceError as exc:
        print(f"fip-body: error: {exc}", file=sys.stderr)
        return 1
    if not reply.success:
        print(f"fip-body: error: {reply.message}", file=sys.stderr)
        return 1
    print(_show(params))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
