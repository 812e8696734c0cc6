"""ROS 2 nodes: thin adapters around the ROS-free core. Each module has a node class and ``main()``."""
