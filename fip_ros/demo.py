"""The demo (``fip-demo``, ``make demo``): one held-out mocap clip end to end through ROS, scored and drawn.

1. Imports and retargets one clip of a held-out subject (a walking trial by default) to a motion clip file.
2. Replays it as six raw IMU streams (a still T-pose first, so the estimator calibrates itself as on real
   sensors) through the replay graph of ``fip-bringup`` (imu_replay -> estimator -> smpl_tf_broadcaster,
   body_params, dynamics) in this process over real DDS; a separate collector node records ``pose``, ``/tf``.
3. Scores the estimate against the clip's truth (``fip_ros.core.metrics``), reports latencies and
   writes ``metrics.json``, ``estimate.npz`` (for fip-view), ``skeleton.gif``, ``contact_sheet.png`` and
   ``dynamics.png`` (the dynamics node's joint moments and contacts over time, beside the truth's).
If the ROS graph cannot start, the same raw streams go through the offline API instead, labelled as such.
"""

import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

BODY_ID = "demo"


class DemoError(RuntimeError):
    """A failure with a message for the user (no traceback)."""


# ------------------------------------------------------------------ 1. the clip
def find_clip(mocap: Path, name: str) -> tuple[str, str, tuple]:
    """'16_02', 'cmu-daz/16_02' or 'HDM_tr_...' -> the dataset builder's (source, clip name, files) job."""
    from fip_ros.data.build_dataset import discover

    if not mocap.is_dir():
        raise DemoError(f"mocap folder {mocap} not found: pass --mocap DIR or set FIP_MOCAP_DIR")
    jobs = [j for j in discover(mocap) if name in (j[1], f"{j[0]}/{j[1]}")]
    if len(jobs) != 1:
        found = ", ".join(f"{j[0]}/{j[1]}" for j in jobs) or "none"
        raise DemoError(f"--clip {name!r} must name exactly one clip under {mocap} (found: {found})")
    return jobs[0]


def held_out_split(subject: str) -> str:
    from fip_ros.data.split import load_split_config, split_of

    return split_of(subject, load_split_config())


def import_clip(job, seconds: float, out: Path):
    """Retarget one clip as the dataset builder does, keep its first ``seconds`` (0 = all), save it."""
    from fip_ros.data.build_dataset import import_clip as build_one

    motion = build_one(*job)
    if seconds > 0:
        n = int(round(seconds * motion.fps))
        motion.local_rot, motion.tran = motion.local_rot[:n], motion.tran[:n]
    return motion, motion.save_npz(out / f"clip_{motion.name}.npz")


# ------------------------------------------------------------------ 2. the ROS graph
class Collector:
    """An independent node: ground-truth stamps (one per replayed frame), poses, /tf receipt times."""

    def __init__(self, context):
        from rclpy.node import Node
        from tf2_msgs.msg import TFMessage

        from fip_msgs.msg import JointMoments, SmplPose
        from fip_ros.ros import qos, smpl_frames

        self.node = Node("fip_demo_collector", context=context)
        self.body_frame = smpl_frames.joint_frames(BODY_ID)[0]
        self.truth_ns: list[int] = []  # in publication order: frame i of the replay
        self.poses: dict = {}  # stamp ns -> SmplPose
        self.last_pose_time = 0.0  # monotonic receipt time of the newest pose
        self.tf_latency_ns: dict = {}  # stamp ns -> receipt - stamp (stamp = IMU publication time)
        self.dynamics: dict = {}  # stamp ns -> the dynamics node's JointMoments (same stamp as its pose)
        self.node.create_subscription(SmplPose, "ground_truth/pose",
                                      lambda m: self.truth_ns.append(_ns(m.header.stamp)), qos.RELIABLE)
        self.node.create_subscription(SmplPose, "pose", self._on_pose, qos.RELIABLE)
        self.node.create_subscription(TFMessage, "/tf", self._on_tf, qos.TF)
        self.node.create_subscription(JointMoments, "joint_moments", self._on_moments, qos.RELIABLE)

    def _on_moments(self, msg):
        self.dynamics[_ns(msg.header.stamp)] = msg

    def _on_pose(self, msg):
        self.poses[_ns(msg.header.stamp)] = msg
        self.last_pose_time = time.monotonic()

    def _on_tf(self, msg):
        now = self.node.get_clock().now().nanoseconds
        for t in msg.transforms:
            if t.child_frame_id == self.body_frame:
                self.tf_latency_ns.setdefault(_ns(t.header.stamp), now - _ns(t.header.stamp))

    def has_pose_for_last_truth(self) -> bool:
        return bool(self.truth_ns) and self.truth_ns[-1] in self.poses

    def result(self, frames_in: int, clip_frames: int) -> dict:
        """The clip's frames are the last ``clip_frames`` replayed (the T-pose comes first)."""
        from fip_ros.core.frames import M_SMPL_TO_ROS
        from fip_ros.ros.conversions import local_rot_from_smpl_pose
        from fip_ros.ros.view_source import dynamics_frame

        if len(self.truth_ns) < clip_frames:
            raise DemoError(f"the collector saw {len(self.truth_ns)} replayed frames, expected {frames_in}")
        stamps = self.truth_ns[-clip_frames:]
        valid = np.array([s in self.poses for s in stamps])
        pred = np.broadcast_to(np.eye(3), (clip_frames, 24, 3, 3)).copy()
        tran = np.full((clip_frames, 3), np.nan)  # the estimator's root translation, SMPL axes
        for i, s in enumerate(stamps):
            if valid[i]:
                pose = self.poses[s]
                pred[i] = local_rot_from_smpl_pose(pose)
                if pose.translation_valid:
                    t = pose.root_translation
                    tran[i] = M_SMPL_TO_ROS.T @ np.array([t.x, t.y, t.z])
        moments = [self.dynamics.get(s) for s in stamps]
        mass = next((m.body_mass for m in moments if m is not None), None)
        return dict(pred=pred, tran=tran, valid=valid, frames_in=frames_in, poses_out=len(self.poses),
                    processing=[m.processing_latency for m in self.poses.values()],
                    tf_latency=[v * 1e-9 for v in self.tf_latency_ns.values()],
                    dynamics=[None if m is None else dynamics_frame(m) for m in moments], mass=mass)


