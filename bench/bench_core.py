"""Core FIP benchmark: streaming step latency per backend, batched throughput, peak RSS, model size.

    python bench/bench_core.py [--config default paper] [--checkpoint PATH] [--frames 1000]

Uses a randomly initialised network (saved to a temporary checkpoint) unless --checkpoint is given; speed
does not depend on the weights. The backends run the network as shipped, with mirror averaging
(``fip_ros.fip.mirror``); the row "ONNX, no mirror" runs graphs exported without it. Everything runs
single-threaded (torch and ONNX Runtime intra-op 1 thread).
Targets (2-core machine, one thread): step p50 <= 0.3 ms on the fastest backend (the budget that chooses the
network size: fip_ros/weights/MODEL_CARD.md), 10 bodies <= 2 ms,
weights <= 25 MB, RSS <= 500 MB.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from fip_ros.fip import FIP
from fip_ros.fip.checkpoint import load_checkpoint, save_checkpoint
from fip_ros.fip.engine import StreamingEngine
from fip_ros.fip.export import FILES, export_onnx, export_torchscript
from fip_ros.runtime.engine import OnnxStreamingEngine

BODY = np.array([1.0, 1.78, 0.60, 0.90], np.float32)
# The plain network's graphs (``fip-export --no-mirror-average``): half the work of a step, for slow boards.
PLAIN = "ONNX, no mirror"
TARGETS = dict(step_ms=0.3, batch10_ms=2.0, weights_mb=25.0, rss_mb=500.0)

# Run in a fresh interpreter: load weights through the public API, stream 300 frames, report peak RSS.
RSS_CHILD = """
import sys, numpy as np
from fip_ros.api import load_model
model = load_model(sys.argv[1], backend=sys.argv[2])
engine = model.stream(dict(sex='male', height=1.78, arm_length=0.6, leg_length=0.9))
rng = np.random.default_rng(0)
ori = np.tile(np.eye(3, dtype=np.float32), (1, 6, 1, 1))
for _ in range(300):
    engine.step(rng.normal(size=(1, 6, 3)).astype(np.float32), ori)
