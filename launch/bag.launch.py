"""Bag graph, one process per node: bag_player (a rosbag2 bag) -> estimator -> smpl_tf_broadcaster
(+ body_params, dynamics, RViz); the same graph as `fip-bringup --graph bag --bag DIR`.
    ros2 launch fip_ros bag.launch.py bag:=/path/bag_dir body_id:=1 rviz:=true
"""

from fip_ros.ros.launch_graph import launch_description

GRAPH = "bag"


def generate_launch_description():
    return launch_description(GRAPH)
