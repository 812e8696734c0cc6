"""Shared pytest fixtures.  ROS tests run in an isolated, random DDS domain on localhost.

The environment is set when this module is imported, i.e. before any test module imports rclpy, and
subprocesses started by tests inherit it.  rclpy is imported lazily by the fixtures so ROS-free tests run
anywhere, but a ROS test on a machine without rclpy fails (ImportError) instead of being skipped.
"""

import os
import random
import subprocess
import sys
import time

import pytest

os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(1, 100))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_terminal_summary(terminalreporter):
    """Why each rerun test failed the first time (pytest-rerunfailures' summary names them only): the last
    lines of the failure, so a scheduling hiccup on a busy machine can be told from a real fault."""
    reruns = terminalreporter.stats.get("rerun", [])
    if reruns:
        terminalreporter.section("why tests were rerun")
        for report in reruns:
            lines = report.longreprtext.strip().splitlines()
            terminalreporter.write_line(f"{report.nodeid}:")
            for line in lines[-6:]:
                terminalreporter.write_line(f"    {line}")


@pytest.fixture
def torch_float64():
    """Double precision for one test (known-answer physics checks), restored afterwards."""
    import torch  # here, not at the top: conftest must not import torch before every test run

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture
def ros_context(spawn_python):
    """A fresh, initialised rclpy context for one test; nodes take it with `context=ros_context`.

    It asks for `spawn_python` so that its teardown, and that of `ros_node`, comes first: nodes and context
    go while the test's subprocesses still run, not while discovery is reacting to their killed participants
    (destroying a node then crashed rclpy once, inside `destroy_node`).
    """
    import rclpy

    context = rclpy.Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)


@pytest.fixture
def ros_node(ros_context):
    """A node in `ros_context` (name `test_node`), destroyed after the test (before its subprocesses are
    killed: `ros_context`)."""
    import rclpy.node

    node = rclpy.node.Node("test_node", context=ros_context)
    yield node
    node.destroy_node()


def spin_until_condition(nodes, condition, timeout: float = 10.0) -> bool:
    """Spin `nodes` (a node or a list of them, one context) until `condition()` is true or `timeout` s pass.

    Returns the final value of `condition()`, so tests can `assert spin_until_condition(...)`.
    """
    from rclpy.executors import SingleThreadedExecutor

    nodes = nodes if isinstance(nodes, list | tuple) else [nodes]
    executor = SingleThreadedExecutor(context=nodes[0].context)
    for node in nodes:
        executor.add_node(node)
    deadline = time.monotonic() + timeout
    try:
        while not condition() and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        return bool(condition())
    finally:
        for node in nodes:
            executor.remove_node(node)
        executor.shutdown()


@pytest.fixture
def spin_until():
    """The `spin_until_condition(nodes, condition, timeout)` helper, as a fixture."""
    return spin_until_condition


def call_until_answered(node, client, request, timeout: float = 10.0):
    """Call a ready service from `node` and return the response, or None after `timeout` s.

    Fast DDS drops a response while the server has not yet matched this client's response reader (rclpy
    warns "failed to send response (timeout)"; on a busy machine discovery lags), so the request is sent
    again each second, as a client must; a server that never answers still gives None.
    """
    deadline = time.monotonic() + timeout
    future = client.call_async(request)
    while not spin_until_condition(node, future.done, timeout=1.0):
        client.remove_pending_request(future)
        if time.monotonic() >= deadline:
            return None
        future = client.call_async(request)
    return future.result()


@pytest.fixture
def call_service():
    """The `call_until_answered(node, client, request, timeout)` helper, as a fixture."""
    return call_until_answered


@pytest.fixture
def spawn_python():
    """Start `python <args>` subprocesses (same interpreter and ROS domain); all are killed after the test.

    Returns a function `spawn(*args, ready=None, timeout=20.0)`; with `ready`, it waits until that line
    appears on the process' stdout (raising with the process output if it exits or times out first).
    """
    procs = []

    def spawn(*args, ready: str | None = None, timeout: float = 20.0) -> subprocess.Popen:
        env = dict(os.environ, PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")])))
        proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, cwd=REPO_ROOT)
        procs.append(proc)
        if ready is not None:
            _wait_for_line(proc, ready, timeout)
        return proc

    yield spawn
    for proc in procs:
        proc.kill()
        proc.wait(timeout=10)


def _wait_for_line(proc: subprocess.Popen, line: str, timeout: float) -> None:
    # Raw reads: a buffered reader could hold the line while select() sees an empty pipe.
    import selectors

    data = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and sel.select(timeout=max(0.0, deadline - time.monotonic())):
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            data += chunk
            if line.encode() in data.splitlines():
                return
    proc.kill()
    output = data.decode(errors="replace")
    raise RuntimeError(f"subprocess did not print {line!r} (rc={proc.wait()}):\n{output}")
