"""Data containers: a parsed source clip (any rig) and a retargeted SMPL-24 clip (CONTRACTS.md clip file),
with its one torch view (``Motion.tensors()`` -> ``Clip``)."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from fip_ros.core.body_model import body_vector_from_offsets


@dataclass
class SourceClip:
    """A mocap clip on its own skeleton, as parsed from BVH or ASF/AMC.

    The rest pose is the pose with all local rotations identity; ``offsets`` are the rest offsets of each
    joint from its parent in the file's world axes (metres once ``scale`` has been applied, see
    :meth:`scaled`); ``local_rot`` (T, J, 3, 3) rotate each joint relative to its parent in those axes;
    ``root_pos`` (T, 3) is the root joint position.
    """

    names: list[str]
    parents: list[int]
    offsets: np.ndarray
    local_rot: np.ndarray
    root_pos: np.ndarray
    fps: float
    scale: float | None = None  # metres per file unit; None = not stated by the file

    def scaled(self, scale: float) -> "SourceClip":
        return SourceClip(self.names, self.parents, self.offsets * scale, self.local_rot,
                          self.root_pos * scale, self.fps, 1.0)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def global_rot(self) -> np.ndarray:
        out = np.empty_like(self.local_rot)
        for j, p in enumerate(self.parents):
            out[:, j] = self.local_rot[:, j] if p < 0 else out[:, p] @ self.local_rot[:, j]
        return out

    def positions(self, glob: np.ndarray | None = None) -> np.ndarray:
        """(T, J, 3) joint positions (file axes)."""
        glob = self.global_rot() if glob is None else glob
        pos = np.empty(glob.shape[:2] + (3,))
        for j, p in enumerate(self.parents):
            pos[:, j] = self.root_pos if p < 0 else pos[:, p] + glob[:, p] @ self.offsets[j]
        return pos

    def rest_positions(self) -> np.ndarray:
        """(J, 3) joint positions of the rest pose, root at the origin."""
        pos = np.zeros((len(self.names), 3))
        for j, p in enumerate(self.parents):
            if p >= 0:
                pos[j] = pos[p] + self.offsets[j]
        return pos


@dataclass
class Clip:
    """The torch view of a :class:`Motion` (what training and evaluation consume)."""

    local_rot: torch.Tensor  # (T, 24, 3, 3)
    tran: torch.Tensor  # (T, 3)
    offsets: torch.Tensor  # (24, 3)
    body: torch.Tensor  # (4,) body vector, measured from the offsets
    name: str

    @property
    def frames(self) -> int:
        return self.local_rot.shape[0]


@dataclass
class Motion:
    """One retargeted clip in the CONTRACTS.md clip-file format (60 Hz, SMPL frame y up)."""

    local_rot: np.ndarray  # (T, 24, 3, 3) float32
    tran: np.ndarray  # (T, 3) float32 pelvis position
    offsets: np.ndarray  # (24, 3) float32 T-pose offsets
    sex: str = "male"  # 'male' | 'female'
    fps: float = 60.0
    subject: str = ""
    source: str = ""
    name: str = ""
    extra: dict = field(default_factory=dict)  # not saved; e.g. IMU arrays of a dataset loader

    @property
    def frames(self) -> int:
        return int(self.local_rot.shape[0])

    @property
    def body(self) -> np.ndarray:
        """(4,) float32 body vector, measured from ``offsets`` (``body_vector_from_offsets``)."""
        offsets = torch.as_tensor(np.asarray(self.offsets), dtype=torch.float64)
        return body_vector_from_offsets(offsets, self.sex).numpy().astype(np.float32)

    def tensors(self, dtype=torch.float32) -> Clip:
        """The clip as tensors of ``dtype``."""
        return Clip(*(torch.as_tensor(np.asarray(x), dtype=dtype)
                      for x in (self.local_rot, self.tran, self.offsets, self.body)), self.name)

    def save_npz(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path, local_rot=np.asarray(self.local_rot, np.float32), tran=np.asarray(self.tran, np.float32),
            offsets=np.asarray(self.offsets, np.float32), body=np.asarray(self.body, np.float32),
            fps=np.array(self.fps), subject=np.array(self.subject), source=np.array(self.source),
            name=np.array(self.name))
        return path

    @classmethod
    def load_npz(cls, path) -> "Motion":
        with np.load(path) as z:
            return cls(local_rot=z["local_rot"], tran=z["tran"], offsets=z["offsets"],
                       sex="male" if float(z["body"][0]) >= 0.5 else "female", fps=float(z["fps"]),
                       subject=str(z["subject"]), source=str(z["source"]), name=str(z["name"]))
