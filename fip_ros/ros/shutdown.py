"""One start/stop pattern for every node process and fip-bringup: SIGINT and SIGTERM end it with status 0.

rclpy's own signal handler shuts the context down at once, while callbacks, timers and the nodes' own
threads may still publish through it ("publisher's context is invalid"), and the second SIGINT that
``ros2 launch`` forwards lands in the cleanup as a KeyboardInterrupt. Here the stop is ours, in phases:

- start (imports, before ROS is initialised): a signal ends the process at once, status 0. Raising from the
  handler instead would unwind through whatever C++ is on the stack (torch's pybind11 import hooks abort on
  it). A signal that arrives during a long C call, such as loading libtorch, is handled when it returns.
- ros (:meth:`StopSignals.ros_starting`, node construction and spinning): a signal only sets a flag; the
  spin loop polls it every ``POLL_S``, so construction finishes and is cleaned up;
- cleanup (:func:`close`): the nodes' own activity stops first (their ``stop()``: threads; then every
  timer), then the executor (waiting for running callbacks), the nodes and last the context. Further signals
  are ignored, and a watchdog ends a cleanup that would outlast ``CLEANUP_GRACE_S``;
- exit (:func:`exit_process`): with every ROS entity released and the log flushed, the process ends without
  the interpreter's teardown, which costs a third of a CPU second once torch is loaded (eight node
  processes stopping together on two cores would need seconds).

Imports only the standard library: executables install the handlers before heavy imports.
"""

import os
import signal
import sys
import threading
import time

SIGNALS = (signal.SIGINT, signal.SIGTERM)
POLL_S = 0.1
CLEANUP_GRACE_S = 2.5


class StopSignals:
    """The process's stop request; :func:`install` makes the one instance and owns SIGINT/SIGTERM."""

    def __init__(self):
        self.requested = threading.Event()
        self.phase = "start"
        self._watchdog = None
        for sig in SIGNALS:
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame):
        # Flags, dispositions and _exit only: the main thread may be anywhere (inside threading's locks, or
        # Python code called from C++), so neither raising nor starting a thread is safe here.
        self.requested.set()
        if self.phase == "start":
            _flush()
            os._exit(0)

    def ros_starting(self):
        """From here (rclpy.init, node construction, spinning) a signal only asks the spin loop to stop."""
        if self.phase == "start":
            self.phase = "ros"

    def cleanup(self):
        """Enter the cleanup phase: later signals are ignored by the OS (Python's own finalisation would
        otherwise restore the default SIGINT action and die of it); the watchdog bounds how long it takes."""
        self.phase = "cleanup"
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if self._watchdog is None:
            self._watchdog = threading.Timer(CLEANUP_GRACE_S, _cleanup_overrun)
            self._watchdog.daemon = True
            self._watchdog.start()

    def done(self):
        if self._watchdog is not None:
            self._watchdog.cancel()


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, RuntimeError, ValueError):  # closed, or the handler interrupted a write
            pass


def _cleanup_overrun():
    sys.stderr.write(f"cleanup did not finish within {CLEANUP_GRACE_S} s: exiting without it\n")
    _flush()
    os._exit(1)


_instance = None


def install() -> StopSignals:
    """The process's StopSignals, created (handlers installed) on the first call; main thread only."""
    global _instance
    if _instance is None:
        _instance = StopSignals()
    return _instance


def spin(executor, stop: StopSignals, duration: float = 0.0) -> None:
    """Spin ``executor`` until a stop signal, ``duration`` seconds (0 = no limit) or an external shutdown."""
    from rclpy.executors import ExternalShutdownException

    deadline = time.monotonic() + duration if duration > 0 else None
    try:
        while not stop.requested.is_set() and executor.context.ok():
            executor.spin_once(timeout_sec=POLL_S)
            if deadline is not None and time.monotonic() >= deadline:
                break
    except ExternalShutdownException:
        pass


def close(executor, nodes, stop: StopSignals, context=None) -> None:
    """Stop the nodes' activity (``stop()``, timers), the executor, the nodes, then the context."""
    stop.cleanup()
    rclpy = sys.modules.get("rclpy")
    try:
        for node in nodes:
            halt(node)
        if executor is not None:
            executor.shutdown(timeout_sec=1.0)  # waits for callbacks still running in worker threads
        for node in nodes:
            node.destroy_node()
        if rclpy is not None:
            rclpy.try_shutdown(context=context)
    finally:
        stop.done()


def halt(node) -> None:
    """Stop what a node does on its own before its context goes: its ``stop()`` (threads), its timers."""
    own_stop = getattr(node, "stop", None)
    if callable(own_stop):
        own_stop()
    for timer in list(node.timers):
        timer.cancel()


def exit_process(code: int):
    """End the process with ``code`` after :func:`close`: flush the ROS log and stdio, skip the teardown."""
    logging = sys.modules.get("rclpy.logging")
    if logging is not None:
        logging.shutdown()
    _flush()
    os._exit(code)
