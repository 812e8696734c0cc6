"""ROS latency benchmark: IMU publication -> /tf publication it causes, through real DDS, nodes in separate
processes (feeder, estimator, smpl_tf_broadcaster per body, this listener).

Latency = time this listener receives a /tf message - its header stamp; the feeder stamps every IMU frame
with the wall time at which it publishes it and the estimator keeps input stamps, so this is IMU
publication -> (DDS) estimator -> (DDS) TF broadcaster -> (DDS) /tf receipt, on one clock.
Lost = feeder frames (seen by this listener on imu/pelvis/data) in the measured window without a /tf.
Several bodies = one estimator + one broadcaster per body, each in its own namespace p<i> (REP 155 ids).

    python bench/bench_ros.py --duration 60 --bodies 1 5 --backend onnx
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FPS = 60.0
STILL_S = 2.0   # T-pose at the start (estimator auto-calibrates on its first second)
WARMUP_S = 2.0  # frames after the still segment not measured (first inferences are slow)


def feeder(bodies: int, duration: float):
    """Publish ``bodies`` x six REP-145 IMU streams at 60 Hz, stamped with the publication wall time."""
    import rclpy
    from rclpy.node import Node
    from sensor_msgs.msg import Imu

    from fip_ros.core.gravity import G_UNIT
    from fip_ros.core.smpl_tree import SENSOR_NAMES
    from fip_ros.ros import qos
    from fip_ros.ros.conversions import imu_topic, make_imu, time_from_ns

    rclpy.init()
    node = Node("bench_feeder")
    pubs = [[node.create_publisher(Imu, f"/p{b}/{imu_topic(s)}", qos.RELIABLE) for s in SENSOR_NAMES]
            for b in range(bodies)]
    flat = [p for body in pubs for p in body]
    rng = np.random.default_rng(0)

    def frame(still):
        msgs = []
        for _ in range(bodies):
            for s in range(len(SENSOR_NAMES)):
                q = np.array([0.0, 0.0, 0.0, 1.0]) + (0 if still else rng.normal(0, 0.05, 4))
                a = np.array([0.0, 0.0, G_UNIT]) + (0 if still else rng.normal(0, 1.0, 3))
                msgs.append(make_imu(time_from_ns(0), f"imu_{SENSOR_NAMES[s]}", q / np.linalg.norm(q),
                                     [0.0, 0.0, 0.0], a))
        return msgs

    # Messages made beforehand (one still frame, a cycle of 60 moving ones): the loop only stamps and
    # publishes, so the feeder keeps 60 Hz on a loaded machine.
    still_frame, moving = frame(True), [frame(False) for _ in range(int(FPS))]
    time.sleep(2.0)  # discovery
    start = time.monotonic()
    for i in range(int((STILL_S + WARMUP_S + duration + 1.0) * FPS)):
        msgs = still_frame if i < STILL_S * FPS else moving[i % len(moving)]
        time.sleep(max(0.0, start + i / FPS - time.monotonic()))
        stamp = time_from_ns(time.time_ns())  # messages are ready: the stamp is the publication time
        for msg, pub in zip(msgs, flat, strict=True):
            msg.header.stamp = stamp
            pub.publish(msg)
    node.destroy_node()
    rclpy.shutdown()


def _spawn(args, log: Path, env):
    return subprocess.Popen([sys.executable, *args], stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
                            cwd=REPO)


def run(bodies: int, duration: float, backend: str, model: str, workdir: Path) -> dict:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from sensor_msgs.msg import Imu
    from tf2_msgs.msg import TFMessage

    from fip_msgs.msg import SmplPose
    from fip_ros.ros import qos

    env = dict(os.environ, PYTHONPATH=f"{REPO}:{os.environ.get('PYTHONPATH', '')}", OMP_NUM_THREADS="1",
               PYTHONUNBUFFERED="1")
    procs = []
    for b in range(bodies):
        ns = ["--ros-args", "-r", f"__ns:=/p{b}"]
        procs.append(_spawn(["-m", "fip_ros.ros.nodes.estimator", *ns, "--params-file",
                             str(REPO / "config/estimator.yaml"), "-p", f"backend:={backend}",
                             "-p", f"model_path:={model}", "-p", f"subject_id:='{b}'"],
                            workdir / f"estimator_{b}.log", env))
        procs.append(_spawn(["-m", "fip_ros.ros.nodes.smpl_tf_broadcaster", *ns, "--params-file",
                             str(REPO / "config/tf_broadcaster.yaml"), "-p", f"body_id:='{b}'"],
                            workdir / f"tf_{b}.log", env))
    rclpy.init()
    node = Node("bench_listener")
    sent, got = set(), {}

    def on_tf(msg, now=time.time_ns):
        t = now()
        s = msg.transforms[0].header.stamp
        stamp = s.sec * 10**9 + s.nanosec
        got[(msg.transforms[0].header.frame_id, stamp)] = (t - stamp) * 1e-6

    node.create_subscription(TFMessage, "/tf", on_tf, qos.TF)
    # Split of the first body's latency: IMU publication -> SmplPose receipt, and the estimator's own
    # processing time (last IMU message of a frame taken -> pose published).
    pose_lat, processing = {}, []

    def on_pose(msg, now=time.time_ns):
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        pose_lat[stamp] = (now() - stamp) * 1e-6
        processing.append(msg.processing_latency * 1e3)

    node.create_subscription(SmplPose, "/p0/pose", on_pose, qos.RELIABLE)
    node.create_subscription(Imu, "/p0/imu/pelvis/data",
                             lambda m: sent.add(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec),
                             qos.RELIABLE)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    # Estimators load the model (and export ONNX) before they subscribe: wait for them all.
    deadline = time.monotonic() + 120
    logs = [workdir / f"estimator_{b}.log" for b in range(bodies)]
    while time.monotonic() < deadline and sum("estimator ready" in log.read_text() for log in logs) < bodies:
        executor.spin_once(timeout_sec=0.2)
    feed = _spawn([__file__, "--role", "feeder", "--bodies", str(bodies), "--duration", str(duration)],
                  workdir / "feeder.log", env)
    try:
        while feed.poll() is None:
            executor.spin_once(timeout_sec=0.05)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        node.destroy_node()
        rclpy.shutdown()
    stamps = sorted(sent)
    if not stamps:
        raise RuntimeError(f"no IMU frames seen; logs in {workdir}")
    lo = stamps[0] + int((STILL_S + WARMUP_S) * 1e9)
    hi = lo + int(duration * 1e9)
    window = [s for s in stamps if lo <= s < hi]
    origins = [f"origin_{b}" for b in range(bodies)]
    lat = np.array([got[(o, s)] for s in window for o in origins if (o, s) in got])
    expected = len(window) * bodies
    to_pose = np.array([pose_lat[s] for s in window if s in pose_lat])
    return dict(bodies=bodies, frames=expected, lost=expected - len(lat),
                pose_p50=float(np.percentile(to_pose, 50)) if len(to_pose) else float("nan"),
                processing_p50=float(np.percentile(processing, 50)) if processing else float("nan"),
                p50=float(np.percentile(lat, 50)) if len(lat) else float("nan"),
                p99=float(np.percentile(lat, 99)) if len(lat) else float("nan"),
                max=float(lat.max()) if len(lat) else float("nan"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=60.0, help="measured seconds per run")
    ap.add_argument("--bodies", type=int, nargs="+", default=[1, 5], help="body counts to run")
    ap.add_argument("--backend", default="onnx", choices=("torch", "onnx"))
    ap.add_argument("--model", default="", help="FIP checkpoint (default: shipped weights, else random)")
    ap.add_argument("--role", default="bench", choices=("bench", "feeder"), help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.role == "feeder":
        return feeder(opts.bodies[0], opts.duration)
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(101, 200)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    workdir = Path(tempfile.mkdtemp(prefix="bench_ros_"))
    model = opts.model
    if not model:
        from fip_ros.api import default_weights_path
        model = str(default_weights_path())
        if not Path(model).is_file():  # no shipped weights yet: same network, random weights
            import torch

            from fip_ros.fip.checkpoint import save_checkpoint
            from fip_ros.fip.config import get_config
            from fip_ros.fip.model import FIP
            torch.manual_seed(0)
            model = str(workdir / "random.pt")
            save_checkpoint(model, FIP(get_config()))
    print(f"command: python bench/bench_ros.py --duration {opts.duration:g} --bodies "
          f"{' '.join(map(str, opts.bodies))} --backend {opts.backend}  (model {model}; logs {workdir})")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start (shared CPU)")
    for bodies in opts.bodies:
        r = run(bodies, opts.duration, opts.backend, model, workdir)
        print(f"bodies={r['bodies']} frames={r['frames']} lost={r['lost']} latency p50={r['p50']:.2f} ms "
              f"p99={r['p99']:.2f} ms max={r['max']:.2f} ms  (IMU publication -> /tf receipt, 60 Hz); "
              f"body 0: IMU -> pose p50={r['pose_p50']:.2f} ms, estimator processing p50="
              f"{r['processing_p50']:.2f} ms")


if __name__ == "__main__":
    main()
