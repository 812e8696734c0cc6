"""Self-supervised, physics-informed fine-tuning of FIP on unlabelled IMU data (SSPINNpose idea, in 3D).

The network's pose drives the rigid-body model; the losses need no motion capture:
- sensor reconstruction: virtual (learnable placement) vs measured acceleration and orientation;
- physics: root residual wrench after the ground reactions (the feet cannot explain it), normalised by body
  weight and weight x height;
- contact consistency: sole points in contact do not accelerate in the world;
- temporal consistency: no frame-to-frame jitter of the joint trajectories (gait-band motion is free);
- a pull towards the pre-trained weights (parameter L2 to the initial weights).
Two phases. First the limb sensors' placement, from the kinematic chain with the network frozen
(``fip_ros.finetune.placement``: the network's own limb accelerations are too poor to place a sensor by). Then
the network (and the sensors' mounting rotations) on the losses above, placement fixed. The placement also
corrects the network's input: the reading is moved back to the nominal site (subtracting the lever-arm
acceleration from the measured orientations), which is where the network was trained to expect it.

Command line: ``fip-finetune`` (``fip_ros.cli.finetune``): ``run_user`` on one person's recordings,
``run_demo`` the shifted-sensor experiment on a held-out subject's walking.
"""

import json
import time
from pathlib import Path

import numpy as np
import torch

from fip_ros.core.gravity import GRAVITY
from fip_ros.core.imu_synthesis import STENCIL, finite_acceleration, sensor_local_offsets
from fip_ros.core.kinematics import forward_kinematics, root_relative_rot15
from fip_ros.core.metrics import sequence_errors
from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.core.smpl_tree import SENSOR_JOINTS
from fip_ros.data.motion import Motion
from fip_ros.finetune.config import FinetuneConfig
from fip_ros.finetune.placement import fit_placement
from fip_ros.fip.checkpoint import default_weights_path, load_checkpoint, save_checkpoint
from fip_ros.physics.contact import contact_from_trajectory, sole_points
from fip_ros.physics.ground_reaction import ground_reaction
from fip_ros.physics.inverse_dynamics import (
    com_acceleration_from_motion,
    kinematics_from_motion,
    savgol_filter,
)
from fip_ros.physics.segments import build_segments
from fip_ros.physics.virtual_imu import VirtualIMU, carrier_acceleration, offset_acceleration

ACC_WINDOW = 21  # frames; low-pass of the acceleration comparison (0.35 s)
JITTER_WINDOW = 9  # frames; a 2nd-order Savitzky-Golay fit over 0.15 s passes the gait band (< ~6 Hz)
PELVIS = 5  # sensor index of the pelvis: it defines the root acceleration, its placement stays nominal


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

    def calibrate(self, recordings, log=None) -> dict:
        """Phase 1: the limb sensors' shifts from ``recordings`` [(acc, ori, init_pose)], starting from the
        network's pose (see ``fip_ros.finetune.placement``); stored in ``vimu.offset``."""
        with torch.no_grad():
            poses = [self.predict(acc, ori, init)["local_rot"][0] for acc, ori, init in recordings]
        fit = fit_placement([(acc, ori, pose) for (acc, ori, _), pose in zip(recordings, poses, strict=True)],
                            self.offsets, self.fps, STENCIL, self.cfg.placement_steps,
                            prior=self.cfg.placement_prior, log=log)
        with torch.no_grad():
            self.vimu.offset.copy_(fit["offset"])
        return fit

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
        a_root = carrier_acceleration(acc[:, PELVIS], glob[:, 0], self.vimu.nominal[PELVIS], self.fps,
                                      STENCIL)
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
        # Only what a short polynomial fit cannot follow: penalising all acceleration would slow the gait.
        parts["smooth"] = _sq(joints - savgol_filter(joints, self.fps, JITTER_WINDOW)) / 0.01**2
        parts["prior"] = sum((p - p0).square().sum() for p, p0 in zip(self.model.parameters(), self.initial,
                                                                      strict=True))
        parts["mount"] = self.vimu.rot.square().sum()
        c = self.cfg
        w = dict(acc=c.w_acc, ori=c.w_ori, residual=c.w_residual, contact=c.w_contact, smooth=c.w_smooth,
                 prior=c.w_prior, mount=c.w_mount)
        parts["total"] = sum(w[k] * parts[k] for k in w)
        return parts


