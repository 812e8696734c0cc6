"""fip-body and fip-calibrate (machines without the ros2 CLI) against real services over DDS: a body_params
process in a person's namespace, and a Calibrate server; failures are one line with exit status 1."""

import subprocess
import threading
from pathlib import Path

from rclpy.executors import SingleThreadedExecutor

from fip_msgs.srv import Calibrate

EXE = Path(__file__).resolve().parents[1] / "install" / "fip_ros" / "lib" / "fip_ros"


def _run(*args, timeout=60):
    out = subprocess.run([str(EXE / args[0]), *args[1:]], capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in out.stderr, out.stderr
    return out


def test_fip_body_get_set_in_a_namespace(tmp_path, spawn_python):
    spawn_python("-m", "fip_ros.ros.nodes.body_params", "--ros-args", "-r", "__ns:=/p3",
                 "-p", "subject_id:='3'", "-p", f"storage_path:={tmp_path / 'body.yaml'}")
    got = _run("fip-body", "get", "--namespace", "p3")
    assert got.returncode == 0 and "subject_id: 3" in got.stdout and "height: 1.75" in got.stdout, got
    changed = _run("fip-body", "set", "--namespace", "p3", "--height", "1.9", "--arm-length", "0.55")
    assert changed.returncode == 0 and "height: 1.9\n" in changed.stdout, changed
    got = _run("fip-body", "get", "--namespace", "p3")
    assert "height: 1.9\n" in got.stdout and "arm_length: 0.55" in got.stdout and "mass: 70" in got.stdout
    assert "height: 1.9" in (tmp_path / "body.yaml").read_text()
    refused = _run("fip-body", "set", "--namespace", "p3", "--height", "190")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "centimetres" in refused.stderr
    missing = _run("fip-body", "get", "--namespace", "nobody", "--timeout", "1")
    assert missing.returncode == 1 and "no service /nobody/get_body_params" in missing.stderr


def test_fip_calibrate(ros_node):
    requests = []

    def serve(request, response):
        requests.append((request.pose, round(request.duration, 3)))
        response.success = request.pose == Calibrate.Request.T_POSE
        response.message = "tpose calibration from 60 frames" if response.success else "not still"
        return response

    ros_node.create_service(Calibrate, "/p4/calibrate", serve)
    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        ok = _run("fip-calibrate", "--namespace", "p4", "--duration", "1.5")
        refused = _run("fip-calibrate", "--namespace", "p4", "--pose", "npose")
    finally:
        executor.shutdown(timeout_sec=1.0)
        spinner.join(timeout=5)
    assert ok.returncode == 0 and ok.stdout.strip() == "tpose calibration from 60 frames", ok
    assert refused.returncode == 1 and refused.stderr.strip() == "not still", refused
    assert requests == [(Calibrate.Request.T_POSE, 1.5), (Calibrate.Request.N_POSE, 0.0)]
    usage = _run("fip-calibrate", "--duration", "-3")
    assert usage.returncode == 2 and usage.stderr.strip().endswith("--duration: -3 s is outside 0-120 s")
