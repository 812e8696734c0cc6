"""``fip-bringup``: start a whole fip_ros graph (config/live.yaml, config/replay.yaml, config/bag.yaml or a
graph file of your own) in one process (``fip_ros.ros.bringup``); ROS arguments follow ``--ros-args``.
SIGINT or SIGTERM at any moment, start-up included, ends it with status 0."""

from pathlib import Path

from fip_ros.cli import parse_ros_argv, parser
from fip_ros.ros import shutdown


def build_parser():
    from fip_ros.ros.bringup import BACKENDS, GRAPHS  # here: main() installs the stop signals first

    p = parser("fip-bringup", "Start a whole fip_ros graph in ONE process on one executor (the "
               "same nodes, parameter files and overrides as launch/live.launch.py, replay.launch.py and "
               "bag.launch.py).")
    p.add_argument("--config", help="graph file (overrides --graph; default: the --graph file)")
    p.add_argument("--graph", choices=GRAPHS, default="live", help="installed graph to start")
    p.add_argument("--clip", default="", help="recording for imu_replay (replay graph; default: none)")
    p.add_argument("--bag", default="", help="rosbag2 folder for bag_player (bag graph; default: none)")
    p.add_argument("--namespace", default="", help="namespace of every node, one per person (default: none)")
    p.add_argument("--body-id", default="",
                   help="subject / REP 155 body id (default: the parameter files', 0)")
    p.add_argument("--backend", default="", choices=("", *BACKENDS),
                   help="estimator backend override (default: the parameter file's)")
    p.add_argument("--model", default="", help="estimator FIP checkpoint (default: shipped weights)")
    p.add_argument("--params", action="append", default=[], metavar="NODE=FILE",
                   help="replace a node's parameter files (launch argument <node>_params; default: none)")
    p.add_argument("--rviz", action="store_true", help="also start rviz2 with rviz/fip.rviz")
    p.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = run)")
    p.add_argument("--threads", type=int, default=1,
                   help="executor threads (1: single-threaded; more: rclpy's MultiThreadedExecutor)")
    return p


def main(argv=None):
    shutdown.install()  # first: a signal while torch and rclpy load ends the start-up cleanly
    shutdown.exit_process(_main(argv))


def _main(argv) -> int:
    argv, ros_args = parse_ros_argv(argv)
    ap = build_parser()
    opts = ap.parse_args(argv)
    import yaml

    from fip_ros.ros.bringup import ArgumentError, graph_nodes, graph_path, run_graph, validate_args

    args = {name: getattr(opts, name) for name in ("namespace", "body_id", "clip", "bag", "backend", "model")}
    for item in opts.params:
        node, sep, path = item.partition("=")
        if not sep or not node:
            ap.error(f"argument --params: {item!r} is not NODE=FILE")
        args[f"{node}_params"] = str(Path(path).resolve())
    graph = Path(opts.config) if opts.config else graph_path(opts.graph)
    try:
        specs, rviz_config = graph_nodes(graph, args)
        validate_args(args, [s.executable for s in specs])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        ap.error(f"argument --config: cannot read graph file {graph}: {exc}")
    except ArgumentError as exc:
        ap.error(f"argument --{exc.name.replace('_', '-')}: {exc.why}")
    return run_graph(specs, opts.namespace, ros_args, opts.threads, opts.duration,
                     rviz_config if opts.rviz else None)


if __name__ == "__main__":
    raise SystemExit(main())