def finetune(ss: SelfSupervised, recordings, log=print) -> dict:
    """Fine-tune on ``recordings`` [(acc (T,6,3), ori (T,6,3,3), init_pose or None)] of one person: the
    placement first (network frozen), then the network. Returns the placement fit and the per-step losses."""
    placement = ss.calibrate(recordings, log) if ss.cfg.placement_steps else None
    return {"placement": placement, "history": finetune_network(ss, recordings, log)}


def finetune_network(ss: SelfSupervised, recordings, log=print) -> list[dict]:
    """Phase 2: ``cfg.steps`` steps of the network and the mounting rotations, one recording each, in turn;
    the placement stays as phase 1 left it (the network's pose would drag it off). Per-step losses."""
    cfg = ss.cfg
    ss.vimu.offset.requires_grad_(False)
    opt = torch.optim.Adam([{"params": ss.model.parameters(), "lr": cfg.lr},
                            {"params": [ss.vimu.rot], "lr": cfg.placement_lr}])
    ss.model.eval()  # no dropout: on one person's data it would only add noise to the losses
    history = []
    for step in range(cfg.steps):
        parts = ss.losses(*recordings[step % len(recordings)])
        opt.zero_grad()
        parts["total"].backward()
        opt.step()
        rec = {k: float(v.detach()) for k, v in parts.items()}
        history.append(rec)
        if log and step % 20 == 0:
            log(f"step {step:4d} " + " ".join(f"{k} {v:.4g}" for k, v in rec.items()))
    return history


@torch.no_grad()
def pose_error(ss: SelfSupervised, recordings) -> dict:
    """Mean root-relative global angle error (deg, the 15 estimated joints) and joint position error (cm) over
    ``recordings`` [(acc, ori, init_pose, local_rot_true)], frames weighted alike: fip-eval's protocol
    (``fip_ros.core.metrics``: joints FIP does not estimate held at identity in both poses)."""
    sl = slice(STENCIL, -STENCIL)
    ang, pos = [], []
    for acc, ori, init, local_rot_true in recordings:
        pred = ss.predict(acc, ori, init)["local_rot"][0][sl]
        true = local_rot_true[sl]
        errors = sequence_errors(pred, true, ss.offsets, ss.fps)
        ang.append(errors["angle15_deg"])
        pos.append(errors["pos_cm"])
    return {"angle_deg": float(torch.cat(ang).mean()), "position_cm": float(torch.cat(pos).mean())}


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
    return load_checkpoint(path)[0]


