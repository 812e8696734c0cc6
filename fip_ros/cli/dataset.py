"""``fip-dataset``: import every mocap clip of the shared sources into motion clip files plus ``index.json``
(``fip_ros.data.build_dataset``)."""

import sys
import time
from pathlib import Path

from fip_ros.cli import parser, user_errors
from fip_ros.data.paths import DATASET_DIR, default_mocap_dir


def build_parser():
    p = parser("fip-dataset", "Import every mocap clip of the shared sources (hdm05/, cmu-daz/, cmu-iclone/, "
               "cmu-acrnn/, cmu-expmap/) "
               "into motion clip .npz files plus index.json, split by subject.")
    p.add_argument("--mocap", type=Path, default=default_mocap_dir(),
                   help="mocap folder with the source folders (env FIP_MOCAP_DIR)")
    p.add_argument("--out", type=Path, default=DATASET_DIR, help="output folder")
    p.add_argument("--workers", type=int, default=1, help="parallel processes")
    p.add_argument("--force", action="store_true", help="rebuild clips that are up to date")
    p.add_argument("--split", type=Path, default=None,
                   help="split config (default: config/dataset_split.yaml)")
    return p


@user_errors("fip-dataset")
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from fip_ros.data.build_dataset import build, summary

    t0 = time.time()
    try:
        index = build(args.mocap, args.out, args.workers, args.force, args.split)
    except (FileNotFoundError, ValueError) as exc:
        print(f"fip-dataset: {exc}", file=sys.stderr)
        return 2
    print(summary(index))
    print(f"{len(index['clips'])} clips, {len(index['dropped'])} dropped -> {args.out / 'index.json'} "
          f"in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
