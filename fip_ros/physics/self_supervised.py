"""Self-supervised, physics-informed fine-tuning of FIP on unlabelled IMU data (SSPINNpose idea, in 3D).

The network's pose drives the rigid-body model; the losses need no motion capture:
- sensor reconstruction: virtual (learnable placement) vs measured acceleration and orientation;
- physics: root residual wrench after the ground reactions (the feet cannot explain it), normalised by body
  weight and weight x height;
- contact consistency: sole points in contact do not accelerate in the world;
- temporal smoothness of the joint trajectories;
- a pull towards the pre-trained weights (parameter L2 to the initial weights).
The learnt placement offsets also correct the network's input: the reading is moved back to the nominal site
(subtracting the lever-arm acceleration from the measured orientations), which is where the network was
trained to expect it.

Console: ``fip-finetune --weights W (--clip CLIP.npz | --imu IMU.npz) --out DIR``; ``--demo`` runs the shifted
sensor experiment on a held-out walking clip.
"""

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from fip_ros.core.imu_synthesis import finite_acceleration, sensor_local_offsets
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.rotations import angle_between, axis_angle_to_matrix
from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, SENSOR_JOINTS
from fip_ros.physics.contact import contact_from_trajectory, sole_points
from fip_ros.physics.ground_reaction import ground_reaction
from fip_ros.physics.inverse_dynamics import (
    GRAVITY,
    com_acceleration_from_motion,
    kinematics_from_motion,
    savgol_filter,
)
from fip_ros.physics.segments import build_segments
from fip_ros.physics.virtual_imu import VirtualIMU, offset_acceleration

STENCIL = 4
ACC_WINDOW = 21  # frames; low-pass of the acceleration comparison (0.35 s)
PELVIS = 5  # sensor index of the pelvis: it defines the root acceleration, its placement stays nominal


@dataclass
class FinetuneConfig:
    steps: int = 80
    placement_steps: int = 40  # first steps: the network is frozen while the placement settles
    lr: float = 3e-5  # network weights: small steps, the pre-trained model is the starting point
    placement_lr: float = 3e-3  # sensor offsets (m) and mounting rotations (rad)
    w_acc: float = 0.1
    w_ori: float = 10.0  # the sensor bones must turn as the sensors say: the best-observed signal
    w_residual: float = 0.05
    w_contact: float = 0.05
    w_smooth: float = 0.01
    w_prior: float = 10.0  # per unit squared parameter change, summed over the network
    # The mounting rotation is weakly observable and, left loose, rotates the network's input: held near
    # identity unless a recording is known to have misaligned sensors.
    w_mount: float = 100.0
    w_offset: float = 0.001  # per (5 cm)^2 of sensor shift: a weak prior on the nominal site
    mass: float | None = None  # kg; None: BMI 22 from the height


def _sq(x):
    return x.square().sum(-1).mean()


