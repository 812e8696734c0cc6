"""``fip-finetune``: self-supervised, physics-informed fine-tuning of FIP on one person's unlabelled IMU
recordings (``fip_ros.finetune.self_supervised``)."""

import json
from dataclasses import asdict
from pathlib import Path

from fip_ros.cli import parser, user_errors
from fip_ros.finetune.config import FinetuneConfig


def build_parser():
    p = parser("fip-finetune", "Self-supervised, physics-informed fine-tuning of FIP on unlabelled IMU data: "
               "the limb sensors' placement first, then the network.\n\nSeveral recordings of one person: "
               "repeat --clip / --imu. --demo runs the shifted-sensor experiment on a held-out subject.")
    p.add_argument("--weights", help="pre-trained FIP checkpoint (default: the shipped weights)")
    p.add_argument("--clip", action="append", default=[],
                   help="motion clip .npz (IMU synthesised from it; its pose is not used); repeatable "
                        "(default: none)")
    p.add_argument("--imu", action="append", default=[],
                   help=".npz with acc (T,6,3), ori (T,6,3,3), body (4,); repeatable (default: none)")
    p.add_argument("--out", default="runs/finetune", help="output folder (weights, placement, result.json)")
    p.add_argument("--steps", type=int, default=FinetuneConfig.steps, help="network fine-tuning steps")
    p.add_argument("--placement-steps", type=int, default=FinetuneConfig.placement_steps,
                   help="iterations of the sensor placement fit, first (0: keep the nominal sites)")
    p.add_argument("--mass", type=float, default=None, help="body mass, kg (default: BMI 22 from the height)")
    p.add_argument("--demo", action="store_true", help="shifted-sensor experiment on a held-out subject")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    return p


@user_errors("fip-finetune")
def main(argv=None):
    ap = build_parser()
    args = ap.parse_args(argv)
    if not args.demo and not (args.weights and (args.clip or args.imu)):
        ap.error("give --weights and --clip or --imu, or --demo")
    import torch

    from fip_ros.finetune.self_supervised import run_demo, run_user

    torch.set_num_threads(args.threads)
    cfg = FinetuneConfig(steps=args.steps, placement_steps=args.placement_steps, mass=args.mass)
    if args.demo:
        result = run_demo(FinetuneConfig(steps=args.steps, placement_steps=args.placement_steps),
                          args.weights)
    else:
        result = run_user(cfg, args.weights, args.clip, args.imu, args.out)
    result["config"] = asdict(cfg)
    print(json.dumps(result, indent=1))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
