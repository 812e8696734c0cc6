"""Every fip_msgs message crosses a process boundary through DDS with its field values intact.

Run as a script (`python test_foundation_msgs.py <topic prefix>`), this file is the publisher.
"""

import sys
import uuid

import pytest

SEND_PERIOD = 0.1


def body_params():
    from fip_msgs.msg import BodyParams

    return BodyParams(subject_id="s07", sex=BodyParams.SEX_MALE, height=1.75, arm_length=0.625,
                      leg_length=0.875, mass=79.5)


def smpl_pose():
    from geometry_msgs.msg import Quaternion

    from fip_msgs.msg import SmplPose

    msg = SmplPose()
    msg.header.frame_id = "world"
    msg.header.stamp.sec, msg.header.stamp.nanosec = 12, 345
    msg.subject_id = "s07"
    msg.root_orientation = Quaternion(x=0.0, y=0.0, z=0.6, w=0.8)
    msg.root_translation.x, msg.root_translation.y, msg.root_translation.z = 1.0, -2.0, 0.95
    msg.translation_valid = True
    msg.foot_contact_probability = [0.875, 0.25]
    msg.contact_valid = True
    # Joint j gets a distinct rotation about x, so order errors show.
    msg.local_rotations = [Quaternion(x=j / 100.0, y=0.0, z=0.0, w=1.0) for j in range(24)]
    msg.estimated = [j % 3 == 0 for j in range(24)]
    msg.tracking_status = SmplPose.STATUS_DEGRADED
    msg.processing_latency = 0.0078125
    return msg


def joint_moments():
    from geometry_msgs.msg import Vector3

    from fip_msgs.msg import JointMoments

    msg = JointMoments()
    msg.header.frame_id = "world"
    msg.subject_id = "s07"
    msg.joint_names = ["left_hip", "right_knee"]
    msg.moments = [Vector3(x=1.5, y=-2.5, z=3.5), Vector3(x=0.0, y=40.0, z=-0.25)]
    msg.body_mass, msg.body_height = 79.5, 1.75
    msg.left_grf = Vector3(x=10.0, y=0.0, z=700.0)
    msg.right_cop.x, msg.right_cop.y = 0.25, -0.125
    msg.left_contact, msg.right_contact = True, False
    msg.left_contact_probability, msg.right_contact_probability = 0.875, 0.125
    msg.root_residual_force = Vector3(x=0.5, y=0.0, z=-1.0)
    msg.root_residual_moment = Vector3(x=0.0, y=2.0, z=0.0)
    return msg


SAMPLES = {"body_params": body_params, "smpl_pose": smpl_pose, "joint_moments": joint_moments}


def publish_forever(prefix: str) -> None:
    import rclpy

    from fip_ros.ros import qos

    rclpy.init()
    node = rclpy.create_node("fip_msgs_publisher")
    pubs = [(node.create_publisher(type(make()), f"{prefix}/{name}", qos.RELIABLE), make())
            for name, make in SAMPLES.items()]
    node.create_timer(SEND_PERIOD, lambda: [pub.publish(msg) for pub, msg in pubs])
    print("ready", flush=True)
    rclpy.spin(node)


@pytest.fixture(scope="module")
def publisher_prefix():
    import os
    import subprocess

    from conftest import REPO_ROOT

    prefix = f"/fip_test_{uuid.uuid4().hex[:12]}"
    path = os.pathsep.join([REPO_ROOT, os.environ.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, __file__, prefix], cwd=REPO_ROOT,
                            env=dict(os.environ, PYTHONPATH=path), stdout=subprocess.DEVNULL)
    yield prefix
    proc.kill()
    proc.wait(timeout=10)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_message_crosses_processes(name, publisher_prefix, ros_node, spin_until):
    from fip_ros.ros import qos

    expected = SAMPLES[name]()
    received = []
    ros_node.create_subscription(type(expected), f"{publisher_prefix}/{name}", received.append, qos.RELIABLE)
    assert spin_until(ros_node, lambda: received, timeout=20.0), f"no {name} message from the other process"
    # Generated messages compare field by field (the float32 values above are exact in binary).
    assert received[0] == expected
    if name == "smpl_pose":
        assert received[0].local_rotations[23].x == pytest.approx(0.23)
        assert list(received[0].estimated)[:4] == [True, False, False, True]


def test_message_definitions():
    from fip_msgs.msg import SmplPose
    from fip_msgs.srv import Calibrate

    pose = SmplPose()
    assert len(pose.local_rotations) == 24 and len(pose.estimated) == 24
    assert pose.local_rotations[5].w == 1.0  # default quaternion is identity
    assert (Calibrate.Request.T_POSE, Calibrate.Request.N_POSE) == (0, 1)


if __name__ == "__main__":
    publish_forever(sys.argv[1])