class SelfSupervised(torch.nn.Module):
    """FIP + learnable sensor placement; :meth:`losses` on one recording (batch of 1, time first inside)."""

    def __init__(self, model, body: torch.Tensor, cfg: FinetuneConfig | None = None, fps: float = 60.0):
        super().__init__()
        self.model, self.cfg, self.fps = model, cfg or FinetuneConfig(), fps
        cfg = self.cfg
        self.register_buffer("body", body.reshape(1, 4).float())
        with torch.no_grad():
            offsets = model.startup(self.body)[1][0]
        self.register_buffer("offsets", offsets)
        self.vimu = VirtualIMU(offsets, fps, STENCIL)
        self.initial = [p.detach().clone() for p in model.parameters()]
        height = float(self.body[0, 1])
        self.mass = cfg.mass or 22.0 * height**2
        self.segments = build_segments(offsets.double(), self.mass, height,
                                       "male" if float(self.body[0, 0]) >= 0.5 else "female")

    def placement_parameters(self):
        return [self.vimu.offset, self.vimu.rot]

    def network_input(self, acc, ori, placement_grad: bool = True):
        """Measured (T,6,3)/(T,6,3,3) -> what sensors at the nominal sites with identity mounts would read."""
        offset, rot = self.vimu.offset, self.vimu.rot
        if not placement_grad:  # the placement is identified from the virtual IMUs only
            offset, rot = offset.detach(), rot.detach()
        shift = offset * torch.ones(6, 1, dtype=offset.dtype).index_fill(0, torch.tensor([PELVIS]), 0.0)
        ori_n = ori @ axis_angle_to_matrix(rot).transpose(-1, -2)
        return acc - offset_acceleration(ori_n, shift, self.fps, STENCIL), ori_n

    def predict(self, acc, ori, init_pose=None, placement_grad: bool = True):
        a, o = self.network_input(acc, ori, placement_grad)
        return self.model(a[None], o[None], self.body, init_pose)

    def losses(self, acc, ori, init_pose=None) -> dict:
        out = self.predict(acc, ori, init_pose, placement_grad=False)
        local_rot = out["local_rot"][0]
        glob, joints = forward_kinematics(local_rot, self.offsets)
        virt = self.vimu(glob, joints)
        # Root acceleration from the pelvis sensor (its lever arm removed): FIP has no translation.
        pelvis_lever = finite_acceleration(glob[:, 0] @ self.vimu.nominal[PELVIS], self.fps, STENCIL, dim=0)
        a_root = acc[:, PELVIS] - pelvis_lever
        leaves = [i for i in range(6) if i != PELVIS]
        v_acc = virt["acc"][:, leaves] + a_root[:, None]
        # Compared low-passed: frame-to-frame jitter of the predicted pose would swamp the placement signal.
        low = lambda x: savgol_filter(x, self.fps, ACC_WINDOW)  # noqa: E731
        parts = {"acc": _sq(low(v_acc) - low(acc[:, leaves])) / GRAVITY**2,
                 "ori": (virt["ori"] - ori).square().sum((-1, -2)).mean()}
        # Physics on the pose: rates by Savitzky-Golay, world accelerations = root-relative + root.
        kin = kinematics_from_motion(local_rot.double(), self.offsets.double(), None, self.fps)
        a_root_s = savgol_filter(a_root.double(), self.fps)
        com_acc = com_acceleration_from_motion(kin, self.segments, self.fps) + a_root_s[:, None]
        height = float(self.body[0, 1])
        point_p, foot_p, floor = contact_from_trajectory(kin["joint_pos"], height, self.fps,
                                                         world_speed=False)
        grf = ground_reaction(kin, self.segments, com_acc, foot_p, floor)
        weight = self.mass * GRAVITY
        parts["residual"] = (_sq(grf["residual_force"]) / weight**2
                             + _sq(grf["residual_moment"]) / (weight * height) ** 2).float()
        foot_acc = savgol_filter(sole_points(kin["joint_pos"], height), self.fps, deriv=2) + a_root_s[:, None]
        parts["contact"] = ((point_p * foot_acc.square().sum(-1)).mean() / GRAVITY**2).float()
        parts["smooth"] = _sq(finite_acceleration(joints, self.fps, 1, dim=0)) / GRAVITY**2
        parts["prior"] = sum((p - p0).square().sum() for p, p0 in zip(self.model.parameters(), self.initial,
                                                                      strict=True))
        parts["mount"] = self.vimu.rot.square().sum()
        parts["offset"] = self.vimu.offset.square().sum() / 0.05**2
        c = self.cfg
        w = dict(acc=c.w_acc, ori=c.w_ori, residual=c.w_residual, contact=c.w_contact, smooth=c.w_smooth,
                 prior=c.w_prior, mount=c.w_mount, offset=c.w_offset)
        parts["total"] = sum(w[k] * parts[k] for k in w)
        return parts


def finetune(ss: SelfSupervised, acc, ori, init_pose=None, log=print) -> list[dict]:
    cfg = ss.cfg
    opt = torch.optim.Adam([{"params": ss.model.parameters(), "lr": cfg.lr},
                            {"params": ss.placement_parameters(), "lr": cfg.placement_lr}])
    ss.model.eval()  # no dropout: on one recording it would only add noise to the losses
    history = []
    for step in range(cfg.placement_steps + cfg.steps):
        opt.param_groups[0]["lr"] = 0.0 if step < cfg.placement_steps else cfg.lr
        parts = ss.losses(acc, ori, init_pose)
        opt.zero_grad()
        parts["total"].backward()
        opt.step()
        rec = {k: float(v.detach()) for k, v in parts.items()}
        history.append(rec)
        if log and step % 20 == 0:
            log(f"step {step:4d} " + " ".join(f"{k} {v:.4g}" for k, v in rec.items()))
    return history


