"""What fip-view draws: one person over time (a Track), in the global SMPL frame (y up, metres).

A Track holds joint positions and, where known, foot contacts, ground-reaction forces at the centres of
pressure and joint moments. Built from a motion clip file (docs/CONTRACTS.md; the dynamics come from the
file's optional keys, else from :func:`fip_ros.physics.dynamics_estimator.analyse` of the clip), or frame by
frame from the ROS messages (fip_ros.ros.view_source).
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REQUIRED = {"local_rot": (None, 24, 3, 3), "tran": (None, 3), "offsets": (24, 3), "body": (4,), "fps": ()}
# Optional per-frame dynamics of a clip file (SMPL frame): what the demo writes from the dynamics node.
DYNAMICS = {"contact": (None, 2), "grf": (None, 2, 3), "cop": (None, 2, 3), "moments": (None, 24, 3)}
MASS = 75.0  # kg, the dynamics node's fallback mass, for clips without dynamics


@dataclass
class Track:
    """(T, ...) arrays; NaN rows where a frame has no value (e.g. dynamics before the filter's delay)."""

    name: str
    times: np.ndarray  # (T,) seconds from the track's first frame
    joints: np.ndarray  # (T, 24, 3)
    contact: np.ndarray | None = None  # (T, 2) left/right contact probability
    grf: np.ndarray | None = None  # (T, 2, 3) N
    cop: np.ndarray | None = None  # (T, 2, 3) m
    moments: np.ndarray | None = None  # (T, 24, 3) N m, parent on child, world axes
    vertices: np.ndarray | None = None  # (T, V, 3) mesh, with ``faces``
    faces: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.times)

    def index_at(self, t: float) -> int:
        """The last frame at or before ``t`` seconds (the first one before the track starts)."""
        return int(np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, len(self.times) - 1))

    def frame(self, i: int) -> dict:
        """Frame ``i`` as a dict of arrays (keys of the fields that are set)."""
        keys = ("joints", "contact", "grf", "cop", "moments", "vertices")
        return {k: getattr(self, k)[i] for k in keys if getattr(self, k) is not None}


def _check(name: str, arr: np.ndarray, shape: tuple, path) -> np.ndarray:
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape, strict=True)):
        raise ValueError(f"{path}: '{name}' has shape {arr.shape}, expected {shape} (None: any length)")
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{path}: '{name}' is not numeric ({arr.dtype})")
    return arr.astype(np.float64)


def load_clip(path, mass: float = MASS, smpl=None) -> Track:
    """A motion clip file (.npz, CONTRACTS.md) -> Track; ValueError with the reason for any other file.

    smpl: a :class:`fip_ros.core.smpl_model.SmplBody` to add the posed mesh (shape fitted to the clip's body).
    Nothing in the file is executed (no pickles)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            raw = {k: z[k] for k in z.files if k in REQUIRED or k in DYNAMICS or k == "name"}
    except Exception as exc:  # noqa: BLE001 (missing, truncated, not a zip, pickled objects: one clear line)
        raise ValueError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from exc
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise ValueError(f"{path}: not a motion clip file (missing {', '.join(missing)})")
    arrays = {k: _check(k, raw[k], s, path) for k, s in {**REQUIRED, **DYNAMICS}.items() if k in raw}
    name = str(raw["name"]) if "name" in raw and raw["name"].dtype.kind == "U" else path.stem
    frames, fps = len(arrays["local_rot"]), float(arrays["fps"])
    if frames < 1 or len(arrays["tran"]) != frames or not 1.0 <= fps <= 1000.0:
        raise ValueError(f"{path}: {frames} frames, {len(arrays['tran'])} positions at {fps} Hz")
    if not all(np.isfinite(arrays[k]).all() for k in REQUIRED):
        raise ValueError(f"{path}: non-finite rotations, positions or offsets")
    for k in DYNAMICS:
        if k in arrays and len(arrays[k]) != frames:
            raise ValueError(f"{path}: '{k}' has {len(arrays[k])} frames, the clip {frames}")
    return _track(name, arrays, fps, mass, smpl)


def _track(name: str, a: dict, fps: float, mass: float, smpl) -> Track:
    import torch

    from fip_ros.core.body_model import body_dict
    from fip_ros.core.kinematics import forward_kinematics

    rot = torch.as_tensor(a["local_rot"], dtype=torch.float64)
    off = torch.as_tensor(a["offsets"], dtype=torch.float64)
    tran = torch.as_tensor(a["tran"], dtype=torch.float64)
    _, joints = forward_kinematics(rot, off, tran)
    track = Track(name, np.arange(len(rot)) / fps, joints.numpy(), meta=dict(fps=fps))
    if "contact" in a or "grf" in a or "moments" in a:
        track.contact, track.grf, track.cop, track.moments = (a.get(k) for k in DYNAMICS)
    elif len(rot) >= 20:  # the offline analysis of the clip's own kinematics (too short: no derivatives)
        body = body_dict(a["body"])
        out = clip_dynamics(rot, tran, off, joints, body, mass, fps)
        track.contact, track.grf, track.cop, track.moments = (out[k].numpy() for k in DYNAMICS)
    if smpl is not None:
        betas = smpl.fit_betas(body_dict(a["body"]))
        track.vertices = smpl.vertices(rot, betas, tran).numpy()
        track.faces = smpl.faces
    return track


def clip_dynamics(rot, tran, off, joints, body: dict, mass: float, fps: float) -> dict:
    """Contacts, GRF, CoP and joint moments of measured kinematics (the clip's pelvis path)."""
    from fip_ros.physics.contact import contact_from_trajectory
    from fip_ros.physics.dynamics_estimator import analyse
    from fip_ros.physics.segments import build_segments

    seg = build_segments(off, mass, body["height"], body["sex"])
    _, contact, floor = contact_from_trajectory(joints, body["height"], fps)
    return analyse(rot, tran, contact, off, seg, fps, window=11, floor=floor)
