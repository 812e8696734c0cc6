"""OpenSim gait2354 (and its relatives gait2392 / Hamner's lower body) <-> SMPL-24.

Axes: OpenSim's ground and every body frame in the default pose have x forward, y up, z to the right;
SMPL's have x to the left, y up, z forward, so ``p_smpl = C p_opensim`` with C below. In the default pose
(all coordinates 0: standing, legs straight, feet flat) every OpenSim body frame is aligned with ground,
as every SMPL body frame is in the T-pose, so a body's SMPL global rotation is ``C R C^T`` with R its
OpenSim body-to-ground rotation.

| SMPL body (joint = the body's origin) | OpenSim body (its joint centre) | coordinates |
|---|---|---|
| 0 pelvis (root) | pelvis (origin: pelvis_tx/ty/tz) | pelvis_tilt, pelvis_list, pelvis_rotation, pelvis_t* |
| 1 / 2 left / right hip | femur_l / femur_r (hip centre) | hip_flexion, hip_adduction, hip_rotation |
| 3 spine1 | torso (lumbar joint; head and arms are part of it) | lumbar_extension, _bending, _rotation |
| 4 / 5 knees | tibia (its origin, which moves with the knee angle) | knee_angle |
| 7 / 8 ankles | calcn (+ talus), origin at the talocrural centre | ankle_angle and subtalar_angle together |
| 10 / 11 feet (toes) | toes (mtp centre) | mtp_angle |
| 6, 9, 12-23 | none: rigid with the torso (identity), arms hanging | |

The SMPL ankle is one ball joint, so its local rotation is the tibia -> calcn rotation (ankle then subtalar);
the calcn origin (subtalar centre) sits off the talocrural centre, so the foot's inertial parameters are
given per frame relative to the ankle joint (constant while the subtalar angle is). Joint offsets come per
frame from the model's kinematics (the knee centre translates with the knee angle).
"""

import numpy as np
import torch
from scipy.optimize import least_squares

from fip_ros.core.body_model import default_offsets
from fip_ros.core.kinematics import local_to_global
from fip_ros.core.smpl_tree import NUM_JOINTS, PARENTS
from fip_ros.data import retarget
from fip_ros.data.opensim import OsimModel

C = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # p_smpl = C p_opensim
# SMPL body -> OpenSim body whose frame it follows (its joint is that body's origin, except the ankles).
BODY_MAP = {0: "pelvis", 1: "femur_l", 2: "femur_r", 3: "torso", 4: "tibia_l", 5: "tibia_r", 7: "calcn_l",
            8: "calcn_r", 10: "toes_l", 11: "toes_r"}
# SMPL joints whose centre is another body's origin: the ankles are the talus origins.
JOINT_ORIGIN = {7: "talus_l", 8: "talus_r"}
# OpenSim bodies lumped into an SMPL body besides its own (mass, centre of mass, inertia).
LUMPED = {7: ("talus_l",), 8: ("talus_r",)}
ARM_DOWN_DEG = 80.0  # shoulder abduction from the T-pose for the arms the gait models lack (hanging)
SHOULDERS = (16, 17)


def to_smpl_axes(v: np.ndarray) -> np.ndarray:
    """Vectors (..., 3) from OpenSim axes to SMPL axes."""
    return v @ C.T


def to_opensim_axes(v: np.ndarray) -> np.ndarray:
    return v @ C


