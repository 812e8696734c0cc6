"""A whole fip_ros graph in ONE process on a MultiThreadedExecutor (rclpy's composition): ``fip-bringup``.

The graph comes from a YAML file (config/live.yaml, config/replay.yaml) that launch/live.launch.py and
launch/replay.launch.py read too, through :func:`graph_nodes`, so both start the same nodes with the same
parameter files and overrides. Graph file format::

    nodes:
      - executable: estimator            # fip_ros.ros.nodes.<executable>
        name: estimator                  # optional node name (default: executable)
        params: [estimator.yaml]         # relative to the graph file's folder
        overrides: {subject_id: $body_id}   # $var = a graph argument; skipped when the argument is empty
    rviz: ../rviz/fip.rviz

Graph arguments (same names as the launch arguments): namespace, body_id, clip, backend, model, rviz and
``<node name>_params`` replacing that node's parameter files.
"""

import importlib
import inspect
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml


def config_dir() -> Path:
    """Source checkout's config/ folder, else the installed share/fip_ros/config."""
    source = Path(__file__).resolve().parents[2] / "config"
    if source.is_dir():
        return source
    from ament_index_python.packages import get_package_share_directory
    return Path(get_package_share_directory("fip_ros")) / "config"

GRAPH_ARGS = ("namespace", "body_id", "clip", "backend", "model")


@dataclass
class NodeSpec:
    executable: str
    name: str
    params: list[str]
    overrides: dict = field(default_factory=dict)


def graph_path(graph: str) -> Path:
    """'live'/'replay' -> the installed or source config file; anything else is a path."""
    if graph in ("live", "replay"):
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


def run_graph(specs: list[NodeSpec], namespace: str = "", ros_args=(), threads: int = 4,
              duration: float = 0.0, rviz_config: str | None = None):
    """Start the nodes of ``specs`` in this process on one MultiThreadedExecutor and spin until Ctrl-C, an
    external shutdown or ``duration`` seconds (0 = no limit); ``rviz_config``: also start rviz2 with it."""
    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

    classes = [node_class(spec.executable) for spec in specs]  # slow imports before ROS starts
    rclpy.init(args=["fip-bringup", *ros_args])
    log = rclpy.logging.get_logger("fip_bringup")
    executor = MultiThreadedExecutor(num_threads=threads)
    nodes = []
    rviz = None
    try:
        for cls, spec in zip(classes, specs, strict=True):
            node = cls(cli_args=node_cli_args(spec, namespace))
            nodes.append(node)
            executor.add_node(node)
        if rviz_config:
            if shutil.which("rviz2"):
                rviz = subprocess.Popen(["rviz2", "-d", rviz_config])
            else:
                log.warning("rviz2 is not installed here: starting without it")
        log.info(f"started {', '.join(s.name for s in specs)} in one process")
        if duration > 0:
            stopper = threading.Timer(duration, lambda: signal.raise_signal(signal.SIGINT))
            stopper.daemon = True  # must not keep the process alive after an earlier stop
            stopper.start()
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if rviz is not None:
            rviz.terminate()
        executor.shutdown(timeout_sec=1.0)
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
