"""Retargeting a parsed source clip (any rig in ``joint_maps.yaml``) to SMPL-24.

Method (rest-pose corrections, then a per-frame swing fix):
1. Units: the rig's ``units`` from the map, else the file's (ASF ``:units``), else the unit among m, cm, inch
   and CMU ASF units that makes the skeleton's tree diameter (fingertip to fingertip through the body, pose
   independent) closest to 1.7 m.
2. Axis alignment A (source world -> SMPL frame) from the rest pose: up = pelvis -> head, left = right hip ->
   left hip, forward = left x up; each snapped to the nearest file axis when within 25 degrees.
3. Rest-to-T-pose corrections Q_j (constant per SMPL joint) such that the SMPL global rotation is
   G_j(t) = A R_s(t) A^T Q_j, with R_s the global rotation of the joint's rotation source: Q_j rotates the
   T-pose bone directions of the default skeleton (``fip_ros.core.body_model``) onto the rig's rest-pose bone
   directions, each as the parent's correction followed by a minimal arc in the parent's T-pose frame (so
   twist is inherited down a chain): of the left-right axis between the side children for branching joints
   (pelvis, spine3; the rig's pelvis/chest pitch at rest is taken as the T-pose's, since rigs disagree on
   where the spine starts), of the bone direction for one child (near-antiparallel bones, e.g. CC_Base
   legs pointing up in the rest pose, first turn 180 degrees about
   z, or x for bones along z, i.e. keep the facing); SMPL leaves (head, hands, feet) keep their parent's
   correction (their rest pose is aligned with the parent's); plus an optional ``twist`` per joint.
   So local rotations are relative to the SMPL T-pose (identity = T-pose) whatever the rig's rest pose.
4. Offsets: the rig's rest bone vectors in the T-pose frame, offsets_c = Q_p^T A (rest_c - rest_p), so FK
   with them reproduces the rig's joint positions. Joints between mapped ones (e.g. CMU upperneck) are
   absorbed by a per-frame swing of single-child bones onto the actual direction to the child joint.
5. Resampling to 60 Hz (``resample``).
6. Feet flat in stance (``flatten_feet``): the physics layer's sole model (contacts, centre of pressure) puts
   the sole a fixed fraction of height under SMPL's ankle and ball joints, while rigs place those joints
   differently (cmu-iclone's ball joint sits high: copied as they are, its feet stood 15-17 degrees toes-up
   on flat ground, ball sole point ~4 cm in the air). Both ankles turn by one constant pitch about the
   foot's lateral axis so that in the clip's flat, still stance frames the ankle -> ball bone has its
   T-pose elevation (median over the frames of both feet); clips without such frames are left as they are.
   Only the ball (SMPL foot) joints move, by a few cm.
7. Floor at y = 0 under the lowest foot joint of the clip.
Before all this, root jumps faster than ``MAX_ROOT_SPEED`` split the clip and only the longest piece is kept
(cmu-iclone 007_03..007_12 start with one rest frame at the origin, 2-3 m from the take: kept, its jump
made the pelvis cover 0.6x the distance the legs walk).
"""

from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import yaml

from fip_ros.core.body_model import DEFAULT_OFFSET_FRACTIONS
from fip_ros.core.kinematics import forward_kinematics, global_to_local
from fip_ros.core.resample import resample
from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.core.smpl_tree import JOINT_NAMES, MIRROR, PARENTS
from fip_ros.data.motion import Motion, SourceClip

MAPS_PATH = Path(__file__).with_name("joint_maps.yaml")
CHILDREN = [[c for c, p in enumerate(PARENTS) if p == j] for j in range(len(PARENTS))]
UNIT_CANDIDATES = (1.0, 0.01, 0.0254, 0.0254 / 0.45)
NOMINAL_DIAMETER = 1.7
FOOT_JOINTS = (7, 8, 10, 11)
MAX_ROOT_SPEED = 15.0  # m/s, above any human run: a faster root move between frames is an edit
# Flat, still stance: ankle and ball joints both slower than FLAT_SPEED and within FLAT_RISE of their lowest
# height in the clip, for at least MIN_FLAT_FRAMES frames of the two feet together.
FLAT_SPEED, FLAT_RISE, MIN_FLAT_FRAMES = 0.15, 0.02, 10
FOOT_BONES = ((7, 10), (8, 11))  # (ankle, ball) per side
_SNAP_COS = np.cos(np.radians(25.0))
_ANTIPARALLEL_COS = np.cos(np.radians(120.0))


@lru_cache
def load_joint_maps(path: str | None = None) -> dict:
    return yaml.safe_load(Path(path or MAPS_PATH).read_text())["rigs"]


def detect_rig(names) -> str:
    names = set(names)
    for rig, spec in load_joint_maps().items():
        if all(n in names for n in spec["detect"]):
            return rig
    raise ValueError(f"no joint map matches this skeleton (first joints: {sorted(names)[:8]})")


