"""ROS 2 nodes: thin adapters around the ROS-free core. Each module has a node class and ``main()``."""

import rclpy
import rclpy.executors
import rclpy.logging


def run_node(node_class, args=None) -> int:
    """Init, construct ``node_class``, spin until shutdown, clean up; the ``main()`` of a node module.

    A configuration error at start-up (bad parameter, missing file) is logged as one line, not a traceback,
    and gives exit code 1.
    """
    rclpy.init(args=args)
    node = None
    try:
        node = node_class()
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    except (ValueError, OSError, KeyError) as exc:
        rclpy.logging.get_logger(node_class.__name__).fatal(f"cannot start: {exc}")
        return 1
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


