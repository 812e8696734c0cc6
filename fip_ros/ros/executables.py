"""The installed node executables (setup.py entry points ``<name>=fip_ros.ros.executables:<name>``).

Each installs the stop signals before it imports its node module, so a Ctrl-C or SIGTERM while rclpy and
torch load still ends the start-up cleanly (status 0, no traceback).
"""

import importlib
import importlib.util

from fip_ros.ros import shutdown


def run_executable(name: str):
    """``fip_ros.ros.nodes.<name>.main()``, with the stop signals installed first."""
    shutdown.install()
    return importlib.import_module(f"fip_ros.ros.nodes.{name}").main()


def __getattr__(name):
    """The entry point of node module ``fip_ros.ros.nodes.<name>`` (resolved lazily, PEP 562)."""
    if name.startswith("_") or importlib.util.find_spec(f"fip_ros.ros.nodes.{name}") is None:
        raise AttributeError(name)
    return lambda: run_executable(name)