def run_demo(cfg: FinetuneConfig, weights=None) -> dict:
    """The shifted-sensor experiment on a held-out person (``fip-finetune --demo``): known sensor shifts,
    pose error before, after the placement fit and after the network fine-tuning."""
    from fip_ros.finetune.clips import held_out_subject

    weights = Path(weights) if weights else default_weights_path()
    clips = held_out_subject()  # a test-split subject: never seen by the shipped weights
    views = [c.tensors() for c in clips]
    off, body = views[0].offsets, views[0].body
    if not all(torch.allclose(v.offsets, off, atol=1e-4) for v in views):
        raise ValueError("the demo's clips must share one skeleton (one person)")
    shift = demo_shift(off)
    shifted, nominal = [], []
    for view in views:
        rot, tran = view.local_rot, view.tran
        init = root_relative_rot15(rot[:1])
        shifted.append((*imu_from_clip(rot, off, tran, shift), init, rot))
        nominal.append((*imu_from_clip(rot, off, tran), init, rot))
    ss = SelfSupervised(load_weights(weights), body, cfg)
    frames = sum(len(c.local_rot) for c in clips)
    result = {"weights": str(weights),
              "recordings": f"{len(clips)} walking trials of {clips[0].subject} ({clips[0].source}, test "
                            f"split), {frames} frames, {frames / clips[0].fps:.0f} s",
              "true_shift_m": shift.tolist(),
              "nominal_placement_error": pose_error(ss, nominal),
              "before": pose_error(ss, shifted)}
    recordings = [r[:3] for r in shifted]  # what the fine-tuning sees: IMU data only
    t0 = time.time()
    placement = ss.calibrate(recordings)  # the two phases apart, to report each
    result["after_placement"] = pose_error(ss, shifted)
    history = finetune_network(ss, recordings)
    result["finetune_s"] = round(time.time() - t0, 1)
    result["after"] = pose_error(ss, shifted)
    learnt = placement["offset"]
    result["learnt_shift_m"] = learnt.tolist()
    names = ("left forearm", "right forearm", "left lower leg", "right lower leg")
    # Per limb sensor: the shift (the error of assuming the nominal site) and the error left after the fit.
    result["shift_error_cm"] = {n: [round(float(shift[i].norm()) * 100, 2),
                                    round(float((learnt - shift)[i].norm()) * 100, 2)]
                                for i, n in enumerate(names)}
    result["placement_rms_residual_m_s2"] = [placement["rms_before"], placement["rms_after"]]
    result["loss_first_last"] = [history[0]["total"], history[-1]["total"]] if history else []
    return result


def _user_recordings(clips, imus):
    """[(acc, ori, init_pose)] and the body from motion clip and IMU files (one person)."""
    recordings, bodies = [], []
    for path in clips:
        clip = Motion.load_npz(path).tensors()
        recordings.append((*imu_from_clip(clip.local_rot, clip.offsets, clip.tran),
                           root_relative_rot15(clip.local_rot[:1])))
        bodies.append(clip.body)
    for path in imus:
        with np.load(path) as z:  # acc (T,6,3), ori (T,6,3,3), body (4,) as in docs/CONTRACTS.md
            recordings.append((torch.as_tensor(z["acc"]).float(), torch.as_tensor(z["ori"]).float(), None))
            bodies.append(torch.as_tensor(z["body"]).float())
    if any(not torch.equal(b, bodies[0]) for b in bodies):
        raise ValueError("the recordings carry different body measurements: fine-tune one person at a time")
    return recordings, bodies[0]


def run_user(cfg: FinetuneConfig, weights, clips=(), imus=(), out_dir="runs/finetune") -> dict:
    """Fine-tune ``weights`` on one person's recordings (motion clips: IMUs synthesised from them, their pose
    unused; IMU files: acc (T,6,3), ori (T,6,3,3), body (4,)); writes ``fip_finetuned.pt`` and
    ``placement.json`` to ``out_dir``."""
    recordings, body = _user_recordings(clips, imus)
    ss = SelfSupervised(load_weights(weights), body, cfg)
    out = finetune(ss, recordings)
    history = out["history"]
    dest = Path(out_dir)
    dest.mkdir(parents=True, exist_ok=True)
    save_checkpoint(dest / "fip_finetuned.pt", ss.model, metadata={"finetuned_from": str(weights)})
    placement = {"offset_m": ss.vimu.offset.detach().tolist(), "mount_rotvec": ss.vimu.rot.detach().tolist()}
    if out["placement"]:
        placement["rms_residual_m_s2"] = [out["placement"]["rms_before"], out["placement"]["rms_after"]]
    (dest / "placement.json").write_text(json.dumps(placement, indent=1))
    return {"weights": str(dest / "fip_finetuned.pt"),
            "loss_first_last": [history[0]["total"], history[-1]["total"]] if history else [], **placement}
