"""Stop signals on real processes: every node executable and fip-bringup exit 0 within 3 s, with no
traceback and no "publisher's context is invalid", on one SIGINT, on a second one during the cleanup, on
SIGTERM and during the start-up. Signals go to the whole process group, as a terminal's Ctrl-C or a
supervisor sends them, while data flows (replay timer, estimator, TF and dynamics callbacks, imu_udp's
receive thread fed by a UDP sender, bag_player's thread)."""

import importlib.util
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from helpers import free_ports, synthetic_clip
from rcl_interfaces.srv import ListParameters

from fip_ros.ros.bag_tools import write_recording
from fip_ros.ros.ngimu_osc import encode_message
from fip_ros.ros.recordings import load_recording

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("stop_cycles", REPO / "scripts" / "stop_cycles.py")
stop_cycles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stop_cycles)
EXE = REPO / "install" / "fip_ros" / "lib" / "fip_ros"
LIMIT = 3.0  # s, from the first signal to the last exit
NODES = ("imu_replay", "body_params", "estimator", "smpl_tf_broadcaster", "dynamics", "imu_udp", "bag_player",
         "bag_recorder")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("recordings")
    clip = synthetic_clip(tmp / "clip.npz", 4.0)
    write_recording(load_recording(clip, tpose_seconds=0.5), tmp / "bag")
    return clip, tmp / "bag"


def _commands(tmp, clip, bag, ports):
    extra = {
        "imu_replay": ["-p", f"source:={clip}", "-p", "loop:=true"],
        "body_params": ["-p", f"storage_path:={tmp}/body.yaml"],
        "imu_udp": ["-r", "__ns:=/udp", "-p", f"ports:={ports}".replace(" ", "")],  # its own person
        "bag_player": ["-p", f"bag:={bag}", "-p", "loop:=true", "-p", "topics:=[/ground_truth/pose]"],
        "bag_recorder": ["-p", f"output:={tmp}/recorded", "-p", "topics:=[/clock]"],
    }
    return [[str(EXE / name), "--ros-args", "-r", f"__node:={name}", *extra.get(name, [])] for name in NODES]


def _send_osc(ports, stop: threading.Event):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    packet = encode_message("/sensors", [1.0, 2.0, 3.0, 0.0, 0.0, 1.0, 20.0, 0.0, 40.0, 1013.0])
    while not stop.is_set():
        for port in ports:
            sock.sendto(packet, ("127.0.0.1", port))
        time.sleep(0.005)
    sock.close()


def _running(procs, node, names, spin_until, call_service, timeout=60.0):
    """Wait until every node answers its list_parameters service, i.e. has started and spins."""
    deadline = time.monotonic() + timeout
    for full_name in names:
        client = node.create_client(ListParameters, f"{full_name}/list_parameters")
        while not client.service_is_ready():
            assert all(p.poll() is None for p in procs), [p.args[0] for p in procs if p.poll() is not None]
            assert time.monotonic() < deadline, f"{full_name} did not start"
            spin_until(node, client.service_is_ready, 0.2)
        answer = call_service(node, client, ListParameters.Request(), max(1.0, deadline - time.monotonic()))
        assert answer is not None, f"{full_name} did not answer list_parameters"
        node.destroy_client(client)


def _assert_clean(result, limit=3.0):
    # An orphan's own output ends with its threads' stacks (SIGABRT under PYTHONFAULTHANDLER).
    orphans = result["orphans"]
    assert not orphans, [(p, text[-3000:]) for p, text in result["outputs"] if p in orphans]
    assert result["codes"] == [0] * len(result["codes"]), result["output"][-3000:]
    assert not result["bad"], result["bad"]
    assert result["seconds"] <= limit, result["seconds"]


@pytest.mark.parametrize("pattern", ["SIGINT", "SIGINT x2"])  # SIGTERM: the same handler, tested below
def test_every_node_process_stops_cleanly(pattern, recordings, tmp_path, ros_node, spin_until, call_service):
    clip, bag = recordings
    ports = free_ports(6)
    stop = threading.Event()
    sender = threading.Thread(target=_send_osc, args=(ports, stop), daemon=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1")
    procs = stop_cycles.start_group(_commands(tmp_path, clip, bag, ports), env)
    try:
        sender.start()
        names = [f"/udp/{n}" if n == "imu_udp" else f"/{n}" for n in NODES]
        _running(procs, ros_node, names, spin_until, call_service)
        time.sleep(1.0)  # data flowing through every callback and thread
        result = stop_cycles.stop_group(procs, stop_cycles.PATTERNS[pattern], between=0.2, limit=LIMIT)
    finally:
        stop.set()
        for p in procs:
            p.kill()
    _assert_clean(result, LIMIT)


@pytest.mark.parametrize("pattern,delay", [("SIGTERM", None), ("SIGINT", 1.0)])
def test_bringup_stops_cleanly(pattern, delay, recordings, tmp_path, ros_node, spin_until, call_service):
    """delay None: once the graph runs; else that many seconds after the start (imports, model loading)."""
    clip, _ = recordings
    env = dict(os.environ, PYTHONUNBUFFERED="1", ROS_HOME=str(tmp_path))
    cmd = [str(EXE / "fip-bringup"), "--graph", "replay", "--clip", str(clip)]
    procs = stop_cycles.start_group([cmd], env)
    try:
        if delay is None:
            _running(procs, ros_node, ("/imu_replay", "/estimator", "/smpl_tf_broadcaster", "/dynamics"),
                     spin_until, call_service)
            time.sleep(1.0)
        else:
            time.sleep(delay)
        result = stop_cycles.stop_group(procs, stop_cycles.PATTERNS[pattern], between=0.2, limit=LIMIT)
    finally:
        for p in procs:
            p.kill()
    _assert_clean(result, LIMIT)


def test_node_interrupted_during_start_up(tmp_path):
    """SIGINT while the estimator imports torch and loads its model: no KeyboardInterrupt traceback."""
    procs = stop_cycles.start_group([[str(EXE / "estimator")]], dict(os.environ, PYTHONUNBUFFERED="1"))
    time.sleep(0.7)
    _assert_clean(stop_cycles.stop_group(procs, [2]))
