"""Start and stop the replay and live graphs many times with random signal timing; report every exit that
was not clean (status != 0, slower than the limit, a traceback or an invalid-context error, a process left).

Two ways to run a graph, as an operator does: ``fip-bringup`` (one process) and one process per node, all in
one process group (as ``ros2 launch`` or a terminal's Ctrl-C reaches them). Each cycle waits a random time
(start-up included), then sends SIGINT, SIGINT twice, or SIGTERM to the whole process group.

    python scripts/stop_cycles.py --cycles 30            # after `source env.sh`; about 5 minutes on 2 cores
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

REPO = Path(__file__).resolve().parents[1]
BAD_OUTPUT = ("Traceback", "context is invalid", "KeyboardInterrupt")
PATTERNS = {"SIGINT": [signal.SIGINT], "SIGINT x2": [signal.SIGINT, signal.SIGINT],
            "SIGTERM": [signal.SIGTERM]}


def start_group(commands: list[list[str]], env=None) -> list[subprocess.Popen]:
    """Start ``commands`` in one new process group (the first one leads it); output to pipes."""
    procs = []
    for cmd in commands:
        pgid = procs[0].pid if procs else 0
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                      cwd=REPO, process_group=pgid))
    return procs


def _label(proc) -> str:
    """How a process is named in ``stop_group``'s orphans and outputs: its first three arguments."""
    return " ".join(map(str, proc.args[:3]))


def stop_group(procs, signals, limit: float = 3.0, between: float = 0.1) -> dict:
    """Send ``signals`` to the group (``between`` s apart), wait up to ``limit`` s from the first.

    -> dict(codes, seconds (until the last exit), bad (offending output lines), orphans (still running after
    ``limit``: then killed), output, outputs ([(process, its output)]))."""
    pgid = procs[0].pid
    t0 = time.monotonic()
    for i, sig in enumerate(signals):
        if i:
            time.sleep(between)
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
    while any(p.poll() is None for p in procs) and time.monotonic() < t0 + limit:
        time.sleep(0.01)
    seconds = time.monotonic() - t0
    orphans = [_label(p) for p in procs if p.poll() is None]
    try:
        os.killpg(pgid, signal.SIGABRT)  # an orphan: its stacks (PYTHONFAULTHANDLER), then kill it
        time.sleep(0.5)
        os.killpg(pgid, signal.SIGKILL)
        leftover = True
    except ProcessLookupError:
        leftover = False
    outputs = [(_label(p), p.communicate()[0].decode(errors="replace")) for p in procs]
    output = "".join(text for _, text in outputs)
    if leftover and not orphans:
        orphans.append("(a process of the group)")
    bad = [line for line in output.splitlines() if any(b in line for b in BAD_OUTPUT)]
    return dict(codes=[p.returncode for p in procs], seconds=seconds, bad=bad, orphans=orphans, output=output,
                outputs=outputs)


def graph_commands(graph: str, mode: str, clip: str) -> list[list[str]]:
    """``fip-bringup`` for the graph, or the installed node executables with the graph's parameter files."""
    if mode == "bringup":
        return [[sys.executable, "-m", "fip_ros.cli.bringup", "--graph", graph,
                 *(["--clip", clip] if graph == "replay" else [])]]
    first = ["imu_replay", "-p", f"source:={clip}"] if graph == "replay" else ["imu_udp"]
    files = {"imu_replay": "drivers", "imu_udp": "drivers", "smpl_tf_broadcaster": "tf_broadcaster"}
    return [[str(REPO / "install" / "fip_ros" / "lib" / "fip_ros" / name), "--ros-args", "--params-file",
             str(REPO / "config" / f"{files.get(name, name)}.yaml"), *extra]
            for name, *extra in (first, ["body_params"], ["estimator"], ["smpl_tf_broadcaster"],
                                 ["dynamics"])]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=30, help="cycles per graph (default 30)")
    ap.add_argument("--max-wait", type=float, default=8.0, help="longest random wait before the signal, s "
                    "(default 8)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--clip", default="", help="clip for the replay graph (default: a synthetic 4 s one)")
    opts = ap.parse_args(argv)
    rng = random.Random(opts.seed)
    tmp = Path(tempfile.mkdtemp(prefix="stop_cycles_"))
    env = dict(os.environ, ROS_HOME=str(tmp), PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1",
               ROS_DOMAIN_ID=os.environ.get("ROS_DOMAIN_ID", str(rng.randint(101, 200))))
    if not opts.clip:  # the test suite's synthetic clip (test/helpers.py)
        sys.path.insert(0, str(REPO / "test"))
        from helpers import synthetic_clip
    clip = opts.clip or synthetic_clip(tmp / "clip.npz", 4.0)
    failures, worst = 0, 0.0
    for graph in ("replay", "live"):
        for cycle in range(opts.cycles):
            mode = rng.choice(["bringup", "nodes"])
            pattern = rng.choice(list(PATTERNS))
            wait = rng.uniform(0.0, opts.max_wait)
            procs = start_group(graph_commands(graph, mode, clip), env)
            time.sleep(wait)
            r = stop_group(procs, PATTERNS[pattern], between=rng.uniform(0.0, 0.5))
            worst = max(worst, r["seconds"])
            ok = not r["bad"] and not r["orphans"] and all(c == 0 for c in r["codes"]) and r["seconds"] <= 3.0
            failures += not ok
            verdict = ""
            if not ok:
                log = tmp / f"{graph}_{cycle + 1}.log"
                log.write_text(r["output"])
                verdict = f"  FAILED {r['bad'][:2] + r['orphans']} (output: {log})"
            print(f"{graph:6s} {cycle + 1:2d} {mode:7s} {pattern:9s} after {wait:4.1f} s: "
                  f"exit {r['codes']} in {r['seconds']:.2f} s{verdict}", flush=True)
    print(f"{2 * opts.cycles} cycles, {failures} not clean; slowest stop {worst:.2f} s (limit 3 s)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
