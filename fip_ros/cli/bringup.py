"""``fip-bringup``: start a whole fip_ros graph (config/live.yaml, config/replay.yaml or a graph file of
your own) in one process (``fip_ros.ros.bringup``); ROS arguments follow ``--ros-args``."""

from pathlib import Path

from fip_ros.cli import parse_ros_argv, parser


def build_parser():
    p = parser("fip-bringup", "Start a whole fip_ros graph in ONE process on a MultiThreadedExecutor (the "
               "same nodes, parameter files and overrides as launch/live.launch.py and "
               "launch/replay.launch.py).")
    p.add_argument("--config", help="graph file (overrides --graph; default: the --graph file)")
    p.add_argument("--graph", choices=("live", "replay"), default="live", help="installed graph to start")
    p.add_argument("--clip", default="", help="recording for imu_replay (default: none)")
    p.add_argument("--namespace", default="", help="namespace of every node (default: none)")
    p.add_argument("--body-id", default="", help="subject / REP 155 body id (default: the parameter files')")
    p.add_argument("--backend", default="",
                   help="estimator backend override: torch | onnx (default: the parameter file's)")
    p.add_argument("--model", default="", help="estimator FIP checkpoint (default: shipped weights)")
    p.add_argument("--params", action="append", default=[], metavar="NODE=FILE",
                   help="replace a node's parameter files (launch argument <node>_params; default: none)")
    p.add_argument("--rviz", action="store_true", help="also start rviz2 with rviz/fip.rviz")
    p.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = run)")
    p.add_argument("--threads", type=int, default=4, help="executor threads")
    return p


def main(argv=None):
    argv, ros_args = parse_ros_argv(argv)
    opts = build_parser().parse_args(argv)
    from fip_ros.ros.bringup import GRAPH_ARGS, graph_nodes, graph_path, run_graph

    args = {name: getattr(opts, name) for name in GRAPH_ARGS}
    for item in opts.params:
        node, _, path = item.partition("=")
        args[f"{node}_params"] = str(Path(path).resolve())
    specs, rviz_config = graph_nodes(opts.config or graph_path(opts.graph), args)
    run_graph(specs, opts.namespace, ros_args, opts.threads, opts.duration,
              rviz_config if opts.rviz else None)


if __name__ == "__main__":
    main()
