"""BVH reader: hierarchy with any per-joint Euler channel order (intrinsic, as listed), End Sites as joints.

Tolerates Latin-1 bytes, CRLF line ends and tabs. BVH states no unit, so ``scale`` stays None unless given.
End Sites become joints named ``<parent>_end`` without channels (they carry the toe/finger tips).
"""

from pathlib import Path

import numpy as np
import torch

from fip_ros.core.rotations import euler_to_matrix
from fip_ros.data.motion import SourceClip


def _euler(order: str, deg: np.ndarray) -> np.ndarray:
    return euler_to_matrix(order, torch.from_numpy(deg)).numpy()


def read_bvh(path, scale: float | None = None) -> SourceClip:
    tokens = Path(path).read_bytes().decode("latin-1").split()
    names, parents, offsets, channels = [], [], [], []
    stack: list[int] = []
    i = tokens.index("HIERARCHY") + 1
    while tokens[i] != "MOTION":
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            channels.append([])
            i += 2
        elif tok == "End":  # "End Site"
            names.append(f"{names[stack[-1]]}_end")
            parents.append(stack[-1])
            channels.append([])
            i += 2
        elif tok == "{":
            stack.append(len(names) - 1)
            i += 1
        elif tok == "}":
            stack.pop()
            i += 1
        elif tok == "OFFSET":
            offsets.append([float(v) for v in tokens[i + 1:i + 4]])
            i += 4
        elif tok == "CHANNELS":
            n = int(tokens[i + 1])
            channels[-1] = tokens[i + 2:i + 2 + n]
            i += 2 + n
        else:
            raise ValueError(f"{path}: unexpected token {tok!r} in HIERARCHY")
    frames = int(tokens[tokens.index("Frames:", i) + 1])
    k = tokens.index("Time:", i)
    frame_time = float(tokens[k + 1])
    n_chan = sum(len(c) for c in channels)
    values = np.asarray(tokens[k + 2:k + 2 + frames * n_chan], dtype=np.float64)
    if values.size != frames * n_chan:
        frames = values.size // n_chan  # truncated file: keep the complete frames
        values = values[:frames * n_chan]
    values = values.reshape(frames, n_chan)

    n = len(names)
    offsets = np.asarray(offsets, dtype=np.float64)
    local = np.tile(np.eye(3), (frames, n, 1, 1))
    root_pos = np.tile(offsets[0], (frames, 1))
    col = 0
    for j, chans in enumerate(channels):
        rot_axes = "".join(c[0].upper() for c in chans if c.lower().endswith("rotation"))
        rot_cols = [col + c for c, name in enumerate(chans) if name.lower().endswith("rotation")]
        for c, name in enumerate(chans):
            if name.lower().endswith("position"):
                # Position channels replace the joint's offset (the root's translation).
                axis = "XYZ".index(name[0].upper())
                if j == 0:
                    root_pos[:, axis] = values[:, col + c]
        if rot_axes:
            local[:, j] = _euler(rot_axes, values[:, rot_cols])
        col += len(chans)
    clip = SourceClip(names, parents, offsets, local, root_pos, 1.0 / frame_time)
    return clip if scale is None else clip.scaled(scale)
