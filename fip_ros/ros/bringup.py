"""A whole fip_ros graph in ONE process on one executor (rclpy's composition): ``fip-bringup``.

The graph comes from a YAML file (config/live.yaml, config/replay.yaml, config/bag.yaml) that the launch
files read too, through :func:`graph_nodes`, so both start the same nodes with the same parameter files and
overrides; both check the arguments with :func:`validate_args` before any node starts. SIGINT or SIGTERM, at
any moment, ends it with status 0 (``fip_ros.ros.shutdown``). Graph file format::

    nodes:
      - executable: estimator            # fip_ros.ros.nodes.<executable>
        name: estimator                  # optional node name (default: executable)
        params: [estimator.yaml]         # relative to the graph file's folder
        overrides: {subject_id: $body_id}   # $var = a graph argument; skipped when the argument is empty
    rviz: ../rviz/fip.rviz

Graph arguments (same names as the launch arguments): namespace, body_id, clip, bag, backend, model, rviz
and ``<node name>_params`` replacing that node's parameter files.
"""

import importlib
import inspect
import re
import shutil
import subprocess
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fip_ros.ros import shutdown
from fip_ros.ros.smpl_frames import check_id


def config_dir() -> Path:
    """Source checkout's config/ folder, else the installed share/fip_ros/config."""
    source = Path(__file__).resolve().parents[2] / "config"
    if source.is_dir():
        return source
    from ament_index_python.packages import get_package_share_directory
    return Path(get_package_share_directory("fip_ros")) / "config"

GRAPHS = ("live", "replay", "bag")
GRAPH_ARGS = ("namespace", "body_id", "clip", "bag", "backend", "model")
BACKENDS = ("torch", "onnx")
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}  # what launch's IfCondition accepts
_NAMESPACE = re.compile(r"/?([A-Za-z_][A-Za-z0-9_]*)(/[A-Za-z_][A-Za-z0-9_]*)*")


@dataclass
class NodeSpec:
    executable: str
    name: str
    params: list[str]
    overrides: dict = field(default_factory=dict)


def graph_path(graph: str) -> Path:
    """'live'/'replay'/'bag' -> the installed or source config file; anything else is a path."""
    if graph in GRAPHS:
        return config_dir() / f"{graph}.yaml"
    return Path(graph)


def graph_nodes(path, args: dict) -> tuple[list[NodeSpec], str | None]:
    """Resolve a graph file with argument values (str; empty = unset) -> (node specs, rviz config path)."""
    path = Path(path)
    graph = yaml.safe_load(path.read_text())
    specs = []
    for entry in graph["nodes"]:
        name = entry.get("name", entry["executable"])
        replaced = args.get(f"{name}_params") or ""
        own = [str((path.parent / p).resolve()) for p in entry.get("params", ())]
        params = [replaced] if replaced else own
        overrides = {}
        for key, value in (entry.get("overrides") or {}).items():
            if isinstance(value, str) and value.startswith("$"):
                value = args.get(value[1:]) or ""
                if value == "":
                    continue
            overrides[key] = value
        specs.append(NodeSpec(entry["executable"], name, params, overrides))
    rviz = graph.get("rviz")
    return specs, str((path.parent / rviz).resolve()) if rviz else None


class ArgumentError(ValueError):
    """A bad graph/launch argument: ``name`` (launch spelling) and why."""

    def __init__(self, name: str, why: str):
        super().__init__(f"argument {name}: {why}")
        self.name, self.why = name, why


def validate_args(args: dict, executables=()) -> None:
    """ArgumentError for the first bad graph/launch argument (values are strings; empty = unset).

    ``executables``: the graph's nodes, for the arguments a node needs (imu_replay a clip, bag_player a bag).
    """
    def bad(name, why):
        raise ArgumentError(name, why)

    ns = args.get("namespace") or ""
    if ns and not _NAMESPACE.fullmatch(ns):
        bad("namespace", f"{ns!r} is not a ROS namespace (letters, digits, '_', tokens split by '/')")
    if args.get("body_id"):
        try:
            check_id(args["body_id"], "body_id")
        except ValueError as exc:
            bad("body_id", str(exc).removeprefix("body_id "))
    if args.get("backend") and args["backend"] not in BACKENDS:
        bad("backend", f"{args['backend']!r} is not one of {', '.join(BACKENDS)}")
    if str(args.get("rviz", "false")).lower() not in BOOLEANS:
        bad("rviz", f"{args['rviz']!r} is not true or false")
    needs = {"imu_replay": "clip", "bag_player": "bag"}
    for name in ("clip", "bag", "model", *(k for k in args if k.endswith("_params"))):
        value = args.get(name) or ""
        if not value and any(needs.get(e) == name for e in executables):
            bad(name, "this graph needs it")
        if value and not Path(value).expanduser().exists():
            bad(name, f"{value} does not exist")


