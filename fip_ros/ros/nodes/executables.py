"""The installed node executables (setup.py entry points ``<name>=fip_ros.ros.nodes.executables:<name>``).

Each installs the stop signals before it imports its node module, so a Ctrl-C or SIGTERM while rclpy and
torch load still ends the start-up cleanly (status 0, no traceback).
"""

import importlib

from fip_ros.ros import shutdown

NODES = ("imu_replay", "imu_udp", "body_params", "estimator", "smpl_tf_broadcaster", "dynamics",
         "bag_player", "bag_recorder")


def run_executable(name: str) -> int:
    shutdown.install()
    try:
        module = importlib.import_module(f"fip_ros.ros.nodes.{name}")
    except shutdown.Interrupted:
        return 0
    return module.main()


def __getattr__(name):
    if name in NODES:
        return lambda: run_executable(name)
    raise AttributeError(name)
