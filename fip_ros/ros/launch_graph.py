"""The launch description shared by launch/live.launch.py, replay.launch.py and bag.launch.py (one process
per node).

Imported only by those launch files, where the ROS 2 launch system exists. It reads the same graph files
(config/<graph>.yaml) through fip_ros.ros.bringup.graph_nodes as `fip-bringup`, and checks the arguments with
the same fip_ros.ros.bringup.validate_args first: a bad argument (rviz:=maybe, body_id:=bad/id) fails the
launch before any node, RViz included, has started.
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.launch_description import LaunchDescription
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from fip_ros.ros.bringup import BOOLEANS, GRAPH_ARGS, graph_nodes, validate_args

ARG_HELP = {"namespace": "namespace of every node (one per tracked person)",
            "body_id": "subject id / REP 155 body id (empty = the parameter files' value)",
            "clip": "recording imu_replay plays (motion clip .npz, DIP/TotalCapture .pkl)",
            "bag": "rosbag2 folder bag_player plays",
            "backend": "estimator inference backend torch | onnx (empty = estimator.yaml)",
            "model": "estimator FIP checkpoint (empty = estimator.yaml / shipped weights)"}


def _nodes(context, graph_file):
    params = [f"{s.name}_params" for s in graph_nodes(graph_file, {})[0]]
    names = (*GRAPH_ARGS, *params, "rviz", "rviz_config")
    value = {name: LaunchConfiguration(name).perform(context) for name in names}
    specs, _ = graph_nodes(LaunchConfiguration("graph").perform(context), value)
    validate_args(value, [s.executable for s in specs])  # raises: launch fails with nothing started
    nodes = [Node(package="fip_ros", executable=s.executable, name=s.name, namespace=value["namespace"],
                  parameters=[*s.params, s.overrides], output="screen", emulate_tty=True) for s in specs]
    if BOOLEANS[value["rviz"].lower()]:
        nodes.append(Node(package="rviz2", executable="rviz2", arguments=["-d", value["rviz_config"]],
                          output="screen"))
    return nodes


def launch_description(graph: str) -> LaunchDescription:
    """Arguments, then the graph's nodes and optional RViz (resolved and checked at launch time), for
    config/<graph>.yaml."""
    graph_file = Path(get_package_share_directory("fip_ros")) / "config" / f"{graph}.yaml"
    specs, rviz_config = graph_nodes(graph_file, {})
    return LaunchDescription([
        DeclareLaunchArgument("graph", default_value=str(graph_file), description="graph definition file"),
        *[DeclareLaunchArgument(name, default_value="", description=ARG_HELP[name]) for name in GRAPH_ARGS],
        *[DeclareLaunchArgument(f"{s.name}_params", default_value=s.params[0],
                                description=f"parameter file of {s.name}") for s in specs],
        DeclareLaunchArgument("rviz", default_value="false", description="start RViz (true | false)"),
        DeclareLaunchArgument("rviz_config", default_value=rviz_config, description="RViz configuration"),
        OpaqueFunction(function=_nodes, args=[graph_file]),
    ])