def _ns(stamp) -> int:
    return stamp.sec * 10**9 + stamp.nanosec


def run_ros(clip_npz: Path, weights: Path, body: dict, out: Path, opts) -> dict:
    """Replay ``clip_npz`` through the bringup replay graph; returns what the collector node saw."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from fip_ros.ros.bringup import graph_nodes, graph_path, node_class, node_cli_args

    specs, _ = graph_nodes(graph_path("replay"), {"clip": str(clip_npz), "model": str(weights),
                                                  "body_id": BODY_ID, "backend": opts.backend})
    for spec in specs:
        if spec.executable == "body_params":  # the clip's subject, not a body persisted by an earlier run
            spec.overrides.update(body, subject_id=BODY_ID, storage_path=str(out / "body_params.yaml"))
        if spec.executable == "imu_replay":
            spec.overrides.update(tpose_seconds=opts.tpose_seconds, rate=opts.rate)
    classes = [node_class(spec.executable) for spec in specs]

    context = rclpy.Context()
    rclpy.init(context=context, domain_id=opts.domain_id)
    # One thread, as the estimator's own main(): on a busy 2-core machine the multi-threaded executor's GIL
    # contention made the best-effort IMU subscriptions drop a sixth of the frames.
    executor = SingleThreadedExecutor(context=context)
    nodes, spinner = [], None
    try:
        collector = Collector(context)  # first, so it sees the replay's first frame
        nodes.append(collector.node)
        for cls, spec in zip(classes, specs, strict=True):
            nodes.append(cls(cli_args=node_cli_args(spec, ""), context=context))
        for node in nodes:
            executor.add_node(node)
        replay = nodes[1 + [s.executable for s in specs].index("imu_replay")]
        print(f"ROS graph up (domain {opts.domain_id}): {', '.join(s.name for s in specs)}, collector; "
              f"replaying {len(replay.rec)} frames ({replay.rec.tpose_frames} T-pose) at {opts.rate:g}x")
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        _wait_for_replay(replay, collector, spinner, opts.rate)
        return collector.result(replay.published, len(replay.rec) - replay.rec.lead_frames)
    finally:
        executor.shutdown(timeout_sec=1.0)
        if spinner is not None:  # a callback still running would publish through a destroyed node
            spinner.join(timeout=5.0)
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=context)


def _wait_for_replay(replay, collector: Collector, spinner: threading.Thread, rate: float):
    """Until the last frame's pose is in, or the graph stayed quiet (no pose) for 2 s after the replay's end.

    No frame can be lost on the way, whatever the load: the replay, the estimator and the collector share one
    process and one single-threaded executor, Fast DDS delivers in-process samples synchronously inside
    publish(), and per executor cycle the replay timer publishes at most one frame (rcl skips missed periods)
    while every subscription takes one message, so no best-effort queue (depth 5) ever fills. Only the end is
    timed: quiet is measured from the last pose, not from the replay's end, so a slow last cycle still counts.
    """
    deadline = time.monotonic() + len(replay.rec) / replay.rec.fps / rate * 3 + 30
    finished = None
    while not (finished and (collector.has_pose_for_last_truth()
                             or time.monotonic() - max(finished, collector.last_pose_time) > 2.0)):
        if not spinner.is_alive():
            raise DemoError("the ROS executor stopped (see the error above)")
        if time.monotonic() > deadline:
            raise DemoError(f"replay did not finish in time ({replay.index}/{len(replay.rec)} frames sent)")
        time.sleep(0.05)
        if finished is None and replay.index >= len(replay.rec):
            finished = time.monotonic()


def run_offline(clip_npz: Path, weights: Path, body: dict, opts) -> dict:
    """Fallback: the same simulated raw streams through ``fip_ros.api`` (no ROS, no latencies)."""
    from fip_ros.api import load_model
    from fip_ros.ros.conversions import matrix_from_quat
    from fip_ros.ros.recordings import load_recording

    rec = load_recording(clip_npz, tpose_seconds=opts.tpose_seconds)
    calib = slice(0, min(rec.tpose_frames, 60) or 60)
    model = load_model(weights, backend=opts.backend)
    out = model.predict_raw(rec.acc, matrix_from_quat(rec.quat), body, calib_slice=calib)
    pred = out["rotations"][rec.lead_frames:]
    return dict(pred=pred, tran=out["translation"][rec.lead_frames:].astype(np.float64),
                valid=np.ones(len(pred), bool), frames_in=len(rec),
                poses_out=len(out["rotations"]))


# ------------------------------------------------------------------ 3. scores and pictures
def _stats_ms(values) -> dict:
    v = np.asarray(values, float) * 1e3
    if v.size == 0:
        return {"p50_ms": None, "p99_ms": None, "count": 0}
    return {"p50_ms": float(np.percentile(v, 50)), "p99_ms": float(np.percentile(v, 99)),
            "count": int(v.size)}


def score(pred: np.ndarray, true: np.ndarray, offsets: np.ndarray, fps: float) -> dict:
    from fip_ros.core.metrics import sequence_errors, summarize

    summary = summarize([sequence_errors(pred, true, offsets, fps)])
    return {k: v for k, v in summary.items() if not k.startswith("per_joint")}


def stack_dynamics(frames: list) -> dict | None:
    """Per-frame dynamics dicts (None where the dynamics node gave none) -> dict of (T, ...) arrays with NaN
    rows; None without any."""
    if not any(f is not None for f in frames):
        return None
    empty = {k: np.full_like(v, np.nan) for k, v in next(f for f in frames if f is not None).items()}
    return {k: np.stack([(f or empty)[k] for f in frames]) for k in empty}


def write_estimate(pred: np.ndarray, tran, motion, dyn: dict | None, out: Path) -> tuple[Path, np.ndarray]:
    """The estimate as a motion clip file for fip-view (``estimate.npz``): the estimated rotations on the
    clip's skeleton, at the estimator's root translation ``tran`` (T,3) (NaN rows, frames without a pose:
    interpolated; stance-foot anchoring of the pose where it has none at all), moved to start where the
    truth starts, its lowest foot joint as high as the truth's, with the dynamics node's contacts, ground
    reactions, centres of pressure (moved alike) and joint moments per frame (``dyn``, see stack_dynamics).
    Also returns the estimated world joint positions."""
    import torch

    from fip_ros.core.body_model import body_dict
    from fip_ros.core.kinematics import forward_kinematics
    from fip_ros.data.retarget import FOOT_JOINTS
    from fip_ros.physics.translation import estimate_translation

    rot = torch.as_tensor(pred, dtype=torch.float64)
    off = torch.as_tensor(motion.offsets, dtype=torch.float64)
    _, rel = forward_kinematics(rot, off)
    ok = np.zeros(len(pred), bool) if tran is None else np.isfinite(tran).all(1)
    if not ok.any():
        tran = estimate_translation(rel, body_dict(motion.body)["height"], motion.fps)[0].numpy()
    elif not ok.all():  # frames without a pose: between the neighbouring poses' positions
        idx = np.flatnonzero(ok)
        tran = np.stack([np.interp(np.arange(len(tran)), idx, tran[idx, k]) for k in range(3)], 1)
    # The estimator's world starts with the pelvis at the origin: put the estimate where the truth starts,
    # its lowest foot joint at the truth's height (on the floor).
    _, true0 = forward_kinematics(torch.as_tensor(motion.local_rot[:1], dtype=torch.float64), off)
    feet = list(FOOT_JOINTS)
    shift = motion.tran[0] - tran[0]
    shift[1] += float(true0[0, feet, 1].min() - rel[0, feet, 1].min())
    tran = tran + shift
    if dyn is not None and "cop" in dyn:
        dyn = {**dyn, "cop": dyn["cop"] + shift}
    arrays = dict(local_rot=pred.astype(np.float32), tran=tran.astype(np.float32), offsets=motion.offsets,
                  body=motion.body, fps=np.array(motion.fps), subject=np.array(motion.subject),
                  source=np.array(motion.source), name=np.array("estimate"))
    arrays.update(dyn or {})
    path = out / "estimate.npz"
    np.savez_compressed(path, **arrays)
    return path, (rel + torch.as_tensor(tran)[:, None]).numpy()


def travel(root: np.ndarray, motion) -> dict:
    """The estimated root path (T,3) against the clip's: horizontal distances travelled and the endpoint
    error (m, and % of the true distance), both paths from their first frame."""
    from fip_ros.evaluation.translation import clip_metrics, horizontal_distance

    est, true = root - root[0], motion.tran.astype(np.float64) - motion.tran[0]
    m = clip_metrics(true, est, motion.fps)
    return {"distance_m": horizontal_distance(est), "true_distance_m": m["dist"], "endpoint_m": m["end"],
            "endpoint_pct": m["end_pct"]}


def render(pred_pos: np.ndarray, motion, valid: np.ndarray, out: Path) -> list[Path]:
    """Skeleton pictures of the estimate (world positions) over the truth, clip frames with a pose."""
    import torch

    from fip_ros.core.kinematics import forward_kinematics
    from fip_ros.visualization.skeleton_render import render_animation, render_contact_sheet

    true = forward_kinematics(torch.as_tensor(motion.local_rot, dtype=torch.float64),
                              torch.as_tensor(motion.offsets, dtype=torch.float64),
                              torch.as_tensor(motion.tran, dtype=torch.float64))[1].numpy()[valid]
    pred, fps = pred_pos[valid], motion.fps
    gif, sheet = out / "skeleton.gif", out / "contact_sheet.png"
    render_contact_sheet(pred, true, str(sheet), frames=8, fps=fps)
    render_animation(pred, true, str(gif), fps=fps, step=max(3, -(-len(pred) // 150)))  # <= 150 GIF frames
    return [gif, sheet]


EDGE = 10  # frames


def render_moments(pred: np.ndarray, motion, dyn: dict | None, mass: float, out: Path) -> list[Path]:
    """dynamics.png: the dynamics node's moments, contacts and GRF over the clip, beside the offline analysis
    of the true kinematics (its first and last EDGE frames left out), none when the offline fallback ran."""
    import torch

    from fip_ros.core.body_model import body_dict
    from fip_ros.core.kinematics import forward_kinematics
    from fip_ros.visualization.dynamics_plot import render_dynamics
    from fip_ros.visualization.tracks import clip_dynamics

    if dyn is None:
        return []
    est = dict(dyn)
    off = torch.as_tensor(motion.offsets, dtype=torch.float64)
    est["global_rot"] = forward_kinematics(torch.as_tensor(pred, dtype=torch.float64), off)[0].numpy()
    rot, tran = (torch.as_tensor(a, dtype=torch.float64) for a in (motion.local_rot, motion.tran))
    glob, joints = forward_kinematics(rot, off, tran)
    analysed = clip_dynamics(rot, tran, off, joints, body_dict(motion.body), mass, motion.fps)
    truth = {k: v.numpy() for k, v in analysed.items() if k in est}
    truth["global_rot"] = glob.numpy()
    for v in truth.values():  # the clip's ends: one-sided derivatives, no physics to compare
        v[:EDGE], v[-EDGE:] = np.nan, np.nan
    path = out / "dynamics.png"
    render_dynamics(path, motion.fps, mass, est, truth)
    return [path]


def run(opts) -> dict:
    from fip_ros.api import default_weights_path
    from fip_ros.core.body_model import body_dict

    weights = (opts.weights or default_weights_path()).resolve()
    if not weights.is_file():
        raise DemoError(f"FIP weights {weights} not found (shipped weights come from fip-train); "
                        "pass --weights PATH")
    out = opts.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()

    job = find_clip(opts.mocap, opts.clip)
    motion, clip_npz = import_clip(job, opts.seconds, out)
    split = held_out_split(motion.subject)
    if split != "test":
        print(f"WARNING: subject {motion.subject} is in the {split} split, not held out", file=sys.stderr)
    body = body_dict(motion.body)
    print(f"clip {job[0]}/{job[1]}: subject {motion.subject} (split: {split}), "
          f"{motion.frames} frames = {motion.frames / motion.fps:.1f} s, body {body} -> {clip_npz}")

    path = "ROS graph (fip-bringup replay graph, rclpy over DDS)"
    got = None
    persisted = out / "body_params.yaml"  # where body_params stores the body the replay sets: this run's only
    persisted.unlink(missing_ok=True)
    if not opts.offline:
        try:
            got = run_ros(clip_npz, weights, body, out, opts)
        except DemoError:
            raise
        except Exception as exc:  # noqa: BLE001 - any start-up failure of ROS means: use the fallback
            path = f"OFFLINE API FALLBACK (the ROS graph failed: {type(exc).__name__}: {exc})"
            print(f"WARNING: {path}", file=sys.stderr)
    if got is None:
        path = path if not opts.offline else "OFFLINE API (--offline)"
        got = run_offline(clip_npz, weights, body, opts)

    valid = got["valid"]
    if valid.sum() < 4:
        raise DemoError(f"only {int(valid.sum())} of {motion.frames} clip frames got a pose")
    accuracy = score(got["pred"][valid], motion.local_rot[valid], motion.offsets, motion.fps)
    dyn = stack_dynamics(got.get("dynamics", []))
    estimate, pred_pos = write_estimate(got["pred"], got.get("tran"), motion, dyn, out)
    files = [estimate, *render(pred_pos, motion, valid, out),
             *render_moments(got["pred"], motion, dyn, got.get("mass"), out)]
    if persisted.exists():
        files.append(persisted)
    metrics = {
        "path": path,
        "clip": {"file": f"{job[0]}/{job[1]}", "subject": motion.subject, "split": split,
                 "frames": motion.frames, "seconds": motion.frames / motion.fps, "body": body,
                 "npz": str(clip_npz)},
        "weights": str(weights),
        "backend": opts.backend,
        "accuracy": accuracy,
        "translation": travel(pred_pos[:, 0], motion),
        "frames": {"imu_frames_in": int(got["frames_in"]), "poses_out": int(got["poses_out"]),
                   "clip_frames": motion.frames, "clip_frames_with_pose": int(valid.sum())},
        "latency": {"processing": _stats_ms(got.get("processing", [])),
                    "imu_publish_to_tf_receipt": _stats_ms(got.get("tf_latency", []))},
        "wall_seconds": time.monotonic() - t0,
        "files": [str(p) for p in (*files, clip_npz)],
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def report(m: dict) -> str:
    a, f, lat, t = m["accuracy"], m["frames"], m["latency"], m["translation"]

    def ms(d):
        return "n/a" if d["count"] == 0 else f"p50 {d['p50_ms']:.2f} ms, p99 {d['p99_ms']:.2f} ms"

    return "\n".join([
        f"path:      {m['path']}",
        f"clip:      {m['clip']['file']} ({m['clip']['subject']}, split {m['clip']['split']}), "
        f"{m['clip']['seconds']:.1f} s",
        f"accuracy:  SIP error {a['sip_deg']:.1f} deg, angular error {a['angle24_deg']:.1f} deg, "
        f"position error {a['pos_cm']:.1f} cm (p75 {a['pos_cm_p75']:.1f}), "
        f"jitter {a['jitter_km_s3']:.2f} km/s^3",
        f"travel:    {t['distance_m']:.2f} m travelled (truth {t['true_distance_m']:.2f} m), endpoint error "
        f"{t['endpoint_m']:.2f} m = {t['endpoint_pct']:.1f} % of the distance",
        f"frames:    {f['imu_frames_in']} IMU frames in (T-pose included) -> {f['poses_out']} poses out; "
        f"{f['clip_frames_with_pose']}/{f['clip_frames']} clip frames estimated",
        f"latency:   processing {ms(lat['processing'])}; IMU publish -> TF receipt "
        f"{ms(lat['imu_publish_to_tf_receipt'])}",
        f"wrote:     {', '.join(m['files'])}, {Path(m['files'][0]).with_name('metrics.json')}",
        f"time:      {m['wall_seconds']:.0f} s",
        f"3D view:   fip-view {Path(m['files'][0]).parent}   (then open http://127.0.0.1:8080 in a browser)",
    ])
