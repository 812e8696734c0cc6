"""fip-view: a 3D view of the estimate in a web browser, live or from a recording (no RViz needed).

Without SOURCE it shows the live ROS graph: each namespace's pose, joint_moments and body_params topics
(--ns alice --ns bob for several people). With SOURCE it plays recordings with a time slider: fip-demo's
output folder, motion clip files (.npz) or rosbag2 bags. Open the printed address in a browser.
"""

import sys
import time
from pathlib import Path

from fip_ros.cli import parser, user_errors


def build_parser():
    ap = parser("fip-view", __doc__)
    ap.add_argument("sources", nargs="*", type=Path, metavar="SOURCE",
                    help="motion clip .npz (docs/CONTRACTS.md), a folder of them (fip-demo's --out), or a "
                         "rosbag2 bag (folder or .mcap); none: live from the ROS graph")
    ap.add_argument("--ns", action="append", default=None, metavar="NS",
                    help="live: namespace of a person's pose/joint_moments/body_params topics; repeat for "
                         "several (default: the root namespace)")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to serve on (default: %(default)s, this machine only; 0.0.0.0: every "
                         "interface, for a browser on another machine)")
    ap.add_argument("--port", type=int, default=8080, help="HTTP port (default: %(default)s; the next free "
                                                           "one if taken)")
    ap.add_argument("--smpl", type=Path, default=None, metavar="DIR",
                    help="SMPL model folder (SMPL_<GENDER>.pkl/.npz): draw the body mesh of clips (default: "
                         "none, skeletons only)")
    ap.add_argument("--gender", default="neutral", choices=("neutral", "male", "female"),
                    help="SMPL model file to use with --smpl (default: %(default)s)")
    ap.add_argument("--mass", type=float, default=75.0,
                    help="body mass, kg, for the dynamics of clips that carry none (default: %(default)s)")
    ap.add_argument("--force-scale", type=float, default=0.001,
                    help="ground-reaction arrow length, m per N (default: %(default)s)")
    ap.add_argument("--moment-scale", type=float, default=0.004,
                    help="joint-moment arrow length, m per N m (default: %(default)s)")
    ap.add_argument("--paused", action="store_true", help="recordings: start paused at --start")
    ap.add_argument("--start", type=float, default=0.0, help="recordings: first time shown, s (default: 0)")
    ap.add_argument("--seconds", type=float, default=0.0,
                    help="quit after this many seconds (default: 0 = run until Ctrl-C)")
    return ap


def parse_args(argv):
    ap = build_parser()
    opts = ap.parse_args(argv)
    if opts.sources and opts.ns:
        ap.error("--ns is for the live view; recordings name their people themselves")
    if not 0 < opts.mass < 500 or opts.force_scale < 0 or opts.moment_scale < 0 or opts.seconds < 0:
        ap.error("--mass must be in (0, 500) kg; scales and --seconds must not be negative")
    return opts


def load_sources(paths, mass: float, smpl) -> list:
    """Tracks of every source: clip files, folders of clip files, bags (folder with metadata.yaml, .mcap)."""
    from fip_ros.visualization.tracks import load_clip

    tracks = []
    for path in paths:
        if not path.exists():
            raise ValueError(f"{path}: not found")
        if path.suffix in (".mcap", ".db3") or (path / "metadata.yaml").is_file():
            from fip_ros.ros.view_source import load_bag

            tracks += load_bag(path)
        elif path.is_dir():
            clips = demo_clips(path) or sorted(path.glob("*.npz"))
            if not clips:
                raise ValueError(f"{path}: no .npz motion clips and no bag (metadata.yaml) in this folder")
            tracks += [load_clip(f, mass, smpl) for f in clips]
        else:
            tracks.append(load_clip(path, mass, smpl))
    names = [t.name for t in tracks]
    for i, t in enumerate(tracks):  # two sources may name a person alike: keep both apart
        if names.count(t.name) > 1:
            t.name = f"{t.name}_{i}"
    return tracks


def demo_clips(folder: Path) -> list[Path]:
    """The clip files fip-demo wrote to ``folder`` on its last run (its metrics.json lists them), so that
    clips of earlier runs in the same folder are not shown; [] for other folders."""
    import json

    try:
        files = json.loads((folder / "metrics.json").read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    names = [Path(str(f)).name for f in files if str(f).endswith(".npz")] if isinstance(files, list) else []
    return [folder / n for n in names if (folder / n).is_file()]


def serve(opts) -> int:
    from fip_ros.visualization.viewer import Player, Viewer

    smpl = None
    if opts.smpl is not None:
        from fip_ros.core.smpl_model import SmplBody

        try:
            smpl = SmplBody(str(opts.smpl), opts.gender)
        except ImportError as exc:  # a model file that needs a package this machine lacks
            raise ValueError(str(exc)) from exc
    tracks = load_sources(opts.sources, opts.mass, smpl) if opts.sources else None
    viewer = Viewer(opts.host, opts.port, opts.force_scale, opts.moment_scale)
    try:
        if tracks is not None:
            player = Player(viewer, tracks, play=not opts.paused, start=opts.start)
            people = f"{len(tracks)} {'person' if len(tracks) == 1 else 'people'}"
            print(f"fip-view: {people} ({', '.join(t.name for t in tracks)}), "
                  f"{player.end:.1f} s; open {viewer.url}", flush=True)
            _wait(opts.seconds)
            player.stop()
        else:
            _live(viewer, opts)
    except KeyboardInterrupt:
        pass
    finally:
        viewer.stop()
    return 0


def _wait(seconds: float):
    end = time.monotonic() + seconds if seconds > 0 else float("inf")
    while time.monotonic() < end:
        time.sleep(min(0.2, max(0.0, end - time.monotonic())))


def _live(viewer, opts):
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    from fip_ros.ros.view_source import LiveSource

    rclpy.init(args=None, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    executor = SingleThreadedExecutor()
    source = None
    try:
        source = LiveSource(viewer, opts.ns or [""])
        executor.add_node(source.node)
        print(f"fip-view: live from {', '.join(source.topics)}; open {viewer.url}", flush=True)
        end = time.monotonic() + opts.seconds if opts.seconds > 0 else float("inf")
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.1)
    except ExternalShutdownException:
        pass
    finally:
        if source is not None:
            source.node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()


@user_errors("fip-view")
def main(argv=None) -> int:
    return serve(parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
