"""rosbag2 bags without a ROS install (the ``rosbags`` library): the library of ``fip-bag``.

``fip-bag convert (--clip F.npz | --dip F.pkl | --totalcapture F.pkl) --out DIR [--storage mcap|sqlite3]``
writes the six ``/imu/<site>/data`` streams (sensor_msgs/Imu, raw REP 145 data, as ``imu_replay`` publishes
them) and ``/ground_truth/pose`` (fip_msgs/SmplPose) as a version-9 bag whose metadata carries the offered QoS
profiles, so ``ros2 bag play`` (or the ``bag_player`` node) reproduces the streams.
``fip-bag info BAG`` shows the start time, duration, topics, types, counts and QoS.
"""

import importlib
import os
from pathlib import Path

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import serialize_message
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer, WriterError
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from fip_ros.ros import qos
from fip_ros.ros.conversions import imu_frame, imu_topic, make_imu, smpl_pose_msg, time_from_ns
from fip_ros.ros.formats import STORAGE_NAMES

STORAGES = dict(zip(STORAGE_NAMES, (StoragePlugin.MCAP, StoragePlugin.SQLITE3), strict=True))
IMU_TYPE = "sensor_msgs/msg/Imu"
POSE_TYPE = "fip_msgs/msg/SmplPose"
GROUND_TRUTH_TOPIC = "/ground_truth/pose"
_INFINITE = QosTime(sec=9223372036, nsec=854775807)  # what rosbag2 writes for "no limit"


def _fip_msgs_dirs():
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        yield Path(prefix) / "share" / "fip_msgs" / "msg"
    yield Path(__file__).resolve().parents[2] / "fip_msgs" / "msg"


def typestore():
    """Kilted type store plus fip_msgs (from the installed or source .msg files); tf2_msgs is built in."""
    store = get_typestore(Stores.ROS2_KILTED)
    for folder in _fip_msgs_dirs():
        if folder.is_dir():
            types = {}
            for f in sorted(folder.glob("*.msg")):
                types.update(get_types_from_msg(f.read_text(), f"fip_msgs/msg/{f.stem}"))
            store.register(types)
            break
    return store


def message_class(msgtype: str):
    """'pkg/msg/Name' -> the rclpy message class (ImportError/AttributeError if not installed)."""
    pkg, kind, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


def qos_to_bag(profile: QoSProfile) -> Qos:
    history = QosHistory.KEEP_ALL if profile.history == HistoryPolicy.KEEP_ALL else QosHistory.KEEP_LAST
    reliability = QosReliability.BEST_EFFORT if profile.reliability == ReliabilityPolicy.BEST_EFFORT \
        else QosReliability.RELIABLE
    durability = QosDurability.TRANSIENT_LOCAL if profile.durability == DurabilityPolicy.TRANSIENT_LOCAL \
        else QosDurability.VOLATILE
    return Qos(history, profile.depth, reliability, durability, _INFINITE, _INFINITE, QosLiveliness.AUTOMATIC,
               _INFINITE, False)


def qos_from_bag(profiles) -> QoSProfile:
    """Publisher QoS for replay: reliable unless every recorded publisher was best effort; transient-local
    when any was (late joiners then still get latched state such as /tf_static)."""
    if not profiles:
        return qos.RELIABLE
    best_effort = all(p.reliability == QosReliability.BEST_EFFORT for p in profiles)
    latched = any(p.durability == QosDurability.TRANSIENT_LOCAL for p in profiles)
    depth = max(1, max(p.depth for p in profiles))
    reliability = ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE
    return QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST, reliability=reliability,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)


class BagWriter:
    """Version-9 rosbag2 writer of serialized (CDR) messages; one connection per topic."""

    def __init__(self, path, storage: str = "mcap"):
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {sorted(STORAGES)}, got {storage!r}")
        self.store = typestore()
        try:
            self.writer = Writer(Path(path), version=9, storage_plugin=STORAGES[storage])
            self.writer.open()
        except WriterError as exc:
            raise ValueError(f"cannot write bag {path}: {exc}") from exc
        self.connections = {}

    def add_topic(self, topic: str, msgtype: str, profiles=(qos.RELIABLE,)):
        if msgtype not in self.store.fielddefs:
            raise KeyError(f"no message definition for {msgtype}")
        self.connections[topic] = self.writer.add_connection(
            topic, msgtype, typestore=self.store, offered_qos_profiles=[qos_to_bag(p) for p in profiles])

    def write(self, topic: str, stamp_ns: int, data: bytes):
        self.writer.write(self.connections[topic], stamp_ns, bytes(data))

    def close(self):
        self.writer.close()


def write_recording(rec, out, storage: str = "mcap", start_ns: int = 0, frame_prefix: str = "",
                    world_frame: str = "world", subject_id: str = "default") -> int:
    """Write ``rec`` (a ``fip_ros.ros.recordings.Recording``) as a bag; stamps and log times are
    ``start_ns`` + t. Returns the number of messages."""
    bag = BagWriter(out, storage)
    topics = ["/" + imu_topic(site) for site in rec.sites]
    frames = [imu_frame(site, frame_prefix) for site in rec.sites]
    for topic in topics:
        bag.add_topic(topic, IMU_TYPE)
    if rec.gt_local_rot is not None:
        bag.add_topic(GROUND_TRUTH_TOPIC, POSE_TYPE)
    count = 0
    try:
        for i in range(len(rec)):
            t_ns = start_ns + round(i * 1e9 / rec.fps)
            stamp = time_from_ns(t_ns)
            for s, topic in enumerate(topics):
                msg = make_imu(stamp, frames[s], rec.quat[i, s], rec.gyro[i, s], rec.acc[i, s])
                bag.write(topic, t_ns, serialize_message(msg))
            count += len(topics)
            if rec.gt_local_rot is not None:
                tran = None if rec.gt_tran is None else rec.gt_tran[i]
                pose = smpl_pose_msg(stamp, world_frame, subject_id, rec.gt_local_rot[i], tran)
                bag.write(GROUND_TRUTH_TOPIC, t_ns, serialize_message(pose))
                count += 1
    finally:
        bag.close()
    return count


def read_bag(path, topics=None):
    """Yield (topic, msgtype, log_time_ns, cdr bytes) in log-time order."""
    with Reader(Path(path)) as reader:
        conns = [c for c in reader.connections if topics is None or c.topic in topics]
        for conn, t_ns, data in reader.messages(connections=conns):
            yield conn.topic, conn.msgtype, t_ns, data


def bag_info(path) -> dict:
    """dict(start_ns (first message's log time), duration_ns, topics: topic -> (msgtype, message count,
    [rosbags Qos])); ValueError on a file that is not a readable bag."""
    try:
        with Reader(Path(path)) as reader:
            topics = {c.topic: (c.msgtype, c.msgcount, list(getattr(c.ext, "offered_qos_profiles", []) or []))
                      for c in reader.connections}
            empty = reader.message_count == 0
            return {"start_ns": 0 if empty else reader.start_time,
                    "duration_ns": 0 if empty else reader.duration, "topics": topics}
    except ReaderError as exc:
        raise ValueError(f"cannot read bag {path}: {exc}") from exc


def bag_topics(path) -> dict:
    """topic -> (msgtype, message count, [rosbags Qos])."""
    return bag_info(path)["topics"]
