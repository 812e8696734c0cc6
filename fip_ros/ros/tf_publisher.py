"""TF broadcasters: tf2_ros where it is installed, otherwise the same wire protocol by hand.

The ROS 2 PyPI wheels have no tf2_ros; then these classes publish tf2_msgs/TFMessage on /tf (reliable,
volatile, depth 100) and /tf_static (reliable, transient-local, depth 1; the whole accumulated set is
republished, entries replaced by child_frame_id), which is exactly what tf2 listeners subscribe to.
"""

import math
from collections.abc import Iterable, Sequence

from geometry_msgs.msg import TransformStamped
from tf2_msgs.msg import TFMessage

from fip_ros.core.frames import QUAT_TOLERANCE
from fip_ros.ros import qos

try:
    import tf2_ros
except ImportError:
    tf2_ros = None

HAVE_TF2_ROS = tf2_ros is not None


def make_transform(stamp, parent: str, child: str, translation: Sequence[float],
                   rotation: Sequence[float]) -> TransformStamped:
    """A TransformStamped from a stamp (builtin_interfaces/Time), frame ids, (x, y, z) m and (x, y, z, w)."""
    t = TransformStamped()
    t.header.stamp = stamp
    t.header.frame_id = parent
    t.child_frame_id = child
    t.transform.translation.x, t.transform.translation.y, t.transform.translation.z = map(float, translation)
    r = t.transform.rotation
    r.x, r.y, r.z, r.w = map(float, rotation)
    return t


def validate_transform(t: TransformStamped) -> None:
    """Raise ValueError for what tf2 listeners would reject (so the error shows up at the sender)."""
    parent, child = t.header.frame_id, t.child_frame_id
    for name in (parent, child):
        if not name or name.startswith("/"):
            raise ValueError(f"invalid frame id {name!r}: empty or with a leading '/'")
    if parent == child:
        raise ValueError(f"frame {child!r} cannot be its own parent")
    tr, r = t.transform.translation, t.transform.rotation
    values = (tr.x, tr.y, tr.z, r.x, r.y, r.z, r.w)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"non-finite transform {parent} -> {child}")
    if abs(math.sqrt(r.x * r.x + r.y * r.y + r.z * r.z + r.w * r.w) - 1.0) > QUAT_TOLERANCE:
        raise ValueError(f"non-unit quaternion in transform {parent} -> {child}")


def _as_list(transforms: TransformStamped | Iterable[TransformStamped]) -> list[TransformStamped]:
    items = [transforms] if isinstance(transforms, TransformStamped) else list(transforms)
    for t in items:
        validate_transform(t)
    return items


class TransformBroadcaster:
    """Sends dynamic transforms on /tf."""

    def __init__(self, node, qos_profile=qos.TF):
        if HAVE_TF2_ROS:
            self._impl = tf2_ros.TransformBroadcaster(node, qos_profile)
        else:
            self._impl = None
            self._pub = node.create_publisher(TFMessage, "/tf", qos_profile)

    def send_transform(self, transforms: TransformStamped | Iterable[TransformStamped]) -> None:
        items = _as_list(transforms)
        if self._impl is not None:
            self._impl.sendTransform(items)
        else:
            self._pub.publish(TFMessage(transforms=items))


class StaticTransformBroadcaster:
    """Sends static transforms on /tf_static; each call republishes every transform sent so far."""

    def __init__(self, node, qos_profile=qos.TF_STATIC):
        if HAVE_TF2_ROS:
            self._impl = tf2_ros.StaticTransformBroadcaster(node, qos_profile)
        else:
            self._impl = None
            self._pub = node.create_publisher(TFMessage, "/tf_static", qos_profile)
        self._by_child: dict[str, TransformStamped] = {}

    def send_transform(self, transforms: TransformStamped | Iterable[TransformStamped]) -> None:
        items = _as_list(transforms)
        if self._impl is not None:
            self._impl.sendTransform(items)  # tf2_ros accumulates by child_frame_id itself
            return
        for t in items:
            self._by_child[t.child_frame_id] = t
        self._pub.publish(TFMessage(transforms=list(self._by_child.values())))
