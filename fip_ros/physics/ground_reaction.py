"""Ground reactions from whole-body momentum change, split between the feet; joint moments from the feet up.

1. RNEA with no external load gives the wrench the whole body needs from outside (the root row: force F and,
   about the world origin, moment M).
2. The total centre of pressure is where that wrench meets the floor (plus a free vertical moment).
3. Each foot's CoP is the total CoP clamped to that foot's sole rectangle; F is shared between the feet by
   contact probability over distance to the total CoP (smooth hand-over in double support), each foot's
   force pointing from its CoP towards the centre of mass. With ``grf_direction='momentum'`` (a measured
   root path) the horizontal remainder is added so the feet carry the whole momentum change; with ``'com'``
   (an estimated root path, e.g. stance anchoring) it is not: the horizontal root acceleration of such a path
   is not observed (anchoring gives a near-constant speed, no braking or push-off), and the momentum route
   would turn its errors into large hip moments (docs/physics.md). The inverted-pendulum line of action
   (CoP -> centre of mass) stands in for it and the mismatch stays in the root residual.
4. RNEA again with those forces on the foot bodies: leg moments now come from the feet up, and what the
   feet could not explain is left at the root (the root residual, a quality signal).
"""

import torch

from fip_ros.core.gravity import GRAVITY
from fip_ros.physics.inverse_dynamics import newton_euler
from fip_ros.physics.segments import LEFT_FOOT, RIGHT_FOOT, Segments

FEET = (LEFT_FOOT, RIGHT_FOOT)
# How far along the sole (heel -> toe tip, fractions of foot length) a foot's CoP travels: the running
# trial's plates, 2nd-98th percentile of the CoP along the heel -> toe-tip markers in stance (both feet;
# gait_lab.cop_travel); the forefoot bends at the metatarsal heads, so the CoP stops short of the tip.
COP_RANGE = (0.06, 0.83)
SPLIT_DISTANCE = 0.02  # m; a foot this far from the total CoP gets half the weight of one right under it


def _mv(m, v):
    return (m @ v[..., None])[..., 0]


def total_cop(force, moment_origin, floor=0.0, min_vertical: float = 1.0):
    """Point on the floor y = floor (float or (...)) where the external wrench acts, and the free moment
    about the vertical."""
    fx, fy, fz = force.unbind(-1)
    mx, my, mz = moment_origin.unbind(-1)
    fy_safe = torch.where(fy.abs() < min_vertical, torch.full_like(fy, min_vertical), fy)
    px = (mz + floor * fx) / fy_safe
    pz = (floor * fz - mx) / fy_safe
    cop = torch.stack([px, torch.zeros_like(px) + floor, pz], -1)
    free = my - (pz * fx - px * fz)
    return cop, free


def clamp_to_feet(cop, kin, seg: Segments):
    """Clamp a floor point (...,3) to each foot's sole rectangle -> (...,2,3)."""
    rot = kin["global_rot"][..., FEET, :, :]
    heel = kin["joint_pos"][..., FEET, :] + _mv(rot, seg.foot_heel)
    axis = _mv(rot, seg.foot_axis) * torch.tensor([1.0, 0.0, 1.0], dtype=cop.dtype)
    axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    lateral = torch.stack([axis[..., 2], torch.zeros_like(axis[..., 0]), -axis[..., 0]], -1)
    d = cop[..., None, :] - heel
    length = seg.foot_length[..., None]
    along = torch.maximum(torch.minimum((d * axis).sum(-1), COP_RANGE[1] * length), COP_RANGE[0] * length)
    half_w = 0.5 * seg.foot_width[..., None]
    across = torch.maximum(torch.minimum((d * lateral).sum(-1), half_w), -half_w)
    out = heel + along[..., None] * axis + across[..., None] * lateral
    return torch.cat([out[..., :1], cop[..., None, 1:2].expand_as(out[..., 1:2]), out[..., 2:]], -1)


def centre_of_mass(kin: dict, seg: Segments) -> torch.Tensor:
    com = kin["joint_pos"] + _mv(kin["global_rot"], seg.com)
    return (seg.mass[..., None] * com).sum(-2) / seg.mass.sum(-1)[..., None]