def node_class(executable: str):
    """The rclpy Node subclass defined in fip_ros.ros.nodes.<executable>."""
    from rclpy.node import Node
    module = importlib.import_module(f"fip_ros.ros.nodes.{executable}")
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
               if issubclass(c, Node) and c.__module__ == module.__name__]
    if len(classes) != 1:
        raise RuntimeError(f"fip_ros.ros.nodes.{executable} must define exactly one Node class")
    return classes[0]


def _ros_value(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()


def node_cli_args(spec: NodeSpec, namespace: str) -> list[str]:
    """Per-node ROS arguments, what launch_ros builds from Node(name, namespace, parameters)."""
    args = ["--ros-args", "-r", f"__node:={spec.name}"]
    if namespace:
        args += ["-r", f"__ns:=/{namespace.strip('/')}"]
    for p in spec.params:
        args += ["--params-file", p]
    for key, value in spec.overrides.items():
        args += ["-p", f"{key}:={_ros_value(value)}"]
    return args


def run_graph(specs: list[NodeSpec], namespace: str = "", ros_args=(), threads: int = 1,
              duration: float = 0.0, rviz_config: str | None = None) -> int:
    """Start the nodes of ``specs`` in this process on one executor and spin until SIGINT or SIGTERM, an
    external shutdown or ``duration`` seconds (0 = no limit); ``rviz_config``: also start rviz2 with it.
    Stops as every node process does (``fip_ros.ros.shutdown``; call ``shutdown.install()`` before the slow
    imports). Returns 0, or 1 after a one-line error when a node cannot start.

    ``threads`` 1 (default): a SingleThreadedExecutor. The nodes' callbacks are short and hold the GIL, so
    worker threads cannot run them in parallel; rclpy's MultiThreadedExecutor only adds its hand-over (a
    wait set rebuilt per handed-out callback, thread-pool switches, handlers that lose the race for a
    mutually exclusive group): about 30 % more CPU for the replay/bag graph, and under load it fell behind
    its best-effort IMU queues and lost frames, each costing a whole six-sensor set."""
    from fip_ros.ros.nodes import startup_error

    stop = shutdown.install()
    classes = [node_class(spec.executable) for spec in specs]  # slow imports before ROS starts
    import rclpy
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    executor, nodes, rviz = None, [], None
    stop.ros_starting()
    try:
        rclpy.init(args=["fip-bringup", *ros_args], signal_handler_options=SignalHandlerOptions.NO)
        log = rclpy.logging.get_logger("fip_bringup")
        executor = SingleThreadedExecutor() if threads <= 1 else MultiThreadedExecutor(num_threads=threads)
        for cls, spec in zip(classes, specs, strict=True):
            try:
                node = cls(cli_args=node_cli_args(spec, namespace))
            except Exception as exc:  # noqa: BLE001 - a start-up failure is one line, not a traceback
                log.debug(traceback.format_exc())
                log.fatal(f"{spec.name}: {startup_error(exc)}")
                return 1
            nodes.append(node)
            executor.add_node(node)
        if rviz_config:
            if shutil.which("rviz2"):
                rviz = subprocess.Popen(["rviz2", "-d", rviz_config])
            else:
                log.warning("rviz2 is not installed here: starting without it")
        log.info(f"started {', '.join(s.name for s in specs)} in one process")
        shutdown.spin(executor, stop, duration)
    finally:
        if rviz is not None:
            rviz.terminate()
        shutdown.close(executor, nodes, stop)
    return 0
