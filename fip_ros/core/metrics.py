"""Pose-accuracy metrics of the TransPose/PIP protocol (pure functions, torch, NumPy accepted).

Every function takes SMPL local rotations (T, 24, 3, 3). The protocol sets the local rotations of the
ignored joints (root, ankles, feet, wrists, hands) to identity in both prediction and truth, so all
errors are measured in the root frame and the root orientation (which comes straight from the pelvis
sensor) never counts.
"""

import numpy as np
import torch

from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.rotations import angle_between
from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, IGNORED_JOINTS, SIP_JOINTS

ALL_JOINTS = tuple(range(24))
UPPER_ARMS = ((16, 18), (17, 19))  # shoulder -> elbow, left and right
# Upper-arm elevation bins, degrees from hanging straight down: down, raised towards shoulder height, above it
ELEVATION_BINS = (0.0, 45.0, 100.0, 180.0)


def _t(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float64)


def protocol_pose(local_rot) -> torch.Tensor:
    """Copy of ``local_rot`` with the ignored joints (root included) set to identity."""
    out = _t(local_rot).clone()
    out[..., list(IGNORED_JOINTS), :, :] = torch.eye(3, dtype=out.dtype)
    return out


def protocol_kinematics(local_rot, offsets) -> tuple[torch.Tensor, torch.Tensor]:
    """Root-frame global rotations (T, 24, 3, 3) and joint positions (T, 24, 3) of the protocol pose on the
    skeleton ``offsets``: the one forward kinematics every metric of a pose is measured on."""
    return forward_kinematics(protocol_pose(local_rot), _t(offsets))


def _angles(g_pred, g_true) -> torch.Tensor:
    return torch.rad2deg(angle_between(g_pred, g_true))


def _distances(p_pred, p_true) -> torch.Tensor:
    return (p_pred - p_true).norm(dim=-1) * 100.0


def global_angle_error(pred_local, true_local, offsets) -> torch.Tensor:
    """(T, 24) angle in degrees between predicted and true global (root-frame) rotations per joint."""
    pred, true = (protocol_kinematics(r, offsets)[0] for r in (pred_local, true_local))
    return _angles(pred, true)


def joint_position_error(pred_local, true_local, offsets) -> torch.Tensor:
    """(T, 24) distance in cm between joints posed on the same (true) skeleton, root at the origin."""
    pred, true = (protocol_kinematics(r, offsets)[1] for r in (pred_local, true_local))
    return _distances(pred, true)


def upper_arm_errors(p_pred, p_true) -> tuple[torch.Tensor, torch.Tensor]:
    """(T, 2) true elevation of each upper arm (degrees from the root frame's downward axis: 0 hanging, 90 at
    shoulder height, 180 straight up) and (T, 2) angle in degrees between predicted and true upper-arm
    directions, from root-frame joint positions (T, 24, 3)."""
    def unit(p):
        d = torch.stack([p[:, e] - p[:, s] for s, e in UPPER_ARMS], 1)
        return d / d.norm(dim=-1, keepdim=True).clamp_min(1e-9)

    true, pred = unit(p_true), unit(p_pred)
    elevation = torch.rad2deg(torch.acos((-true[..., 1]).clamp(-1.0, 1.0)))
    error = torch.rad2deg(torch.acos((true * pred).sum(-1).clamp(-1.0, 1.0)))
    return elevation, error


def jitter(positions, fps: float = 60.0) -> torch.Tensor:
    """(T-3, J) magnitude of the third finite difference times fps^3, in km/s^3."""
    p = _t(positions)
    d3 = p[3:] - 3 * p[2:-1] + 3 * p[1:-2] - p[:-3]
    return d3.norm(dim=-1) * fps**3 / 1000.0


def mesh_error(pred_local, true_local, smpl_model_dir: str) -> torch.Tensor:
    """(T,) mean vertex distance in cm of the mean-shape (neutral) SMPL mesh; needs the SMPL model files."""
    from fip_ros.core.smpl_model import SmplBody  # SMPL files are licensed separately and usually absent

    body = SmplBody(smpl_model_dir, "neutral")
    verts = [body.vertices(protocol_pose(r)) for r in (pred_local, true_local)]
    return (verts[0] - verts[1]).norm(dim=-1).mean(-1) * 100.0


def sequence_errors(pred_local, true_local, offsets, fps: float = 60.0, smpl_model_dir: str | None = None):
    """Per-frame and per-joint errors of one sequence (tensors, float64); forward kinematics runs once on
    the prediction and once on the truth."""
    g_pred, p_pred = protocol_kinematics(pred_local, offsets)
    g_true, p_true = protocol_kinematics(true_local, offsets)
    ang, pos = _angles(g_pred, g_true), _distances(p_pred, p_true)
    out = {
        "sip_deg": ang[:, list(SIP_JOINTS)].mean(-1),
        "angle24_deg": ang.mean(-1),
        "angle15_deg": ang[:, list(ESTIMATED_JOINTS)].mean(-1),
        "pos_cm": pos.mean(-1),
        "jitter_km_s3": jitter(p_pred, fps).mean(-1),
        "per_joint_angle_deg": ang,
        "per_joint_pos_cm": pos,
    }
    out["arm_elevation_deg"], out["upper_arm_error_deg"] = upper_arm_errors(p_pred, p_true)
    if smpl_model_dir:
        out["mesh_cm"] = mesh_error(pred_local, true_local, smpl_model_dir)
    return out


SUMMARY_KEYS = ("sip_deg", "angle24_deg", "angle15_deg", "pos_cm", "mesh_cm", "jitter_km_s3")


def summarize(errors_list: list[dict]) -> dict:
    """Frame-weighted means over sequences, plus the 75th percentile of position error and per-joint means.

    Mesh error appears only when every sequence has it (it needs the SMPL model files).
    """
    out = {}
    for k in SUMMARY_KEYS:
        if errors_list and all(k in e for e in errors_list):
            out[k] = float(torch.cat([e[k] for e in errors_list]).mean())
    if errors_list:
        pos = torch.cat([e["pos_cm"] for e in errors_list])
        out["pos_cm_p75"] = float(torch.quantile(pos, 0.75))
        for k in ("per_joint_angle_deg", "per_joint_pos_cm"):
            out[k] = torch.cat([e[k] for e in errors_list]).mean(0).tolist()
        if all("arm_elevation_deg" in e for e in errors_list):
            elevation, error = (torch.cat([e[k] for e in errors_list])
                                for k in ("arm_elevation_deg", "upper_arm_error_deg"))
            out["per_arm_elevation"] = by_elevation(elevation, error)
    return out


def scalars(summary: dict, keep: tuple = ()) -> dict:
    """The summary's single figures: no per-joint or per-elevation breakdowns, except those in ``keep``."""
    return {k: v for k, v in summary.items() if not k.startswith("per_") or k in keep}


def by_elevation(elevation, error) -> list[dict]:
    """Upper-arm direction error per ELEVATION_BINS bin: [{from_deg, to_deg, share (of arm-frames), error_deg
    (mean; None when the bin is empty)}]."""
    rows = []
    for lo, hi in zip(ELEVATION_BINS[:-1], ELEVATION_BINS[1:], strict=True):
        inside = (elevation >= lo) & ((elevation < hi) if hi < ELEVATION_BINS[-1] else (elevation <= hi))
        n = int(inside.sum())
        rows.append({"from_deg": lo, "to_deg": hi, "share": n / max(elevation.numel(), 1),
                     "error_deg": float(error[inside].mean()) if n else None})
    return rows