def tree_diameter(clip: SourceClip) -> float:
    """Longest path between two joints along the bones (rest-pose independent), in file units."""
    n = len(clip.names)
    length = np.linalg.norm(clip.offsets, axis=1)
    depth = np.zeros(n)  # longest downward path from each joint
    best = 0.0
    for j in reversed(range(1, n)):  # children come after parents in both parsers
        p = clip.parents[j]
        cand = depth[j] + length[j]
        best = max(best, depth[p] + cand)
        depth[p] = max(depth[p], cand)
    return best


def infer_scale(clip: SourceClip) -> float:
    d = tree_diameter(clip)
    return min(UNIT_CANDIDATES, key=lambda s: abs(np.log(d * s / NOMINAL_DIAMETER)))


def longest_continuous(clip: SourceClip) -> SourceClip:
    """The longest run of frames without a root jump faster than ``MAX_ROOT_SPEED`` (clip in metres)."""
    speed = np.linalg.norm(np.diff(clip.root_pos, axis=0), axis=1) * clip.fps
    bounds = np.r_[0, np.flatnonzero(speed > MAX_ROOT_SPEED) + 1, len(clip.root_pos)]
    k = int(np.argmax(np.diff(bounds)))
    if bounds[k + 1] - bounds[k] == len(clip.root_pos):
        return clip
    keep = slice(bounds[k], bounds[k + 1])
    return replace(clip, local_rot=clip.local_rot[keep], root_pos=clip.root_pos[keep])


def _spec(entry) -> tuple:
    """Joint-map entry -> (pos names, pos weights, rotation source name, twist degrees)."""
    if isinstance(entry, str):
        return [entry], [1.0], entry, 0.0
    pos = entry["pos"]
    if isinstance(pos, str):
        names, weights = [pos], [1.0]
    else:
        names, weights = pos[:2], [1.0 - float(pos[2]), float(pos[2])]
    return names, weights, entry.get("rot", names[0]), float(entry.get("twist", 0.0))


