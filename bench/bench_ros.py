"""ROS latency benchmark: IMU publication -> the /tf it causes, through real DDS, in separate processes.

Processes: a feeder (six REP-145 IMU streams per body at 60 Hz, each frame stamped with its publication
wall time), the estimator under test, and this listener. Default layout 'tf': ONE estimator serves every
body (``bodies:=[p0, p1, ...]``, one batched ONNX step) and sends /tf itself (``publish_tf``); layout
'split': the same estimator plus one ``smpl_tf_broadcaster`` per body (pose -> /tf in another process).

Latency = receipt of a body's /tf here - its stamp (= the IMU publication time): IMU publication -> (DDS)
estimator [-> (DDS) TF broadcaster] -> (DDS) /tf receipt, on one clock; the listener's own wake-up counts too,
so it spins on rclpy's events executor where there is one and reads the stamps in place. Lost = frames of the
measured window without a /tf. CPU % = the process's CPU time over the run / wall time (100 % = one core).
Start-up = spawn -> 'estimator ready' in its log (Python start, imports, graphs loaded, subscriptions made);
RSS = its resident memory at the end. The late case delays one sensor of body 0 by ``--late-ms`` on the wire
(stamps kept).

    python bench/bench_ros.py                      # 1, 5, 10 bodies for 60 s, then the late-sensor case
    python bench/bench_ros.py --duration 10 --bodies 1 --late-ms 0
"""

import argparse
import collections
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FPS = 60.0
STILL_S = 3.0   # T-pose at the start (the estimator auto-calibrates on its first second)
WARMUP_S = 2.0  # frames after the still segment not measured
LATE_SENSOR = 3  # right lower leg
TARGETS = dict(startup_s=2.0, rss_mb=150.0, p99_1=5.0, p99_10=16.0, late_rate=55.0)


