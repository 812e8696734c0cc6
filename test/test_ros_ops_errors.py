"""User mistakes end in one line that names the option or parameter, never a traceback: node executables
(exit 1), fip-bringup (exit 2, before any node starts), the launch arguments (checked by the same code)."""

import subprocess
from pathlib import Path

import pytest

from fip_ros.ros.bringup import ArgumentError, validate_args

EXE = Path(__file__).resolve().parents[1] / "install" / "fip_ros" / "lib" / "fip_ros"


def _fails_in_one_line(cmd, code):
    out = subprocess.run([str(EXE / cmd[0]), *cmd[1:]], capture_output=True, text=True, timeout=120)
    text = out.stdout + out.stderr
    assert out.returncode == code and "Traceback" not in text, text
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("cmd,words", [
    (["estimator", "--ros-args", "-p", "model_path:={bad}"], ["'model_path'", "not a readable FIP"]),
    (["estimator", "--ros-args", "-p", "backend:=tensorflow"], ["backend", "tensorflow"]),
    (["imu_replay", "--ros-args", "-p", "source:=/no/such/clip.npz"], ["'source'", "not found"]),
    (["bag_player", "--ros-args", "-p", "bag:=/no/such/bag"], ["'bag'"]),
    (["imu_udp", "--ros-args", "-p", "allowed_senders:=[not-an-address]"], ["'allowed_senders'"]),
])
def test_node_start_up_mistakes(cmd, words, tmp_path):
    bad = tmp_path / "weights.pt"
    bad.write_bytes(b"\x80\x02garbage")
    lines = _fails_in_one_line([c.format(bad=bad) for c in cmd], 1)
    assert len(lines) == 1 and "cannot start" in lines[0] and all(w in lines[0] for w in words), lines
    assert "weights_only" not in lines[0]  # torch's advice to load with code execution is not passed on


@pytest.mark.parametrize("args,option", [
    (["--graph", "live", "--backend", "tensorflow"], "--backend"),
    (["--graph", "replay", "--clip", "/no/such/clip.npz"], "--clip"),
    (["--graph", "replay"], "--clip"),
    (["--graph", "bag"], "--bag"),
    (["--graph", "live", "--namespace", "p 1"], "--namespace"),
    (["--graph", "live", "--params", "estimator"], "--params"),
])
def test_bringup_mistakes_before_any_node(args, option):
    lines = _fails_in_one_line(["fip-bringup", *args], 2)
    assert lines[-1].startswith(f"fip-bringup: error: argument {option}"), lines
    assert not any("started" in line or "[INFO]" in line for line in lines)


@pytest.mark.parametrize("args,name", [({"rviz": "maybe"}, "rviz"), ({"backend": "tf"}, "backend"),
                                       ({"estimator_params": "/no/such.yaml"}, "estimator_params"),
                                       ({"namespace": "/p1//x"}, "namespace")])
def test_launch_arguments_checked_before_any_node(args, name):
    """The launch files' OpaqueFunction calls this before it returns any node (RViz included), so a bad
    argument fails the launch with nothing started."""
    with pytest.raises(ArgumentError) as err:
        validate_args(args, ["imu_udp", "estimator"])
    assert err.value.name == name
    validate_args({"rviz": "True", "namespace": "/lab/p1", "body_id": "p1_a"}, ["imu_udp"])  # fine


@pytest.mark.parametrize("cmd,words", [
    (["fip-bag", "convert", "--clip", "/no/clip.npz", "--out", "{tmp}/bag"], ["fip-bag: error: recording"]),
    (["fip-export", "{bad}", "-o", "{tmp}/out"], ["fip-export: error:", "not a readable FIP checkpoint"]),
])
def test_tool_mistakes(cmd, words, tmp_path):
    """Command-line tools: one line on stderr and status 1 for a missing or unreadable file."""
    bad = tmp_path / "weights.pt"
    bad.write_bytes(b"\x80\x02garbage")
    lines = _fails_in_one_line([c.format(tmp=tmp_path, bad=bad) for c in cmd], 1)
    assert len(lines) == 1 and all(w in lines[0] for w in words), lines
