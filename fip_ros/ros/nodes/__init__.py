"""ROS 2 nodes: thin adapters around the ROS-free core. Each module has a node class and ``main()``.

Every node process starts and stops through :func:`run_node` (the shutdown pattern of
``fip_ros.ros.shutdown``, shared with fip-bringup); the installed executables are
``fip_ros.ros.executables``. Nodes with threads of their own stop them in ``stop()``.
"""

import traceback
from contextlib import contextmanager

from fip_ros.ros import shutdown


def startup_error(exc: Exception) -> str:
    """One line for a start-up failure (a bad parameter or file is a user mistake, not a crash)."""
    text = str(exc).strip().splitlines()
    return f"cannot start: {text[0] if text else type(exc).__name__}"


@contextmanager
def parameter(name: str, errors=(ValueError, OSError)):
    """Re-raise ``errors`` from the block as a ValueError naming parameter ``name``, e.g. the file a
    parameter names is missing or unreadable."""
    try:
        yield
    except errors as exc:
        raise ValueError(f"parameter '{name}': {exc}") from exc


def missing_subscribers(pubs: dict, count: int) -> list[str]:
    """Topics of ``pubs`` (topic -> publisher) with fewer than ``count`` subscribers: players wait on them."""
    return sorted(topic for topic, pub in pubs.items() if pub.get_subscription_count() < count)


def run_node(node_class, args=None, events: bool = False):
    """Init, construct ``node_class``, spin until SIGINT/SIGTERM, clean up and end the process; the
    ``main()`` of a node module.

    Exit status 0 after a stop signal (at any moment, start-up included), 1 with a one-line error when the
    node cannot start (bad parameter, missing or bad file).

    ``events``: spin on rclpy's events executor where this rclpy has one (Kilted and newer; else the
    single-threaded executor). It hands each ready message to its callback from C++ instead of rebuilding a
    wait set in Python per wake-up, which halved the estimator's CPU at ten bodies. Only for nodes whose
    callbacks run on the spinning thread alone: a node thread of its own that publishes to a subscription
    in the same process can deadlock with it.
    """
    shutdown.exit_process(_run(node_class, args, events))


def _executor(events: bool):
    from rclpy.executors import SingleThreadedExecutor

    if events:
        try:
            from rclpy.experimental import EventsExecutor
        except ImportError:  # rclpy before Kilted
            pass
        else:
            return EventsExecutor()
    return SingleThreadedExecutor()


def _run(node_class, args, events: bool = False) -> int:
    stop = shutdown.install()
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    executor = node = None
    stop.ros_starting()
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
        try:
            node = node_class()
        except Exception as exc:  # noqa: BLE001 - any start-up failure ends in one line, not a traceback
            logger = rclpy.logging.get_logger(node_class.__name__)
            logger.debug(traceback.format_exc())
            logger.fatal(startup_error(exc))
            return 1
        executor = _executor(events)
        executor.add_node(node)
        shutdown.spin(executor, stop)
    finally:
        shutdown.close(executor, [node] if node is not None else [], stop)
    return 0
