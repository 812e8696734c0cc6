"""Body segment inertial model on the SMPL-24 tree (de Leva 1996, adjusted Zatsiorsky-Seluyanov).

Every SMPL joint j owns the rigid body that rotates with its global rotation and has its origin at the joint
(the body between joint j and its child). Segment <-> SMPL body mapping:

| SMPL body | de Leva segment | long axis (T-pose) |
|---|---|---|
| 0 pelvis | lower trunk (omphalion-mid-hip) | up |
| 3 spine1, 6 spine2 | mid trunk (xiphoid-omphalion), half each, same centre of mass | up |
| 9 spine3 | upper trunk (suprasternale-xiphoid) | up |
| 15 head | head (vertex-mid-gonion); the head joint stands in for mid-gonion | up |
| 16/17 shoulders | upper arm, shoulder -> elbow | along the arm |
| 18/19 elbows | forearm, elbow -> wrist | along the arm |
| 20/21 wrists | hand, 0.108 H from the wrist towards the SMPL hand joint | along the arm |
| 1/2 hips | thigh, hip -> knee | down |
| 4/5 knees | shank, knee -> ankle | down |
| 7/8 ankles | foot, heel -> toe tip (0.152 H), heel on the floor below and behind the ankle | forward |
| 12 neck, 13/14 collars, 10/11 toes, 22/23 hands | massless (their mass is in the rows above) | |

The trunk rows are laid along the T-pose line from mid-hip (mean of the hip joints) to the neck joint
(suprasternale), split by de Leva's sub-segment lengths. Inertia: radii of gyration about the sagittal
(antero-posterior, SMPL z), transverse (medio-lateral) and longitudinal (segment) axes.
All tensors are torch, differentiable in mass and offsets.
"""

from dataclasses import dataclass

import torch

from fip_ros.core.body_model import DE_LEVA_LENGTHS_MM, tpose_positions
from fip_ros.core.smpl_tree import NUM_JOINTS

# Rows: mass %, CM % from the proximal landmark, radii of gyration % (sagittal, transverse, longitudinal).
DE_LEVA = {
    "male": {
        "head": (6.94, 59.76, (36.2, 37.6, 31.2)),
        "upper_trunk": (15.96, 29.99, (71.6, 45.4, 65.9)),
        "mid_trunk": (16.33, 45.02, (48.2, 38.3, 46.8)),
        "lower_trunk": (11.17, 61.15, (61.5, 55.1, 58.7)),
        "upper_arm": (2.71, 57.72, (28.5, 26.9, 15.8)),
        "forearm": (1.62, 45.74, (27.6, 26.5, 12.1)),
        "hand": (0.61, 79.00, (62.8, 51.3, 40.1)),
        "thigh": (14.16, 40.95, (32.9, 32.9, 14.9)),
        "shank": (4.33, 44.59, (25.5, 24.9, 10.3)),
        "foot": (1.37, 44.15, (25.7, 24.5, 12.4)),
    },
    "female": {
        "head": (6.68, 58.94, (33.0, 35.9, 31.8)),
        "upper_trunk": (15.45, 20.77, (74.6, 50.2, 71.8)),
        "mid_trunk": (14.65, 45.12, (43.3, 35.4, 41.5)),
        "lower_trunk": (12.47, 49.20, (43.3, 40.2, 44.4)),
        "upper_arm": (2.55, 57.54, (27.8, 26.0, 14.8)),
        "forearm": (1.38, 45.59, (26.1, 25.7, 9.4)),
        "hand": (0.56, 74.74, (53.1, 45.4, 33.5)),
        "thigh": (14.78, 36.12, (36.9, 36.4, 16.2)),
        "shank": (4.81, 44.16, (27.1, 26.7, 9.3)),
        "foot": (1.29, 40.14, (29.9, 27.9, 13.9)),
    },
}
# Lengths that the SMPL skeleton does not give, as fractions of height (de Leva's head, Winter's hand/foot).
HEAD_LENGTH, HAND_LENGTH, FOOT_LENGTH, FOOT_WIDTH, ANKLE_HEIGHT = 0.117, 0.108, 0.152, 0.055, 0.039
# Heel behind the ankle joint, as a fraction of foot length.
HEEL_BACK = 0.25

# Limb bodies: SMPL body -> (segment, distal joint).
LIMBS = {16: ("upper_arm", 18), 17: ("upper_arm", 19), 18: ("forearm", 20), 19: ("forearm", 21),
         1: ("thigh", 4), 2: ("thigh", 5), 4: ("shank", 7), 5: ("shank", 8)}
HANDS = {20: 22, 21: 23}
FEET = {7: 10, 8: 11}
LEFT_FOOT, RIGHT_FOOT = 7, 8


@dataclass
class Segments:
    """Inertial parameters per SMPL body (24 rows), expressed in the body's own frame (= world in T-pose)."""

    mass: torch.Tensor  # (..., 24) kg
    com: torch.Tensor  # (..., 24, 3) centre of mass relative to the joint, m
    inertia: torch.Tensor  # (..., 24, 3, 3) about the centre of mass, kg m^2
    foot_heel: torch.Tensor  # (..., 2, 3) heel point of the left / right foot relative to the ankle, m
    foot_axis: torch.Tensor  # (..., 2, 3) unit heel -> toe direction (horizontal) in the foot frame
    foot_length: torch.Tensor  # (...,) m
    foot_width: torch.Tensor  # (...,) m
    total_mass: torch.Tensor  # (...,) kg
    height: torch.Tensor  # (...,) m


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-9)