print(next(ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM")))
"""
# The same with the torch-free runtime on the shipped graphs (what the estimator with backend onnx loads).
RUNTIME_CHILD = """
import sys, numpy as np
from fip_ros.runtime.engine import OnnxStreamingEngine
engine = OnnxStreamingEngine().reset(np.array([1.0, 1.78, 0.6, 0.9]))
rng = np.random.default_rng(0)
ori = np.tile(np.eye(3, dtype=np.float32), (1, 6, 1, 1))
for _ in range(300):
    engine.step(rng.normal(size=(1, 6, 3)).astype(np.float32), ori)
assert "torch" not in sys.modules
print(next(ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM")))
"""


def latency(engine, batch: int, frames: int):
    """(p50, p99) ms of engine.step over ``frames`` frames after a warm-up."""
    rng = np.random.default_rng(0)
    acc = rng.normal(size=(frames, batch, 6, 3)).astype(np.float32)
    ori = np.tile(np.eye(3, dtype=np.float32), (batch, 6, 1, 1))
    engine.reset(np.tile(BODY, (batch, 1)))
    for t in range(100):
        engine.step(acc[t], ori)
    times = np.empty(frames)
    for t in range(frames):
        start = time.perf_counter()
        engine.step(acc[t], ori)
        times[t] = time.perf_counter() - start
    return np.percentile(times, 50) * 1e3, np.percentile(times, 99) * 1e3


def peak_rss_mb(checkpoint: str, backend: str) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", RUNTIME_CHILD] if backend == "runtime" else
        [sys.executable, "-c", RSS_CHILD, checkpoint, backend],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    # VmHWM (KiB), not ru_maxrss: that one keeps the forking parent's peak across exec.
    return int(out.stdout.split()[-1]) / 1024.0


def bench_config(name: str, checkpoint: str | None, frames: int, workdir: str):
    if checkpoint is None:
        torch.manual_seed(0)
        checkpoint = os.path.join(workdir, f"fip_{name}.pt")
        save_checkpoint(checkpoint, FIP(name), {"note": "random weights for benchmarking"})
    model, _ = load_checkpoint(checkpoint)
    out_dir = os.path.join(workdir, name)
    os.makedirs(out_dir, exist_ok=True)
    export_torchscript(model, out_dir)
    script = torch.jit.load(os.path.join(out_dir, FILES["step_ts"]))
    plain, _ = load_checkpoint(checkpoint, mirror_average=False)
    onnx_dirs = {}
    for kind, net in (("", model), ("plain_", plain)):
        for batch in (1, 10):  # static-shape graphs per batch size, as fip_ros.api uses them
            d = onnx_dirs[kind, batch] = os.path.join(out_dir, f"onnx_{kind}b{batch}")
            os.makedirs(d, exist_ok=True)
            export_onnx(net, d, batch=batch)

    def onnx_engine(b, kind=""):
        d = onnx_dirs[kind, b]
        return OnnxStreamingEngine(
            os.path.join(d, FILES["step_onnx"]), os.path.join(d, FILES["startup_onnx"]), b
        )

    engines = {
        "torch eager": lambda b: StreamingEngine(model, b),
        "TorchScript": lambda b: StreamingEngine(model, b, step_fn=script),
        "ONNX Runtime": onnx_engine,
        PLAIN: lambda b: onnx_engine(b, "plain_"),
    }
    rows = []
    for backend, make in engines.items():
        p50, p99 = latency(make(1), 1, frames)
        b50, b99 = latency(make(10), 10, max(frames // 2, 100))
        rows.append((backend, p50, p99, b50, b99))
    params = sum(p.numel() for p in model.parameters())
    sizes = dict(
        checkpoint=os.path.getsize(checkpoint),
        onnx=os.path.getsize(os.path.join(onnx_dirs["", 1], FILES["step_onnx"])),
    )
    rss = {b: peak_rss_mb(checkpoint, b) for b in ("torch", "onnx")}
    return rows, params, sizes, rss


def report(name, rows, params, sizes, rss):
    print(f"\n== config {name}: {params:,} parameters ==")
    head = ("backend", "step p50 ms", "step p99 ms", "10 bodies p50", "10 bodies p99", "body-frames/s")
    print(f"{head[0]:<14}" + "".join(f"{h:>15}" for h in head[1:]))
    for backend, p50, p99, b50, b99 in rows:
        print(f"{backend:<14}{p50:>15.3f}{p99:>15.3f}{b50:>15.3f}{b99:>15.3f}{10e3 / b50:>15.0f}")
    mb = {k: v / 1e6 for k, v in sizes.items()}
    print(
        f"weights file {mb['checkpoint']:.2f} MB (ONNX step graph {mb['onnx']:.2f} MB); peak RSS of an "
        f"inference process: torch {rss['torch']:.0f} MB, onnx {rss['onnx']:.0f} MB"
    )
    averaged = [r for r in rows if r[0] != PLAIN]  # the targets are for the network as shipped
    checks = [
        ("step p50, fastest backend", min(r[1] for r in averaged), TARGETS["step_ms"], "ms"),
        ("10 bodies p50, fastest backend", min(r[3] for r in averaged), TARGETS["batch10_ms"], "ms"),
        ("weights", sizes["checkpoint"] / 1e6, TARGETS["weights_mb"], "MB"),
        ("peak RSS, best backend", min(rss.values()), TARGETS["rss_mb"], "MB"),
    ]
    for label, value, target, unit in checks:
        verdict = "MET" if value <= target else "MISSED"
        print(f"  target {label}: {value:.3f} {unit} <= {target} {unit}: {verdict}")


def report_shipped_runtime(frames: int) -> None:
    """The torch-free runtime on the shipped graphs (dynamic batch, fixed to 1 at load for one body): step
    latency and a process's memory."""
    p50, p99 = latency(OnnxStreamingEngine(batch=1), 1, frames)
    b50, b99 = latency(OnnxStreamingEngine(batch=10), 10, max(frames // 2, 100))
    rss = peak_rss_mb("", "runtime")
    print("\n== torch-free runtime, shipped graphs (fip_ros.runtime) ==")
    verdict = "MET" if rss <= 150 else "MISSED"
    print(f"step p50 {p50:.3f} ms, p99 {p99:.3f} ms; 10 bodies p50 {b50:.3f} ms, p99 {b99:.3f} ms; "
          f"peak RSS of a process streaming with it: {rss:.0f} MB (target <= 150 MB: {verdict})")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", nargs="+", default=["default", "paper"])
    p.add_argument("--checkpoint", default=None, help="benchmark this checkpoint (its own config) instead")
    p.add_argument("--frames", type=int, default=1000)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"command: OMP_NUM_THREADS={threads} python {' '.join(sys.argv)}")
    load = os.getloadavg()[0]
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {load:.2f}, one thread")
    with tempfile.TemporaryDirectory() as workdir:
        for name in ["checkpoint"] if a.checkpoint else a.config:
            report(name, *bench_config(name, a.checkpoint, a.frames, workdir))
    report_shipped_runtime(a.frames)


if __name__ == "__main__":
    main()
