"""fip-view's ROS sources: fip_msgs/SmplPose (+ JointMoments, BodyParams) from a bag or live from the graph.

Every namespace with a ``pose`` topic is one person (``/pose``, ``/alice/pose``, ``/ground_truth/pose``); its
``joint_moments`` and latched ``body_params`` in the same namespace add the dynamics and the skeleton's size.
The messages' REP-103 vectors are turned into the viewer's SMPL frame (y up). Poses carry the estimator's
root translation, which the dynamics node also uses (its centres of pressure are then in the same world);
poses without one are placed by stance-foot anchoring, as the dynamics node then does.
"""

import time

import numpy as np

from fip_ros.visualization.tracks import Track

POSE_TYPE, MOMENTS_TYPE, BODY_TYPE = ("fip_msgs/msg/SmplPose", "fip_msgs/msg/JointMoments",
                                      "fip_msgs/msg/BodyParams")


def namespace(topic: str) -> str:
    """'/alice/pose' -> '/alice'; '/pose' -> ''."""
    return topic.rsplit("/", 1)[0]


def _ns(stamp) -> int:
    return stamp.sec * 10**9 + stamp.nanosec


def _smpl(v) -> np.ndarray:
    from fip_ros.ros.conversions import M_SMPL_TO_ROS

    return M_SMPL_TO_ROS.T @ np.array([v.x, v.y, v.z], dtype=float)


class Skeleton:
    """Joint positions of SmplPose messages for one body (default body until a BodyParams arrives), placed
    by their translation, else by stance-foot anchoring."""

    def __init__(self):
        from fip_ros.ros.params import FALLBACK_BODY

        self.set_body({name: default for name, (default, _) in FALLBACK_BODY.items()})

    def set_body(self, body: dict):
        from fip_ros.core.body_model import offsets_for_body
        from fip_ros.physics.translation import StanceTranslation

        self.offsets = offsets_for_body(body).double()
        self.anchoring = StanceTranslation(body["height"])

    def set_body_msg(self, msg):
        from fip_ros.core.body_model import validate_body
        from fip_ros.ros.params import body_from_msg

        self.set_body(validate_body(body_from_msg(msg)))

    def joints(self, msg) -> np.ndarray:
        """(24,3) joint positions; ValueError for a pose that cannot be used (bad quaternions or translation),
        which leaves the anchoring untouched."""
        import torch

        from fip_ros.core.kinematics import forward_kinematics
        from fip_ros.ros.conversions import local_rot_from_quats, smpl_pose_quats, valid_quats

        quats = smpl_pose_quats(msg)
        root = _smpl(msg.root_translation) if msg.translation_valid else np.zeros(3)
        if not valid_quats(quats) or not np.isfinite(root).all():
            raise ValueError("non-finite or non-unit rotations, or a non-finite translation")
        rot = torch.as_tensor(local_rot_from_quats(quats), dtype=torch.float64)
        rel = forward_kinematics(rot, self.offsets)[1]
        if msg.translation_valid:
            root = torch.as_tensor(root)
        else:
            root = self.anchoring.step(rel)[0]
        return (rel + root).numpy()


def dynamics_frame(msg) -> dict:
    """JointMoments -> contact (2,), grf (2,3), cop (2,3), moments (24,3) in the SMPL frame."""
    return dict(contact=np.array([msg.left_contact_probability, msg.right_contact_probability], float),
                grf=np.stack([_smpl(msg.left_grf), _smpl(msg.right_grf)]),
                cop=np.stack([_smpl(msg.left_cop), _smpl(msg.right_cop)]),
                moments=np.stack([_smpl(m) for m in msg.moments]) if len(msg.moments) == 24
                else np.full((24, 3), np.nan))