def arm_rotations(n: int, degrees: float = ARM_DOWN_DEG) -> np.ndarray:
    """Local rotations (n, 2, 3, 3) of the left / right shoulder that lower the arms from the T-pose."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    left = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])  # about +z (forward): left arm (+x) down
    right = left.T
    return np.broadcast_to(np.stack([left, right]), (n, 2, 3, 3)).copy()


def _check(model: OsimModel):
    missing = [b for b in [*BODY_MAP.values(), *JOINT_ORIGIN.values()] if b not in model.bodies]
    if missing:
        raise ValueError(f"not a gait2354-like model: no bodies {missing}")


def _opensim_smpl(model: OsimModel, poses: dict, height: float):
    """SMPL global rotations of the model's bodies (C R C^T, no rest correction) and joint positions,
    (T,24,3,3) / (T,24,3); bodies the model lacks follow the default skeleton, locals identity."""
    n = len(poses["pelvis"][1])
    skeleton = default_offsets(height).double().numpy()
    glob = np.empty((n, NUM_JOINTS, 3, 3))
    pos = np.empty((n, NUM_JOINTS, 3))
    local = np.broadcast_to(np.eye(3), (n, NUM_JOINTS, 3, 3)).copy()
    local[:, list(SHOULDERS)] = arm_rotations(n)
    for j in range(NUM_JOINTS):
        if j in BODY_MAP:
            rot = poses[BODY_MAP[j]][0]
            glob[:, j] = C @ rot @ C.T
            pos[:, j] = to_smpl_axes(poses[JOINT_ORIGIN.get(j, BODY_MAP[j])][1])
            if j:
                local[:, j] = glob[:, PARENTS[j]].transpose(0, 2, 1) @ glob[:, j]
        else:
            glob[:, j] = glob[:, PARENTS[j]] @ local[:, j]
            pos[:, j] = pos[:, PARENTS[j]] + (glob[:, PARENTS[j]] @ skeleton[j])
    local[:, 0] = glob[:, 0]
    return glob, pos, local


def rest_corrections(model: OsimModel, height: float = 1.75) -> np.ndarray:
    """Q (24,3,3): the project's rest-to-T-pose corrections (:func:`fip_ros.data.retarget.rest_corrections`)
    for the model's default pose, so that SMPL global rotations are ``C R C^T Q`` and the identity pose is
    SMPL's T-pose (legs slightly apart, toes-down feet) while the model's default pose stands straight."""
    zero = {c: np.zeros(1) for j in model.joints for c in j.coordinates}
    _, pos, _ = _opensim_smpl(model, model.forward_kinematics(zero), height)
    return retarget.rest_corrections(pos[0])


def to_smpl(model: OsimModel, coords: dict, height: float = 1.75) -> dict:
    """Joint coordinates (name -> (T,), radians / metres) -> SMPL-24 pose (float64 torch tensors):
    local_rot (T,24,3,3) relative to the SMPL T-pose (with the model's rest pose corrected as the project's
    retargeting does), offsets (T,24,3) (parent-relative, in the parent body's T-pose axes: FK with them
    reproduces the model's joint centres), root (T,3) (the pelvis origin), joint_pos (T,24,3), global_rot,
    all in SMPL axes. Bodies the model lacks (upper spine, neck, head, arms) get the default skeleton of
    ``height`` for their offsets, rigid with the torso, arms hanging."""
    _check(model)
    glob, pos, local = _opensim_smpl(model, model.forward_kinematics(coords), height)
    q = rest_corrections(model, height)
    n = len(pos)
    for j in range(NUM_JOINTS):
        if j in BODY_MAP:
            glob[:, j] = glob[:, j] @ q[j]
            if j:
                local[:, j] = glob[:, PARENTS[j]].transpose(0, 2, 1) @ glob[:, j]
        else:
            glob[:, j] = glob[:, PARENTS[j]] @ local[:, j]
    local[:, 0] = glob[:, 0]
    offsets = np.zeros((n, NUM_JOINTS, 3))
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        offsets[:, j] = (glob[:, p].transpose(0, 2, 1) @ (pos[:, j] - pos[:, p])[..., None])[..., 0]
    t = lambda x: torch.as_tensor(x, dtype=torch.float64)  # noqa: E731
    return dict(local_rot=t(local), offsets=t(offsets), root=t(pos[:, 0]), joint_pos=t(pos),
                global_rot=t(glob))


def inertial_parameters(model: OsimModel, coords: dict, height: float = 1.75) -> dict:
    """The model's segment masses, centres of mass and inertias on the SMPL bodies (float64 torch):
    mass (24,) kg, com (T,24,3) relative to the SMPL joint in the body's SMPL axes, inertia (T,24,3,3)
    about that centre of mass. Bodies without an OpenSim counterpart are massless."""
    _check(model)
    poses = model.forward_kinematics(coords)
    q = rest_corrections(model, height)
    n = len(poses["pelvis"][1])
    mass = np.zeros(NUM_JOINTS)
    com = np.zeros((n, NUM_JOINTS, 3))
    inertia = np.zeros((n, NUM_JOINTS, 3, 3))
    for j, name in BODY_MAP.items():
        rot_s, _ = poses[name]
        origin = poses[JOINT_ORIGIN.get(j, name)][1]
        parts = [model.bodies[b] for b in (name, *LUMPED.get(j, ()))]
        # Each part's centre of mass and inertia in the SMPL body's (OpenSim-axes) frame about its joint.
        m = np.array([p.mass for p in parts])
        cs, inert = [], []
        for p in parts:
            r_b, p_b = poses[p.name]
            rel = rot_s.transpose(0, 2, 1) @ r_b
            cs.append((rot_s.transpose(0, 2, 1) @ (p_b + r_b @ p.com - origin)[..., None])[..., 0])
            inert.append(rel @ p.inertia @ rel.transpose(0, 2, 1))
        c_tot = sum(mi * ci for mi, ci in zip(m, cs, strict=True)) / max(m.sum(), 1e-12)
        i_tot = 0.0
        for mi, ci, ii in zip(m, cs, inert, strict=True):
            d = ci - c_tot
            shift = (d * d).sum(-1)[:, None, None] * np.eye(3) - d[:, :, None] * d[:, None, :]
            i_tot = i_tot + ii + mi * shift  # parallel axes
        mass[j] = m.sum()
        com[:, j] = to_smpl_axes(c_tot) @ q[j]
        inertia[:, j] = q[j].T @ C @ i_tot @ C.T @ q[j]
    t = lambda x: torch.as_tensor(x, dtype=torch.float64)  # noqa: E731
    return dict(mass=t(mass), com=t(com), inertia=t(inertia))


def from_smpl(model: OsimModel, local_rot, root, initial: dict | None = None) -> dict:
    """SMPL local rotations (T,24,3,3) and root (T,3) (SMPL axes, pelvis origin) -> the model's rotational
    coordinates and pelvis translation that reproduce the mapped bodies' orientations (least squares per
    frame, started from the previous frame's answer; ``initial`` for the first). Rotations the model cannot
    take (e.g. ankle motion off the ankle and subtalar axes) are fitted as closely as the axes allow."""
    _check(model)
    glob = local_to_global(torch.as_tensor(local_rot, dtype=torch.float64)).numpy()
    root = np.asarray(root, dtype=np.float64)
    q = rest_corrections(model)
    target = {name: C.T @ glob[:, j] @ q[j].T @ C for j, name in BODY_MAP.items()}
    names = list(dict.fromkeys(c for j in model.joints for c in j.coordinates
                               if c not in ("pelvis_tx", "pelvis_ty", "pelvis_tz")))
    x = np.array([(initial or {}).get(c, 0.0) for c in names], dtype=np.float64)
    out = {c: np.zeros(len(root)) for c in names}

    def residual(q, k):
        coords = {c: np.array([v]) for c, v in zip(names, q, strict=True)}
        poses = model.forward_kinematics(coords)
        return np.concatenate([(poses[b][0][0] - target[b][k]).ravel() for b in target])

    for k in range(len(root)):
        x = least_squares(residual, x, args=(k,), xtol=1e-12, ftol=1e-12).x
        for c, v in zip(names, x, strict=True):
            out[c][k] = v
    tran = to_opensim_axes(root)
    for axis, c in enumerate(("pelvis_tx", "pelvis_ty", "pelvis_tz")):
        out[c] = tran[:, axis]
    return out
