"""Reader of CMU exponential-map text clips (``cmu-expmap``: one frame a line, 117 comma-separated numbers).

Facts of the format (``../shared/data/mocap/README.md``): columns 0-2 the root position in CMU ASF units
(1 unit = 0.056444 m), Y up; then 38 exponential maps (axis x angle, radians), one per node of the tree in
``skeleton.json`` (``parent``, ``offset_asf_units``: the node's offset from its parent in the parent's
frame). Row vectors: a node's global rotation is ``R_i R_parent`` and its position ``offset_i R_parent +
p_parent``. With column vectors (``SourceClip``) that is ``G_i = G_parent R_i^T``, so each node's local
rotation is ``R_i^T = expmap(-r_i)``; the rest pose (all maps zero) is the skeleton's own T-pose.
Leading frames whose root map is exactly zero are the publisher's rest-pose frame, not motion: dropped.
"""

import json
from pathlib import Path

import numpy as np
import torch

from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.data.motion import SourceClip

ASF_UNIT = 0.0254 / 0.45  # m per CMU ASF length unit (:units length 0.45)
EXPMAP_FPS = 120.0
# Node names, in skeleton.json order. A node sits where its offset ends; its rotation drives its children's
# offsets. *_branch nodes have zero length: they carry the rotation of a bone leaving a branching point.
NODE_NAMES = (
    "root", "lhip_branch", "lhip", "lknee", "lankle", "lball", "ltoe",
    "rhip_branch", "rhip", "rknee", "rankle", "rball", "rtoe",
    "spine_branch", "lowerback", "upperback", "neck_branch", "lowerneck", "upperneck", "head",
    "lclavicle", "lshoulder", "lelbow", "lwrist", "lhand_branch", "lhand", "lfingers", "lthumb_branch",
    "lthumb", "rclavicle", "rshoulder", "relbow", "rwrist", "rhand_branch", "rhand", "rfingers",
    "rthumb_branch", "rthumb",
)
COLUMNS = 3 + 3 * len(NODE_NAMES)


def read_skeleton(path) -> tuple[list[int], np.ndarray]:
    """``skeleton.json`` -> (parents, offsets (38, 3) in ASF units); ValueError if it does not fit."""
    spec = json.loads(Path(path).read_text())
    parents = [int(p) for p in spec["parent"]]
    offsets = np.asarray(spec["offset_asf_units"], dtype=np.float64)
    if len(parents) != len(NODE_NAMES) or offsets.shape != (len(NODE_NAMES), 3):
        raise ValueError(f"{path}: expected {len(NODE_NAMES)} nodes with 3-vector offsets")
    if parents[0] != -1 or any(not 0 <= p < j for j, p in enumerate(parents[1:], 1)):
        raise ValueError(f"{path}: parents must precede their children, root first")
    return parents, offsets


def read_expmap(path, skeleton=None, fps: float = EXPMAP_FPS) -> SourceClip:
    """One ``.txt`` clip -> SourceClip in metres (``skeleton``: path of skeleton.json, default the one two
    folders up, as in ``cmu-expmap/{train,test}/<action>/``)."""
    path = Path(path)
    parents, offsets = read_skeleton(skeleton or path.parents[2] / "skeleton.json")
    rows = [ln for ln in path.read_text(encoding="latin-1").splitlines() if ln.strip()]
    try:
        values = np.array([[float(v) for v in ln.split(",")] for ln in rows], dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{path}: not comma-separated numbers ({exc})") from None
    if values.ndim != 2 or values.shape[1] != COLUMNS:
        raise ValueError(f"{path}: expected {COLUMNS} numbers a line, got {values.shape[-1]}")
    if not np.isfinite(values).all():
        raise ValueError(f"{path}: non-finite values")
    rest = 0
    while rest < len(values) and not values[rest, 3:6].any():
        rest += 1
    values = values[rest:]
    if not len(values):
        raise ValueError(f"{path}: no motion frames (only rest-pose frames)")
    maps = values[:, 3:].reshape(len(values), len(NODE_NAMES), 3)
    local = axis_angle_to_matrix(torch.from_numpy(-maps)).numpy()
    root_pos = (values[:, :3] + offsets[0]) * ASF_UNIT
    return SourceClip(list(NODE_NAMES), parents, offsets * ASF_UNIT, local, root_pos, fps, 1.0)