def load_bag(path) -> list[Track]:
    """Every person in a bag (one Track per namespace with poses), times from the first pose's stamp."""
    from fip_ros.ros.bag_tools import bag_topics, read_bag, typestore

    every = bag_topics(path)
    topics = {t: ty for t, (ty, _, _) in every.items() if ty in (POSE_TYPE, MOMENTS_TYPE, BODY_TYPE)}
    if POSE_TYPE not in topics.values():
        raise ValueError(f"{path}: no fip_msgs/SmplPose topic (topics: {', '.join(sorted(every)) or 'none'})")
    store = typestore()
    poses, dynamics, skeletons = {}, {}, {}
    for topic, msgtype, _, data in read_bag(path, list(topics)):
        msg, ns = store.deserialize_cdr(data, msgtype), namespace(topic)
        skel = skeletons.setdefault(ns, Skeleton())
        if msgtype == BODY_TYPE:
            try:
                skel.set_body_msg(msg)
            except ValueError:  # an impossible body: the previous one stays
                pass
        elif msgtype == POSE_TYPE:
            try:
                poses.setdefault(ns, {})[_ns(msg.header.stamp)] = skel.joints(msg)
            except ValueError:  # an unusable pose is left out, as the live view does
                continue
        else:
            dynamics.setdefault(ns, {})[_ns(msg.header.stamp)] = dynamics_frame(msg)
    poses = {ns: p for ns, p in poses.items() if p}
    if not poses:
        raise ValueError(f"{path}: no usable fip_msgs/SmplPose message")
    start = min(min(p) for p in poses.values())
    tracks = []
    for ns, by_stamp in sorted(poses.items()):
        stamps = sorted(by_stamp)
        track = Track(ns.strip("/") or "pose", (np.array(stamps) - start) * 1e-9,
                      np.stack([by_stamp[s] for s in stamps]))
        dyn = dynamics.get(ns, {})
        if dyn:
            empty = dict(contact=np.full(2, np.nan), grf=np.full((2, 3), np.nan), cop=np.full((2, 3), np.nan),
                         moments=np.full((24, 3), np.nan))
            for key in empty:
                setattr(track, key, np.stack([dyn.get(s, empty)[key] for s in stamps]))
        tracks.append(track)
    return tracks


class LiveSource:
    """Subscribes to ``<ns>/pose``, ``<ns>/joint_moments``, ``<ns>/body_params`` for each namespace and draws
    the newest pose (the dynamics follow the pose by the dynamics node's filter delay, ~0.1 s)."""

    MAX_RATE = 30.0  # Hz of redraws per person: a browser shows no more, and 60 Hz x several people is load
    PATH_POINTS = 3000  # pelvis path kept per person (50 s at 60 Hz)

    def __init__(self, viewer, namespaces, context=None):
        from rclpy.node import Node

        from fip_msgs.msg import BodyParams, JointMoments, SmplPose
        from fip_ros.ros import qos

        self.viewer = viewer
        self.status_names = {getattr(SmplPose, n): n.removeprefix("STATUS_") for n in dir(SmplPose)
                             if n.startswith("STATUS_")}
        self.node = Node("fip_view", context=context)
        self.state, self.topics, self.first = {}, [], None
        for ns in namespaces:
            ns = "/" + ns.strip("/") if ns.strip("/") else ""
            name = ns.strip("/") or "pose"
            self.first = self.first or name  # the camera follows the first person
            self.topics.append(f"{ns}/pose")
            self.state[name] = dict(skel=Skeleton(), path=[], drawn=0.0, dyn={}, path_drawn=0.0)
            self.node.create_subscription(SmplPose, f"{ns}/pose", lambda m, n=name: self._on_pose(n, m),
                                          qos.RELIABLE)
            self.node.create_subscription(JointMoments, f"{ns}/joint_moments",
                                          lambda m, n=name: self._on_moments(n, m), qos.RELIABLE)
            self.node.create_subscription(BodyParams, f"{ns}/body_params",
                                          lambda m, n=name: self._on_body(n, m), qos.LATCHED)
        self.poses = 0

    def _on_body(self, name, msg):
        try:
            self.state[name]["skel"].set_body_msg(msg)
        except ValueError as exc:
            self.node.get_logger().warning(f"{name}: ignoring body_params: {exc}")

    def _on_moments(self, name, msg):
        self.state[name]["dyn"] = dynamics_frame(msg)

    def _on_pose(self, name, msg):
        st = self.state[name]
        try:
            joints = st["skel"].joints(msg)
        except ValueError as exc:  # zero or non-finite quaternions: skip the message, keep the stream
            self.node.get_logger().warning(f"{name}: skipping a pose: {exc}", throttle_duration_sec=5.0)
            return
        if not np.isfinite(joints).all():
            return
        self.poses += 1
        st["path"] = (st["path"] + [joints[0]])[-self.PATH_POINTS:]
        now = time.monotonic()
        if now - st["drawn"] < 1.0 / self.MAX_RATE:
            return
        if not st["drawn"]:
            self.viewer.look_at(joints[0])
        if name == self.first:
            self.viewer.follow(joints[0])
        st["drawn"] = now
        self.viewer.show(name, dict(joints=joints, **st["dyn"]))
        self.viewer.status(name, self.status_names.get(msg.tracking_status, str(msg.tracking_status)))
        if now - st["path_drawn"] > 0.5:
            st["path_drawn"] = now
            self.viewer.trajectory(name, np.asarray(st["path"]))