@torch.no_grad()
def pose_error(ss: SelfSupervised, acc, ori, local_rot_true, init_pose=None) -> dict:
    """Mean root-relative global angle error (deg, the 15 estimated joints) and joint position error (cm)."""
    out = ss.predict(acc, ori, init_pose)
    pred = out["local_rot"][0].clone()
    true = local_rot_true.clone().float()
    pred[:, 0] = true[:, 0] = torch.eye(3)
    gp, pp = forward_kinematics(pred, ss.offsets)
    gt, pt = forward_kinematics(true, ss.offsets)
    sl = slice(STENCIL, -STENCIL)
    ang = angle_between(gp[sl][:, list(ESTIMATED_JOINTS)], gt[sl][:, list(ESTIMATED_JOINTS)]).mean()
    return {"angle_deg": float(torch.rad2deg(ang)),
            "position_cm": float((pp - pt)[sl].norm(dim=-1).mean() * 100)}


def imu_from_clip(local_rot, offsets, tran, shift=None, fps: float = 60.0):
    """Calibrated IMU data (acc, ori) of a clip, sensors moved by ``shift`` (6,3) from the nominal sites."""
    glob, joints = forward_kinematics(local_rot, offsets, tran)
    site = sensor_local_offsets(offsets) + (0 if shift is None else shift)
    rot = glob[:, list(SENSOR_JOINTS)]
    pos = joints[:, list(SENSOR_JOINTS)] + (rot @ site[..., None])[..., 0]
    return finite_acceleration(pos, fps, STENCIL, dim=0), rot


def demo_shift(offsets) -> torch.Tensor:
    """Known misplacement: forearm sensors 8 cm towards the elbow, lower-leg sensors 6 cm lower."""
    shift = torch.zeros(6, 3)
    for s, wrist in ((0, 20), (1, 21)):
        shift[s] = -0.08 * offsets[wrist] / offsets[wrist].norm()
    shift[2, 1] = shift[3, 1] = -0.06
    return shift


def load_weights(path):
    from fip_ros.fip.checkpoint import load_checkpoint

    return load_checkpoint(path)[0]