def _inertia(mass, length, radii, axis):
    """Inertia about the CM: m L^2 sum_k r_k^2 e_k e_k^T; e_lon = axis, e_sag = forward made orthogonal."""
    forward = torch.tensor([0.0, 0.0, 1.0], dtype=axis.dtype).expand_as(axis)
    if torch.all(axis[..., 2].abs() > 0.9):  # a forward-pointing segment (foot): its sagittal axis is up
        forward = torch.tensor([0.0, 1.0, 0.0], dtype=axis.dtype).expand_as(axis)
    e_sag = _unit(forward - (forward * axis).sum(-1, keepdim=True) * axis)
    e_trv = torch.linalg.cross(axis, e_sag)
    r_sag, r_trv, r_lon = (r / 100.0 for r in radii)
    outer = lambda e: e[..., :, None] * e[..., None, :]  # noqa: E731
    dens = (r_sag**2 * outer(e_sag) + r_trv**2 * outer(e_trv) + r_lon**2 * outer(axis))
    return (mass * length**2)[..., None, None] * dens


def build_segments(offsets, mass, height, sex: str = "male") -> Segments:
    """Segment model for a skeleton (offsets (..., 24, 3), T-pose), body mass (kg) and height (m)."""
    if sex not in DE_LEVA:
        raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
    offsets = torch.as_tensor(offsets)
    offsets = offsets if offsets.is_floating_point() else offsets.to(torch.get_default_dtype())
    dtype = offsets.dtype
    mass = torch.as_tensor(mass, dtype=dtype).expand(offsets.shape[:-2])
    height = torch.as_tensor(height, dtype=dtype).expand(offsets.shape[:-2])
    table = DE_LEVA[sex]
    total_pct = sum(row[0] for row in table.values()) + sum(
        table[name][0] for name in ("upper_arm", "forearm", "hand", "thigh", "shank", "foot"))
    tp = tpose_positions(offsets)
    zero3 = torch.zeros_like(offsets[..., 0, :])
    masses = [torch.zeros_like(mass)] * NUM_JOINTS
    coms = [zero3] * NUM_JOINTS
    inertias = [torch.zeros(*offsets.shape[:-2], 3, 3, dtype=dtype)] * NUM_JOINTS

    def put(body, name, prox, axis, length, share=1.0):
        pct, cm_pct, radii = table[name]
        m = mass * (pct / total_pct) * share
        masses[body] = m
        coms[body] = prox + axis * (length * cm_pct / 100.0)[..., None] - tp[..., body, :]
        inertias[body] = _inertia(m, length, radii, axis)

    # Trunk: landmarks along mid-hip -> neck; CMs are measured from each row's upper (proximal) landmark.
    mid_hip = 0.5 * (tp[..., 1, :] + tp[..., 2, :])
    trunk = tp[..., 12, :] - mid_hip
    up, trunk_len = _unit(trunk), trunk.norm(dim=-1)
    # de Leva's trunk sub-segment lengths split the mid-hip -> neck line.
    parts = [DE_LEVA_LENGTHS_MM[sex][k] for k in ("upper_trunk", "mid_trunk", "lower_trunk")]
    upper, mid, lower = (x / sum(parts) for x in parts)
    down = -up
    put(9, "upper_trunk", tp[..., 12, :], down, trunk_len * upper)
    for body in (3, 6):
        put(body, "mid_trunk", tp[..., 12, :] - trunk * upper, down, trunk_len * mid, share=0.5)
    put(0, "lower_trunk", tp[..., 12, :] - trunk * (upper + mid), down, trunk_len * lower)
    # Head: the head joint stands in for mid-gonion; vertex (proximal) above it.
    head_len = height * HEAD_LENGTH
    put(15, "head", tp[..., 15, :] + up * head_len[..., None], down, head_len)
    for body, (name, distal) in LIMBS.items():
        seg = tp[..., distal, :] - tp[..., body, :]
        put(body, name, tp[..., body, :], _unit(seg), seg.norm(dim=-1))
    for body, distal in HANDS.items():
        direction = _unit(tp[..., distal, :] - tp[..., body, :])
        put(body, "hand", tp[..., body, :], direction, height * HAND_LENGTH)
    heels, axes = [], []
    up = torch.tensor([0.0, 1.0, 0.0], dtype=dtype)
    ankle_h = (height * ANKLE_HEIGHT)[..., None]
    foot_len = height * FOOT_LENGTH
    for body, toe in FEET.items():
        d = tp[..., toe, :] - tp[..., body, :]
        axis = _unit(d * torch.tensor([1.0, 0.0, 1.0], dtype=dtype))
        ground = tp[..., body, :] - up * ankle_h
        heel = ground - axis * (foot_len * HEEL_BACK)[..., None]
        put(body, "foot", heel, axis, foot_len)
        # The foot CM sits half an ankle height above the sole, not on it.
        coms[body] = coms[body] + 0.5 * up * ankle_h
        heels.append(heel - tp[..., body, :])
        axes.append(axis)
    return Segments(mass=torch.stack(masses, -1), com=torch.stack(coms, -2),
                    inertia=torch.stack(inertias, -3),
                    foot_heel=torch.stack(heels, -2), foot_axis=torch.stack(axes, -2), foot_length=foot_len,
                    foot_width=height * FOOT_WIDTH, total_mass=mass, height=height)


def segments_for_body(body, mass) -> Segments:
    """Segments for a body dict/vector (see docs/CONTRACTS.md) via the project's parametric skeleton."""
    from fip_ros.core.body_model import body_dict, offsets_for_body

    b = body if isinstance(body, dict) else body_dict(body)
    offsets = offsets_for_body(b).to(torch.get_default_dtype())
    return build_segments(offsets, mass, b["height"], b["sex"])
