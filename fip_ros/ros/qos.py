"""Named QoS profiles, so every node uses the conventional one for each kind of topic.

Drivers publish reliably; consumers of sensor streams subscribe best-effort (a best-effort publisher would
never reach a reliable subscriber such as RViz).  Latched state (static TF, current body parameters) is
reliable + transient-local, depth 1, so late joiners get the last value.
"""

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

SENSOR_DATA = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5, reliability=ReliabilityPolicy.BEST_EFFORT,
                         durability=DurabilityPolicy.VOLATILE)
RELIABLE = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)
LATCHED = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
# What tf2 uses on /tf and /tf_static.
TF = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.RELIABLE,
                durability=DurabilityPolicy.VOLATILE)
TF_STATIC = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.TRANSIENT_LOCAL)

PROFILES = {"sensor_data": SENSOR_DATA, "reliable": RELIABLE, "latched": LATCHED, "tf": TF,
            "tf_static": TF_STATIC}


def profile(name: str) -> QoSProfile:
    """The profile called `name` (e.g. from a node parameter); ValueError lists the valid names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown QoS profile {name!r}; one of {sorted(PROFILES)}") from None