def quick_pretrain(clips, steps: int = 300, seed: int = 0, log=print):
    """A small FIP trained for a few CPU minutes on ``clips`` (used when no shipped weights exist)."""
    from fip_ros.fip.model import FIP
    from fip_ros.training.dataset import Clip, WindowSampler
    from fip_ros.training.losses import fip_loss, targets_from_pose

    torch.manual_seed(seed)
    f32 = torch.float32
    data = [Clip(torch.as_tensor(c.local_rot, dtype=f32), torch.as_tensor(c.tran, dtype=f32),
                 torch.as_tensor(c.offsets, dtype=f32), torch.as_tensor(c.body, dtype=f32), c.name)
            for c in clips]
    from fip_ros.training.augment import AugmentConfig

    sampler = WindowSampler(data, window=120, augment_cfg=AugmentConfig(calib_start_p=0.0), seed=seed)
    model = FIP("default")
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    for step in range(steps):
        b = sampler.sample(8)
        out = model(b["acc"], b["ori"], b["body"], b["init_pose"])
        loss, parts = fip_loss(out, targets_from_pose(b["local_rot"], b["offsets"]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if log and step % 50 == 0:
            log(f"pretrain {step:4d} loss {loss.item():.4f} rot {parts['rot']:.3f} "
                f"joints {parts['joints']:.3f}")
    return model.eval()


def _root_relative_rot15(local_rot):
    from fip_ros.training.dataset import root_relative_rot15

    return root_relative_rot15(local_rot)


def run_demo(args) -> dict:
    from fip_ros.physics.clips import _retargeted, held_out_clip

    weights = Path(args.weights) if args.weights else Path(__file__).parents[1] / "weights" / "fip_default.pt"
    held_out = held_out_clip()  # a test-split subject: never seen by the shipped weights
    quick = Path(f".cache/physics/quick_fip_{args.pretrain_steps}.pt")
    if weights.exists():
        model, origin = load_weights(weights), str(weights)
    elif quick.exists():
        model, origin = load_weights(quick), f"{quick} (cached quick pre-training, CMU subject 07 walking)"
    else:
        from fip_ros.fip.checkpoint import save_checkpoint

        train = [_retargeted(f"cmu-daz/07_{i:02d}.bvh") for i in range(1, 13)]
        t0 = time.time()
        model = quick_pretrain(train, args.pretrain_steps)
        save_checkpoint(quick, model, metadata={"quick_pretrain_steps": args.pretrain_steps})
        origin = (f"quick pre-training ({args.pretrain_steps} steps, {time.time() - t0:.0f} s CPU, "
                  "CMU subject 07 walking; no shipped weights yet)")
    f32 = torch.float32
    rot = torch.as_tensor(held_out.local_rot, dtype=f32)
    off = torch.as_tensor(held_out.offsets, dtype=f32)
    tran = torch.as_tensor(held_out.tran, dtype=f32)
    body = torch.as_tensor(held_out.body, dtype=f32)
    shift = demo_shift(off)
    acc, ori = imu_from_clip(rot, off, tran, shift)
    acc_ok, ori_ok = imu_from_clip(rot, off, tran)
    init = _root_relative_rot15(rot[:1])
    cfg = FinetuneConfig(steps=args.steps, placement_steps=args.placement_steps)
    ss = SelfSupervised(model, body, cfg)
    clip = f"{held_out.source}/{held_out.name} ({held_out.subject}, test split), {len(rot)} frames"
    result = {"weights": origin, "clip": clip,
              "true_shift_m": shift.tolist(),
              "nominal_placement_error": pose_error(ss, acc_ok, ori_ok, rot, init),
              "before": pose_error(ss, acc, ori, rot, init)}
    t0 = time.time()
    history = finetune(ss, acc, ori, init)
    result["finetune_s"] = round(time.time() - t0, 1)
    result["after"] = pose_error(ss, acc, ori, rot, init)
    learnt = ss.vimu.offset.detach()
    leaves = [0, 1, 2, 3]
    result["learnt_shift_m"] = learnt.tolist()
    result["shift_error_cm_before"] = float(shift[leaves].norm(dim=-1).mean() * 100)
    result["shift_error_cm_after"] = float((learnt - shift)[leaves].norm(dim=-1).mean() * 100)
    result["loss_first_last"] = [history[0]["total"], history[-1]["total"]]
    return result


def run_user(args) -> dict:
    if args.clip:
        from fip_ros.data.motion import Motion

        m = Motion.load_npz(args.clip)
        rot = torch.as_tensor(m.local_rot, dtype=torch.float32)
        acc, ori = imu_from_clip(rot, torch.as_tensor(m.offsets, dtype=torch.float32),
                                 torch.as_tensor(m.tran, dtype=torch.float32))
        body, init = torch.as_tensor(m.body, dtype=torch.float32), _root_relative_rot15(rot[:1])
    else:
        with np.load(args.imu) as z:  # acc (T,6,3), ori (T,6,3,3), body (4,) as in docs/CONTRACTS.md
            acc, ori = torch.as_tensor(z["acc"]).float(), torch.as_tensor(z["ori"]).float()
            body, init = torch.as_tensor(z["body"]).float(), None
    cfg = FinetuneConfig(steps=args.steps, placement_steps=args.placement_steps, mass=args.mass)
    ss = SelfSupervised(load_weights(args.weights), body, cfg)
    history = finetune(ss, acc, ori, init)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from fip_ros.fip.checkpoint import save_checkpoint

    save_checkpoint(out / "fip_finetuned.pt", ss.model, metadata={"finetuned_from": str(args.weights)})
    placement = {"offset_m": ss.vimu.offset.detach().tolist(), "mount_rotvec": ss.vimu.rot.detach().tolist()}
    (out / "placement.json").write_text(json.dumps(placement, indent=1))
    return {"weights": str(out / "fip_finetuned.pt"), "loss_first_last": [history[0]["total"],
                                                                         history[-1]["total"]], **placement}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="fip-finetune", description=__doc__.splitlines()[0])
    ap.add_argument("--weights", help="pre-trained FIP checkpoint (default: the shipped weights)")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--clip", help="motion clip .npz (IMU synthesised from it; its pose is not used)")
    src.add_argument("--imu", help=".npz with acc (T,6,3), ori (T,6,3,3), body (4,)")
    ap.add_argument("--out", default="runs/finetune")
    ap.add_argument("--steps", type=int, default=FinetuneConfig.steps, help="network fine-tuning steps")
    ap.add_argument("--placement-steps", type=int, default=FinetuneConfig.placement_steps,
                    help="steps fitting only the sensor placement first")
    ap.add_argument("--mass", type=float, default=None, help="body mass, kg")
    ap.add_argument("--demo", action="store_true", help="shifted-sensor experiment on a held-out clip")
    ap.add_argument("--pretrain-steps", type=int, default=1500,
                    help="quick pre-training when there are no shipped weights (cached in .cache/physics)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if not args.demo and not (args.weights and (args.clip or args.imu)):
        ap.error("give --weights and --clip or --imu, or --demo")
    result = run_demo(args) if args.demo else run_user(args)
    result["config"] = asdict(FinetuneConfig(steps=args.steps, placement_steps=args.placement_steps,
                                             mass=args.mass))
    print(json.dumps(result, indent=1))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
