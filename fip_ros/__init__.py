"""fip_ros: Fast Inertial Poser and SSPINNpose-style body dynamics for ROS 2.

The sub-packages ``core``, ``data``, ``fip``, ``training``, ``evaluation`` and ``physics`` are ROS-free;
``ros`` holds the thin rclpy nodes.
"""

__version__ = "0.1.0"
