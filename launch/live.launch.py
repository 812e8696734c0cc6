"""Live graph, one process per node: imu_udp (six networked IMUs) -> estimator -> smpl_tf_broadcaster
(+ body_params, dynamics, RViz); the same graph as `fip-bringup --graph live`.
    ros2 launch fip_ros live.launch.py body_id:=1 namespace:=p1 backend:=onnx rviz:=true
"""

from fip_ros.ros.launch_graph import launch_description

GRAPH = "live"


def generate_launch_description():
    return launch_description(GRAPH)
