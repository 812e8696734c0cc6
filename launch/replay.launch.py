"""Replay graph, one process per node: imu_replay -> estimator -> smpl_tf_broadcaster (+ body_params,
dynamics, RViz); the same graph as `fip-bringup --graph replay`.
    ros2 launch fip_ros replay.launch.py clip:=/path/clip.npz body_id:=1 namespace:=p1 rviz:=true
"""

from fip_ros.ros.launch_graph import launch_description

GRAPH = "replay"


def generate_launch_description():
    return launch_description(GRAPH)
