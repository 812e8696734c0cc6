"""A clean copy of the workspace builds with the project's own build command, and what it builds works."""

import os
import shutil
import subprocess

from conftest import REPO_ROOT

# What a colcon build of fip_msgs + fip_ros reads (weights and caches are not needed to build).
SOURCES = ("package.xml", "setup.py", "setup.cfg", "resource", "fip_msgs", "interfaces", "scripts", "fip_ros",
           "launch", "config", "rviz", "requirements.txt", "requirements-ros.txt")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "weights")
EXECUTABLES = ("imu_replay", "imu_udp", "body_params", "estimator", "smpl_tf_broadcaster", "dynamics",
               "bag_player", "bag_recorder", "fip-dataset", "fip-train", "fip-eval", "fip-export",
               "fip-finetune", "fip-bag", "fip-bringup", "fip-demo", "fip-calibrate", "fip-body", "fip-view",
               "fip-average")


def test_clean_workspace_builds(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    for name in SOURCES:
        src = os.path.join(REPO_ROOT, name)
        if os.path.isdir(src):
            shutil.copytree(src, ws / name, ignore=IGNORE)
        elif os.path.exists(src):
            shutil.copy2(src, ws / name)
    os.symlink(os.path.join(REPO_ROOT, ".venv"), ws / ".venv")  # reuse the installed Python packages

    # tf2_msgs comes from the main workspace (or the system): building it again would double the time.
    build = subprocess.run(["scripts/bootstrap.sh", "build", "--packages-select", "fip_msgs", "fip_ros"],
                           cwd=ws, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]

    install = ws / "install"
    share = install / "fip_ros" / "share"
    assert (share / "fip_ros" / "package.xml").exists()
    assert (share / "ament_index" / "resource_index" / "packages" / "fip_ros").exists()
    # Where `ros2 run` looks: every executable of docs/CONTRACTS.md.
    assert sorted(os.listdir(install / "fip_ros" / "lib" / "fip_ros")) == sorted(EXECUTABLES)

    # The freshly built fip_msgs is the one imported after sourcing, and it serialises round trip.
    check = (
        "import fip_msgs, rclpy.serialization as s\n"
        "from fip_msgs.msg import SmplPose\n"
        "m = SmplPose(subject_id='x', tracking_status=SmplPose.STATUS_LOST)\n"
        "m.local_rotations[3].z = 0.5\n"
        "b = s.serialize_message(m)\n"
        "assert s.deserialize_message(b, SmplPose) == m\n"
        "print(fip_msgs.__file__)\n"
    )
    run = subprocess.run(["bash", "-c", f'source "{install}/local_setup.bash" && python -c "$0"', check],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().startswith(str(install / "fip_msgs")), run.stdout


def test_env_sh_from_any_directory(tmp_path):
    """`source env.sh` from elsewhere, under `set -u`, gives the ROS environment and the interfaces."""
    script = (f'set -u; unset ROS_AUTOMATIC_DISCOVERY_RANGE RMW_IMPLEMENTATION; . "{REPO_ROOT}/env.sh" && '
              'echo "$RMW_IMPLEMENTATION $ROS_AUTOMATIC_DISCOVERY_RANGE" && '
              'python -c "import rclpy, fip_msgs.srv, tf2_msgs.msg, fip_ros; print(fip_ros.__file__)"')
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.split()
    assert lines[:2] == ["rmw_fastrtps_cpp", "LOCALHOST"]
    assert lines[2] == os.path.join(REPO_ROOT, "fip_ros", "__init__.py")  # the sources, not a copy