def split_force(total_f, share, cop, com, momentum: bool = True):
    """Per-foot forces (...,2,3): each foot's share of the vertical force, directed from its CoP at the centre
    of mass (the usual line of action in walking), plus (``momentum``) its share of the horizontal remainder,
    so the feet add up to the share-weighted total (exactly ``total_f`` in single support)."""
    to_com = com[..., None, :] - cop
    rise = to_com[..., 1:2].clamp_min(0.1)
    vertical = share * total_f[..., None, 1]
    f = vertical[..., None] * to_com / rise
    if not momentum:
        return f
    remainder = share.sum(-1, keepdim=True) * total_f - f.sum(-2)
    remainder = remainder * torch.tensor([1.0, 0.0, 1.0], dtype=total_f.dtype)
    return f + share[..., None] * remainder[..., None, :] / share.sum(-1)[..., None, None].clamp_min(1e-9)


def ground_reaction(kin: dict, seg: Segments, com_acc, foot_prob, floor=0.0,
                    grf_direction: str = "momentum") -> dict:
    """kin/com_acc as for :func:`newton_euler`; foot_prob (...,2) left/right contact probability; floor height
    (float or (...)); grf_direction 'momentum' (measured root path) or 'com' (estimated one), see above.

    Returns grf (...,2,3) N, cop (...,2,3) m, free_moment (...,2) N m, moments (...,24,3) N m (parent on
    child, world), residual_force / residual_moment (...,3) at the root, total_force (...,3).
    """
    force0, moment0 = newton_euler(kin, seg, com_acc)
    total_f = force0[..., 0, :]
    total_m = moment0[..., 0, :] + torch.linalg.cross(kin["joint_pos"][..., 0, :], total_f, dim=-1)
    min_fy = 0.05 * float(seg.total_mass.mean()) * GRAVITY
    cop_total, free = total_cop(total_f, total_m, floor, min_vertical=min_fy)
    cop = clamp_to_feet(cop_total, kin, seg)
    # The foot nearer the total CoP carries more (in double support the CoP travels from the trailing to the
    # leading foot); shares sum to 1 once the feet are confidently down and fade to 0 in flight.
    near = foot_prob / ((cop - cop_total[..., None, :]).norm(dim=-1) + SPLIT_DISTANCE)
    share = near / near.sum(-1, keepdim=True).clamp_min(1e-9) * foot_prob.sum(-1, keepdim=True).clamp(max=1.0)
    if grf_direction not in ("momentum", "com"):
        raise ValueError(f"grf_direction must be 'momentum' or 'com', got {grf_direction!r}")
    grf = split_force(total_f, share, cop, centre_of_mass(kin, seg), grf_direction == "momentum")
    free_k = share * free[..., None]
    shape = (*kin["joint_pos"].shape[:-1], 3)
    ext_f = torch.zeros(shape, dtype=com_acc.dtype)
    ext_p = torch.zeros(shape, dtype=com_acc.dtype)
    ext_m = torch.zeros(shape, dtype=com_acc.dtype)
    ext_f = ext_f.index_copy(-2, torch.tensor(FEET), grf)
    ext_p = ext_p.index_copy(-2, torch.tensor(FEET), cop)
    ext_m = ext_m.index_copy(-2, torch.tensor(FEET),
                             free_k[..., None] * torch.tensor([0.0, 1.0, 0.0], dtype=com_acc.dtype))
    force, moment = newton_euler(kin, seg, com_acc, ext_f, ext_p, ext_m)
    return dict(grf=grf, cop=cop, free_moment=free_k, moments=moment, residual_force=force[..., 0, :],
                residual_moment=moment[..., 0, :], total_force=total_f)


def bwbh_percent(moment, mass, height):
    """Moments normalised to body weight x body height, in %."""
    mass = torch.as_tensor(mass, dtype=moment.dtype)
    height = torch.as_tensor(height, dtype=moment.dtype)
    return 100.0 * moment / (mass * GRAVITY * height)
