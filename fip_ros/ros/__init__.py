"""ROS 2 side of fip_ros: nodes, QoS profiles, TF output, bag tools (fip_ros.core stays ROS-free)."""