def feeder(bodies: int, duration: float, late_ms: float):
    """Publish ``bodies`` x six IMU streams at 60 Hz; with late_ms, sensor LATE_SENSOR of body 0 goes out that
    much later than its frame (same stamp)."""
    import rclpy
    from rclpy.node import Node
    from rclpy.serialization import serialize_message
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

    # Messages serialised beforehand (one still frame, a cycle of 60 moving ones): the loop only writes the
    # stamp into the bytes and publishes them, as a driver in C would, so the feeder's own Python (about
    # 30 us per message object) neither delays the last sensors of a frame nor takes the CPU from the
    # estimator. Late messages are copies (kept stamps).
    still_frame = [bytearray(serialize_message(m)) for m in frame(True)]
    moving = [[bytearray(serialize_message(m)) for m in frame(False)] for _ in range(int(FPS))]
    stamp_order = "<" if still_frame[0][1] else ">"  # CDR encapsulation; header.stamp right after it
    delayed = collections.deque()  # (due monotonic time, message)
    deadline = time.monotonic() + 20.0  # discovery: the still segment must reach the estimator whole
    while any(p.get_subscription_count() == 0 for p in flat) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    start = time.monotonic()
    for i in range(int((STILL_S + WARMUP_S + duration + 1.0) * FPS)):
        msgs = still_frame if i < STILL_S * FPS else moving[i % len(moving)]
        time.sleep(max(0.0, start + i / FPS - time.monotonic()))
        now = time.time_ns()  # messages are ready: the stamp is the publication time
        stamp = struct.pack(stamp_order + "iI", now // 10**9, now % 10**9)
        while delayed and delayed[0][0] <= time.monotonic():
            pubs[0][LATE_SENSOR].publish(delayed.popleft()[1])
        for k, (data, pub) in enumerate(zip(msgs, flat, strict=True)):
            data[4:12] = stamp
            if late_ms and k == LATE_SENSOR:
                delayed.append((time.monotonic() + late_ms * 1e-3, bytes(data)))
            else:
                pub.publish(bytes(data))
    node.destroy_node()
    rclpy.shutdown()


def _spawn(args, log: Path, env):
    return subprocess.Popen([sys.executable, *args], stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
                            cwd=REPO)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(bodies: int, duration: float, layout: str, late_ms: float, workdir: Path) -> dict:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Imu
    from tf2_msgs.msg import TFMessage

    from fip_msgs.msg import SmplPose
    from fip_ros.ros import qos

    env = dict(os.environ, PYTHONPATH=f"{REPO}:{os.environ.get('PYTHONPATH', '')}", OMP_NUM_THREADS="1",
               PYTHONUNBUFFERED="1")
    names = [f"p{b}" for b in range(bodies)]
    tag = f"{layout}_{bodies}_{int(late_ms)}"
    est_log = workdir / f"estimator_{tag}.log"
    spawned = time.monotonic()
    procs = {"estimator": _spawn(
        ["-m", "fip_ros.ros.nodes.estimator", "--ros-args",
         "--params-file", str(REPO / "config/estimator.yaml"), "-p", "backend:=onnx",
         "-p", f"bodies:=[{','.join(names)}]", "-p", f"publish_tf:={layout == 'tf'}"],
        est_log, env)}
    if layout == "split":
        for b, name in enumerate(names):
            procs[f"tf_{name}"] = _spawn(
                ["-m", "fip_ros.ros.nodes.smpl_tf_broadcaster", "--ros-args", "-r", f"__ns:=/{name}",
                 "--params-file", str(REPO / "config/tf_broadcaster.yaml"), "-p", f"body_id:={name}"],
                workdir / f"tf_{tag}_{b}.log", env)
    startup = None
    deadline = time.monotonic() + 120
    while startup is None and time.monotonic() < deadline:
        if "estimator ready" in est_log.read_text():
            startup = time.monotonic() - spawned
        elif procs["estimator"].poll() is not None:
            raise RuntimeError(f"estimator exited; see {est_log}")
        time.sleep(0.01)
    rclpy.init()
    node = Node("bench_listener")
    sent, got = set(), {}

    def on_tf(data: bytes, now=time.time_ns):
        """A raw /tf message: its first transform's stamp and child frame read in place (cheap, so that this
        listener leaves the CPU to what it measures)."""
        t = now()
        order = "<" if data[1] else ">"  # CDR encapsulation: little- or big-endian
        sec, nanosec, n = struct.unpack_from(order + "iII", data, 8)  # after the header and sequence length
        off = 20 + n
        off += -off % 4
        (m,) = struct.unpack_from(order + "I", data, off)
        stamp = sec * 10**9 + nanosec
        got[(data[off + 4:off + 3 + m].decode(), stamp)] = (t - stamp) * 1e-6

    # Deep queues: this listener's own lag on a loaded machine must not count as frames lost.
    deep = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10000, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(TFMessage, "/tf", on_tf, deep, raw=True)
    processing = []
    node.create_subscription(SmplPose, "/p0/pose", lambda m: processing.append(m.processing_latency * 1e3),
                             qos.RELIABLE)
    node.create_subscription(Imu, "/p0/imu/pelvis/data",
                             lambda m: sent.add(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec), deep)
    try:  # the events executor where rclpy has one: this listener's own wake-ups add less to what it measures
        from rclpy.experimental import EventsExecutor as ListenerExecutor
    except ImportError:
        ListenerExecutor = SingleThreadedExecutor
    executor = ListenerExecutor()
    executor.add_node(node)
    if layout == "split":  # the broadcasters must be up too
        end = time.monotonic() + 60
        while time.monotonic() < end and node.count_publishers("/tf") < bodies:
            executor.spin_once(timeout_sec=0.1)
    cpu0 = {k: _cpu_s(p.pid) for k, p in procs.items()}
    wall0, own0 = time.monotonic(), time.process_time()
    feed = _spawn([__file__, "--role", "feeder", "--bodies", str(bodies), "--duration", str(duration),
                   "--late-ms", str(late_ms)], workdir / f"feeder_{tag}.log", env)
    cpu = {}
    try:
        while feed.poll() is None:
            executor.spin_once(timeout_sec=0.05)
            try:
                feed_cpu = _cpu_s(feed.pid)
            except (FileNotFoundError, ProcessLookupError):
                pass
        end = time.monotonic() + max(1.0, late_ms * 2e-3)
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
        wall = time.monotonic() - wall0
        cpu = {k: 100 * (_cpu_s(p.pid) - cpu0[k]) / wall for k, p in procs.items()}
        cpu["feeder"] = 100 * feed_cpu / wall
        cpu["listener"] = 100 * (time.process_time() - own0) / wall
        rss = _rss_mb(procs["estimator"].pid)
    finally:
        for p in procs.values():
            p.send_signal(signal.SIGINT)
        for p in procs.values():
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
    frames = [f"body_{n}" for n in names]
    lat = np.array([got[(f, s)] for s in window for f in frames if (f, s) in got])
    body0 = sum((frames[0], s) in got for s in window)

    def pct(q):
        return float(np.percentile(lat, q)) if len(lat) else float("nan")

    return dict(bodies=bodies, layout=layout, late_ms=late_ms, frames=len(window) * bodies,
                lost=len(window) * bodies - len(lat), p50=pct(50), p99=pct(99),
                max=float(lat.max()) if len(lat) else float("nan"), rate0=body0 / duration,
                processing_p50=float(np.percentile(processing, 50)) if processing else float("nan"),
                startup=startup, rss=rss, cpu=cpu)


def report(r: dict) -> None:
    t = TARGETS
    late = f" late={r['late_ms']:g} ms" if r["late_ms"] else ""
    head = f"bodies={r['bodies']} layout={r['layout']}{late}"
    # a late sensor holds every frame back by its lateness: that case's target is the pose rate, not latency
    p99_target = None if r["late_ms"] else {1: t["p99_1"], 10: t["p99_10"]}.get(r["bodies"])
    print(f"{head}: frames={r['frames']} lost={r['lost']} (target 0)  latency p50={r['p50']:.2f} ms "
          f"p99={r['p99']:.2f} ms" + (f" (target <= {p99_target:g})" if p99_target else "")
          + f" max={r['max']:.2f} ms  estimator processing p50={r['processing_p50']:.2f} ms")
    if r["late_ms"]:
        print(f"  body 0 poses/s with one sensor {r['late_ms']:g} ms late: {r['rate0']:.1f} "
              f"(target >= {t['late_rate']:g})")
    print(f"  estimator start-up {r['startup']:.2f} s (target <= {t['startup_s']:g}), RSS {r['rss']:.0f} MB "
          f"(target <= {t['rss_mb']:g}); CPU % per process: "
          + ", ".join(f"{k} {v:.0f}" for k, v in r["cpu"].items()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=60.0, help="measured seconds per run")
    ap.add_argument("--bodies", type=int, nargs="+", default=[1, 5, 10], help="body counts to run")
    ap.add_argument("--layout", default="tf", choices=("tf", "split"),
                    help="tf: the estimator sends /tf; split: plus one smpl_tf_broadcaster per body")
    ap.add_argument("--late-ms", type=float, default=200.0,
                    help="then one body with one sensor this late (0 = skip)")
    ap.add_argument("--role", default="bench", choices=("bench", "feeder"), help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.role == "feeder":
        return feeder(opts.bodies[0], opts.duration, opts.late_ms)
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(101, 200)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    workdir = Path(tempfile.mkdtemp(prefix="bench_ros_"))
    print(f"command: python bench/bench_ros.py --duration {opts.duration:g} --bodies "
          f"{' '.join(map(str, opts.bodies))} --layout {opts.layout} --late-ms {opts.late_ms:g}  "
          f"(shipped ONNX graphs)")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start (shared CPU)")
    os.environ.setdefault("ROS_LOG_DIR", str(workdir / "ros"))  # the nodes' own logs go with the others
    runs = [(b, 0.0) for b in opts.bodies] + ([(1, opts.late_ms)] if opts.late_ms else [])
    try:
        for bodies, late in runs:
            report(run(bodies, opts.duration, opts.layout, late, workdir))
            print(f"  load average {os.getloadavg()[0]:.1f}")
    except BaseException:
        print(f"logs kept in {workdir}")
        raise
    shutil.rmtree(workdir, ignore_errors=True)  # a run that went through leaves nothing behind


if __name__ == "__main__":
    main()
