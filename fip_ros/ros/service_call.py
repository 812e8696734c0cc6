"""Service calls from a short-lived process (fip-calibrate, fip-body), for machines without the ros2 CLI:
its own context and node, a bounded wait for the server; SIGINT/SIGTERM end the wait
(``fip_ros.ros.shutdown``) with a :class:`ServiceError`, or the start-up at once."""

import time

from fip_ros.ros import shutdown


class ServiceError(RuntimeError):
    """The service is not there, did not answer in time, or the user interrupted (one line, for the user)."""


class Session:
    """``with Session(ros_args) as s: s.call(...)``: one node for one or more calls."""

    def __init__(self, ros_args=()):
        self.stop = shutdown.install()
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        self.stop.ros_starting()
        self.context = rclpy.Context()
        rclpy.init(args=["fip_service_call", *ros_args], context=self.context,
                   signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node("fip_service_call", context=self.context,
                                      start_parameter_services=False)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        shutdown.close(self.executor, [self.node], self.stop, self.context)

    def _spin_until(self, done, deadline, late: str):
        while not done():
            if self.stop.requested.is_set():
                raise ServiceError("interrupted")
            if time.monotonic() > deadline:
                raise ServiceError(late)
            self.executor.spin_once(timeout_sec=0.05)

    def call(self, srv_type, name: str, request, timeout: float):
        """``request`` to service ``name`` (resolved in the ``--ros-args`` namespace) -> the response."""
        client = self.node.create_client(srv_type, name)
        resolved = client.service_name
        deadline = time.monotonic() + timeout
        self._spin_until(client.service_is_ready, deadline, f"no service {resolved} within {timeout:g} s (is "
                         "the node running, in this ROS_DOMAIN_ID and namespace?)")
        future = client.call_async(request)
        self._spin_until(future.done, deadline, f"{resolved} did not answer within {timeout:g} s")
        self.node.destroy_client(client)
        return future.result()