def _rot_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimal-arc rotation(s) taking unit vectors a onto b, (..., 3) -> (..., 3, 3)."""
    axis = np.cross(a, b)
    s = np.linalg.norm(axis, axis=-1, keepdims=True)
    c = np.sum(a * b, -1, keepdims=True)
    angle = np.arctan2(s, c)
    axis = np.where(s > 1e-9, axis / np.maximum(s, 1e-12), 0.0)
    return _axis_angle(axis, angle[..., 0])


def _axis_angle(axis: np.ndarray, angle) -> np.ndarray:
    return axis_angle_to_matrix(torch.from_numpy(np.asarray(axis * np.asarray(angle)[..., None],
                                                            dtype=np.float64))).numpy()


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _snap(v: np.ndarray) -> np.ndarray:
    k = int(np.argmax(np.abs(v)))
    if abs(v[k]) >= _SNAP_COS:
        out = np.zeros(3)
        out[k] = np.sign(v[k])
        return out
    return v


def axis_alignment(rest24: np.ndarray) -> np.ndarray:
    """(24, 3) rest joint positions (source axes) -> A (3, 3) with rows = source directions of x, y, z."""
    up = _snap(_unit(rest24[15] - rest24[0]))
    left = rest24[1] - rest24[2]
    left = _snap(_unit(left - left @ up * up))
    return np.stack([left, up, np.cross(left, up)])


def rest_corrections(rest24: np.ndarray, twist_deg=None) -> np.ndarray:
    """(24, 3) rest positions in the SMPL frame -> Q (24, 3, 3) rest-to-T-pose corrections (module doc)."""
    tpose = DEFAULT_OFFSET_FRACTIONS.numpy()
    Q = np.tile(np.eye(3), (24, 1, 1))
    for j, children in enumerate(CHILDREN):
        parent_q = Q[PARENTS[j]] if j else np.eye(3)
        # Zero-length rest bones (joints a rig places on top of each other) carry no direction.
        children = [c for c in children if np.linalg.norm(rest24[c] - rest24[j]) > 1e-6]
        if not children:  # leaves keep their parent's correction (rest pose aligned with the parent)
            Q[j] = parent_q
            continue
        lateral = [c for c in children if MIRROR[c] != c and MIRROR[c] in children]
        # Branching joint (pelvis, spine3): the left-right axis between its side children.
        if lateral and np.linalg.norm(rest24[lateral[0]] - rest24[MIRROR[lateral[0]]]) > 1e-6:
            left, right = lateral[0], MIRROR[lateral[0]]
            t = _unit(tpose[left] - tpose[right])
            r = parent_q.T @ _unit(rest24[left] - rest24[right])
            Q[j] = parent_q @ _rot_between(t, r)
            continue
        # One child: minimal arc in the parent's T-pose frame, so the twist follows the parent's.
        # (Children starting at one point, e.g. the CMU thorax's, act as one.)
        t = _unit(tpose[children].mean(0))
        r = parent_q.T @ _unit(rest24[children].mean(0) - rest24[j])
        if t @ r < _ANTIPARALLEL_COS:  # keep the facing: half turn about z (x for bones along z) first
            flip_axis = np.eye(3)[0] if abs(t[2]) > 0.7 else np.eye(3)[2]
            half = _axis_angle(_unit(flip_axis - flip_axis @ t * t), np.pi)
            Q[j] = parent_q @ _rot_between(half @ t, r) @ half
        else:
            Q[j] = parent_q @ _rot_between(t, r)
        if twist_deg is not None and twist_deg[j]:
            Q[j] = Q[j] @ _axis_angle(t, np.radians(twist_deg[j]))
    return Q


def _elevation(v: np.ndarray) -> np.ndarray:
    return np.arcsin(np.clip(v[..., 1] / np.linalg.norm(v, axis=-1), -1.0, 1.0))


def flatten_feet(local: np.ndarray, offsets: np.ndarray, tran: np.ndarray, fps: float) -> np.ndarray:
    """Local rotations (T, 24, 3, 3) with both ankles turned by the constant pitch that gives the ankle ->
    ball bone its T-pose elevation in flat, still stance (module doc, step 6; one pitch for both feet, as rigs
    are mirror-symmetric and a short walk has few flat frames per foot). Returns a new array."""
    pos = forward_kinematics(torch.from_numpy(local), torch.from_numpy(offsets),
                             torch.from_numpy(tran))[1].numpy()
    speed = np.linalg.norm(np.gradient(pos, axis=0), axis=-1) * fps
    elevation, turns = [], []
    for ankle, ball in FOOT_BONES:
        joints = [ankle, ball]
        flat = ((speed[:, joints] < FLAT_SPEED).all(-1)
                & (pos[:, joints, 1] - pos[:, joints, 1].min(0) < FLAT_RISE).all(-1))
        bone = offsets[ball] / np.linalg.norm(offsets[ball])
        elevation.append(_elevation(pos[flat, ball] - pos[flat, ankle]) - _elevation(bone))
        turns.append(_unit(np.cross([0.0, 1.0, 0.0], bone)))  # ankle frame: +pitch about it lowers the ball
    elevation = np.concatenate(elevation)
    if len(elevation) < MIN_FLAT_FRAMES:
        return local
    pitch = np.median(elevation)
    out = local.copy()
    for (ankle, _), lateral in zip(FOOT_BONES, turns, strict=True):
        out[:, ankle] = local[:, ankle] @ _axis_angle(lateral, pitch)
    return out


def retarget(clip: SourceClip, rig: str | None = None, target_fps: float = 60.0, sex: str = "male",
             subject: str = "", source: str = "", name: str = "") -> Motion:
    """Source clip -> SMPL-24 Motion (60 Hz, metres, y up, floor at y = 0, identity = T-pose)."""
    rig = rig or detect_rig(clip.names)
    spec = load_joint_maps()[rig]
    if clip.scale is None:
        clip = clip.scaled(spec.get("units") or infer_scale(clip))
    clip = longest_continuous(clip)
    specs = [_spec(spec["joints"][n]) for n in JOINT_NAMES]
    idx = {n: i for i, n in enumerate(clip.names)}
    missing = sorted({n for s in specs for n in (*s[0], s[2]) if n not in idx})
    if missing:
        raise ValueError(f"rig {rig}: joints missing in the file: {missing}")

    def pick(pos):  # (..., J, 3) source positions -> (..., 24, 3) mapped positions
        return np.stack([sum(w * pos[..., idx[n], :] for n, w in zip(s[0], s[1], strict=True))
                         for s in specs], -2)

    rest = pick(clip.rest_positions())
    A = axis_alignment(rest)
    rest = rest @ A.T
    Q = rest_corrections(rest, [s[3] for s in specs])
    offsets = np.zeros((24, 3))
    for c in range(1, 24):
        p = PARENTS[c]
        offsets[c] = Q[p].T @ (rest[c] - rest[p])

    glob_src = clip.global_rot()
    pos = pick(clip.positions(glob_src)) @ A.T
    glob = A @ glob_src[:, [idx[s[2]] for s in specs]] @ A.T @ Q
    for j, children in enumerate(CHILDREN):
        # Swing single-child bones onto the actual direction to their child joint.
        if len(children) == 1 and np.linalg.norm(offsets[children[0]]) > 1e-6:
            c = children[0]
            pred = _unit(glob[:, j] @ offsets[c])
            glob[:, j] = _rot_between(pred, _unit(pos[:, c] - pos[:, j])) @ glob[:, j]
    local = global_to_local(torch.from_numpy(glob)).numpy()
    local, tran = resample(local, pos[:, 0], clip.fps, target_fps)
    local = flatten_feet(local, offsets, tran, target_fps)

    off_t = torch.from_numpy(offsets)
    joints = forward_kinematics(torch.from_numpy(local), off_t, torch.from_numpy(tran))[1].numpy()
    tran = tran - np.array([0.0, joints[:, FOOT_JOINTS, 1].min(), 0.0])
    return Motion(local.astype(np.float32), tran.astype(np.float32), offsets.astype(np.float32), sex,
                  target_fps, subject, source, name)
