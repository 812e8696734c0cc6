"""Sensor placement from the kinematic chain: where the limb sensors sit, from unlabelled IMU data.

A lower-leg (forearm) sensor hangs two joints below a point whose acceleration the other sensors observe: the
hip moves with the pelvis sensor (its lever from the measured pelvis orientation), the shoulder between the
pelvis and the head sensor. With R(t) the sensor's measured orientation, n its nominal site, d the unknown
shift (both in the carrying bone's frame), l the thigh (upper-arm) length and u(t) the thigh's direction,
the reading is

    a(t) = a_anchor(t) + D2[ l u(t) + R(t) (n + d) ](t)

with D2 the same second difference as the IMU synthesis. u(t) is not observed (one unknown direction per
frame), so it is fitted together with d, starting from the network's pose and weakly pulled towards it. As the
knee (elbow) bends, a wrong d would need the knee (elbow) to leave the sphere |l u| = l around the hip
(shoulder): the fit separates them. It cannot separate a shift along the hinge axis of a joint that only
bends; a weak prior holds that part near the nominal site.

Fitting d directly to the network's limb accelerations does not work: they are wrong by more than the shift's
lever-arm signal (docs/physics.md). The shoulder anchor is an estimate (the trunk between the two measured
points, interpolated by height), so the forearm shifts are recovered less well than the lower-leg ones.
"""

import torch

from fip_ros.core.body_model import tpose_positions
from fip_ros.core.imu_synthesis import STENCIL, finite_acceleration, sensor_local_offsets
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.physics.virtual_imu import carrier_acceleration

# Limb sensor index -> (joint carrying it, that joint's parent): forearms hang from the shoulders, lower legs
# from the hips (sensor order of SENSOR_JOINTS: left/right forearm, left/right lower leg, head, pelvis).
LIMB_CHAIN = ((18, 16), (19, 17), (4, 1), (5, 2))
LIMBS = (0, 1, 2, 3)
HEAD, PELVIS = 4, 5
HEAD_JOINT = 15
SHOULDERS, HIPS = (16, 17), (1, 2)


def shoulder_weight(offsets: torch.Tensor) -> torch.Tensor:
    """(2,) share of the head joint's acceleration in each shoulder's: its height between pelvis and head."""
    rest = tpose_positions(offsets)
    return rest[list(SHOULDERS), 1] / rest[HEAD_JOINT, 1]


def anchor_acceleration(acc, ori, offsets, fps: float = 60.0, stencil: int = STENCIL) -> torch.Tensor:
    """World acceleration (T,4,3) of the shoulders and hips (limb sensor order) from the head and pelvis
    sensors: acc (T,6,3) world free acceleration, ori (T,6,3,3) sensor-to-world, both at nominal sites."""
    d2 = lambda x: finite_acceleration(x, fps, stencil, dim=0)  # noqa: E731
    nominal = sensor_local_offsets(offsets).to(acc.dtype)
    a_root = carrier_acceleration(acc[:, PELVIS], ori[:, PELVIS], nominal[PELVIS], fps, stencil)
    a_head = carrier_acceleration(acc[:, HEAD], ori[:, HEAD], nominal[HEAD], fps, stencil)
    hips = a_root[:, None] + d2((ori[:, PELVIS, None] @ offsets[list(HIPS), :, None].to(acc.dtype))[..., 0])
    w = shoulder_weight(offsets).to(acc.dtype)[:, None]
    shoulders = w * a_head[:, None] + (1 - w) * a_root[:, None]
    return torch.cat([shoulders, hips], 1)


def fit_placement(recordings, offsets, fps: float = 60.0, stencil: int = STENCIL, iters: int = 800,
                  pull: float = 1e-2, prior: float = 1e-2, log=None) -> dict:
    """Fit the limb sensors' shifts from their nominal sites.

    recordings: list of (acc (T,6,3), ori (T,6,3,3), local_rot (T,24,3,3)): measured IMU data (world free
    acceleration, sensor-to-world orientation) and the network's pose of the same frames (its root row the
    measured pelvis orientation, as FIP outputs it). pull: weight of |u - u_network|^2 against the mean
    squared acceleration residual (m/s^2)^2; prior: weight of |d / 5 cm|^2.
    Returns offset (6,3) (head and pelvis stay nominal), rms residual before / after (m/s^2).
    """
    offsets = offsets.detach().float()
    nominal = sensor_local_offsets(offsets)[list(LIMBS)]
    carried = [j for j, _ in LIMB_CHAIN]
    length = offsets[carried].norm(dim=-1)[:, None]
    d2 = lambda x: finite_acceleration(x, fps, stencil, dim=0)  # noqa: E731
    terms, directions = [], []
    for acc, ori, local_rot in recordings:
        acc, ori = acc.detach().float(), ori.detach().float()
        joints = forward_kinematics(local_rot.detach().float(), offsets)[1]
        u0 = joints[:, carried] - joints[:, [p for _, p in LIMB_CHAIN]]
        u0 = u0 / u0.norm(dim=-1, keepdim=True)
        target = acc[:, list(LIMBS)] - anchor_acceleration(acc, ori, offsets, fps, stencil)
        terms.append((target, ori[:, list(LIMBS)], u0))
        directions.append(torch.nn.Parameter(u0.clone()))
    shift = torch.nn.Parameter(torch.zeros(len(LIMBS), 3))
    frames = sum(len(t[0]) for t in terms)

    def residual_loss():
        squared, pulled = 0.0, 0.0
        for (target, rot, u0), u in zip(terms, directions, strict=True):
            unit = u / u.norm(dim=-1, keepdim=True)
            model = length * unit + (rot @ (nominal + shift)[..., None])[..., 0]
            r = (target - d2(model))[stencil:-stencil]  # the end frames repeat their neighbours' value
            squared = squared + r.square().sum(-1).sum(0)
            pulled = pulled + (unit - u0).square().sum(-1).sum(0)
        return squared / frames, pulled / frames  # per limb

    def loss_fn():
        squared, pulled = residual_loss()
        return (squared + pull * pulled).sum() + prior * shift.square().sum() / 0.05**2

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    # A long, shallow valley (d trades against the directions until the bending rules it out): quasi-Newton
    # gets down it where plain gradient steps crawl.
    opt = torch.optim.LBFGS([shift, *directions], max_iter=iters, history_size=50,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-14)
    before = residual_loss()[0].detach().sqrt()
    opt.step(closure)
    if log:
        log(f"placement: {opt.state[shift]['n_iter']} iterations, loss {float(loss_fn()):.4g}")
    out = torch.zeros(6, 3)
    out[list(LIMBS)] = shift.detach()
    return dict(offset=out, rms_before=before.tolist(), rms_after=residual_loss()[0].detach().sqrt().tolist())
