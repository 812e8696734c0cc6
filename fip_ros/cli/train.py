"""``fip-train``: train the FIP network on motion clips with on-the-fly IMU synthesis
(``fip_ros.training.train``)."""

import json

from fip_ros.cli import parser, user_errors
from fip_ros.data.paths import DATASET_DIR


def build_parser():
    p = parser("fip-train", "Train the FIP network on motion clip files with on-the-fly IMU synthesis.\n\n"
               "Writes to --out: last.pt and best.pt (best = lowest validation position error), "
               "train_state.pt (for --resume), log.jsonl.")
    p.add_argument("--data", default=str(DATASET_DIR), help="dataset folder (index.json + clip npz files)")
    p.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    p.add_argument("--config", default="default",
                   help="network size: default | paper | a JSON object of FIPConfig fields")
    p.add_argument("--steps", type=int, default=20000, help="optimiser steps (also the LR schedule length)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop (and save) after this wall time (default: no limit)")
    p.add_argument("--stop-at", type=int, default=None,
                   help="stop (and save) after this step, the schedule still that of --steps: a long run in "
                        "chunks of fixed steps, continued with --resume (default: no stop)")
    p.add_argument("--batch", type=int, default=16, help="windows per optimiser step")
    p.add_argument("--window", type=int, default=180, help="frames per training window (60 Hz)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (warm-up, then cosine)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="torch device (auto: cuda when available, else cpu)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--workers", type=int, default=0,
                   help="processes that build training batches ahead (augmentation, IMU synthesis) while "
                        "this one trains; 0: build them in this process, and --resume continues the exact "
                        "random sequence (default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of torch and the window sampler")
    p.add_argument("--log-every", type=int, default=20, help="steps between log lines")
    p.add_argument("--eval-every", type=int, default=200, help="steps between validations")
    p.add_argument("--ckpt-every", type=int, default=200, help="steps between checkpoints")
    p.add_argument("--train-split", default="train", help="split of index.json to train on")
    p.add_argument("--val-split", default="val", help="split of index.json to validate on")
    p.add_argument("--no-augment", action="store_true", help="no motion augmentation, clean IMUs")
    p.add_argument("--augment", default=None,
                   help="JSON object of AugmentConfig fields to change, e.g. '{\"arm_raise_p\": 0}' "
                        "(fip_ros/training/augment.py; default: none)")
    p.add_argument("--severity", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help="each window's sensor errors are TRAIN_CORRUPTION times a factor drawn uniformly "
                        "from LO to HI (default: TRAIN_SEVERITY, 0 2; docs/data.md)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt and OUT/train_state.pt")
    p.add_argument("--ema", type=float, default=0.0,
                   help="validate and keep as best.pt an exponential moving average of the weights with this "
                        "decay per step, e.g. 0.999 (default 0: the raw weights)")
    p.add_argument("--init", default=None,
                   help="start from this checkpoint's weights (fine-tuning: fresh optimiser and schedule; "
                        "default: random weights)")
    return p


@user_errors("fip-train")
def main(argv=None):
    args = build_parser().parse_args(argv)
    from fip_ros.training.train import train

    print(json.dumps(train(args)))


if __name__ == "__main__":
    raise SystemExit(main())
