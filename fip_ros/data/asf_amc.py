"""ASF/AMC reader (Acclaim format, as used by CMU and HDM05).

Conventions: ``:units length L`` means 1 unit = 1/L inch; angles in degrees (``angle deg``). A bone's
``axis a b c XYZ`` gives its local frame C = Rz(c) Ry(b) Rx(a) (rotations applied in the listed order about
fixed axes); its AMC dofs give M in the same fixed-axis sense, in the order the ``dof`` line lists them; the
bone's rotation relative to its parent in the world-aligned rest frame is L = C M C^T, so the rest pose
(all L = I) is the ASF's own rest pose. Each bone becomes a joint at its start; its end, ``direction *
length`` from the start, is the start of its children, and leaf bones get an ``<name>_end`` joint.
"""

from pathlib import Path

import numpy as np
import torch

from fip_ros.core.rotations import euler_to_matrix
from fip_ros.data.motion import SourceClip

INCH = 0.0254


def _fixed_axes(order: str, deg: np.ndarray) -> np.ndarray:
    """Rotations about fixed axes applied in ``order`` ('XYZ' -> Rz Ry Rx), degrees (..., len(order))."""
    return euler_to_matrix(order[::-1], torch.from_numpy(deg[..., ::-1].copy())).numpy()


def _lines(path) -> list[str]:
    text = Path(path).read_bytes().decode("latin-1")
    return [ln.split("#")[0].strip() for ln in text.splitlines()]


def read_asf(path) -> dict:
    """Skeleton dict: bones {name: dict(direction, length, axis C, dofs)}, children, scale, root info."""
    lines = [ln for ln in _lines(path) if ln]
    scale = INCH  # Acclaim default: length 1.0 = inches
    bones: dict = {}
    children: dict = {"root": []}
    root = {"order": ["TX", "TY", "TZ", "RX", "RY", "RZ"], "axis": "XYZ", "position": np.zeros(3),
            "orientation": np.zeros(3)}
    section, bone = None, None
    for ln in lines:
        parts = ln.split()
        if ln.startswith(":"):
            section = parts[0]
            continue
        key = parts[0].lower()
        if section == ":units" and key == "length":
            scale = INCH / float(parts[1])
        elif section == ":root":
            if key == "order":
                root["order"] = [p.upper() for p in parts[1:]]
            elif key == "axis":
                root["axis"] = parts[1].upper()
            elif key in ("position", "orientation"):
                root[key] = np.array([float(v) for v in parts[1:4]])
        elif section == ":bonedata":
            if key == "begin":
                bone = {"dofs": [], "axis": np.eye(3)}
            elif key == "end":
                bones[bone["name"]] = bone
            elif key == "name":
                bone["name"] = parts[1]
            elif key == "direction":
                bone["direction"] = np.array([float(v) for v in parts[1:4]])
            elif key == "length":
                bone["length"] = float(parts[1])
            elif key == "axis":
                bone["axis"] = _fixed_axes(parts[4].upper(), np.array([float(v) for v in parts[1:4]]))
            elif key == "dof":
                bone["dofs"] = [p.lower() for p in parts[1:]]
        elif section == ":hierarchy" and key not in ("begin", "end"):
            children.setdefault(parts[0], []).extend(parts[1:])
    return {"bones": bones, "children": children, "scale": scale, "root": root}


def _read_amc(path) -> list[dict]:
    frames, cur = [], None
    for ln in _lines(path):
        if not ln or ln.startswith(":"):
            continue
        parts = ln.split()
        if len(parts) == 1 and parts[0].isdigit():
            cur = {}
            frames.append(cur)
        elif cur is not None:
            cur[parts[0]] = [float(v) for v in parts[1:]]
    return frames


def read_asf_amc(asf_path, amc_path, fps: float = 120.0, skeleton: dict | None = None) -> SourceClip:
    """Parse a clip; metres (from ``:units``). ``skeleton``: a cached :func:`read_asf` result."""
    sk = skeleton or read_asf(asf_path)
    bones, root = sk["bones"], sk["root"]
    names, parents, offsets = ["root"], [-1], [root["position"]]
    ends: list[np.ndarray] = []  # end point offset of each joint (zero for the root)
    ends.append(np.zeros(3))
    todo = [("root", 0)]
    while todo:
        parent_name, parent_idx = todo.pop(0)
        for child in sk["children"].get(parent_name, []):
            b = bones[child]
            names.append(child)
            parents.append(parent_idx)
            offsets.append(ends[parent_idx])
            ends.append(b["direction"] / np.linalg.norm(b["direction"]) * b["length"])
            todo.append((child, len(names) - 1))
    for j in range(1, len(names)):
        if names[j] not in sk["children"]:  # leaf bone: add its end point
            names.append(f"{names[j]}_end")
            parents.append(j)
            offsets.append(ends[j])
    offsets = np.asarray(offsets)

    data = _read_amc(amc_path)
    T, J = len(data), len(names)
    local = np.tile(np.eye(3), (T, J, 1, 1))
    root_pos = np.zeros((T, 3))
    for j, name in enumerate(names):
        if name == "root":
            vals = np.array([f["root"] for f in data])
            order = root["order"]
            for k, ch in enumerate(order):
                if ch.startswith("T"):
                    root_pos[:, "XYZ".index(ch[1])] = vals[:, k] + root["position"]["XYZ".index(ch[1])]
            rot_k = [k for k, ch in enumerate(order) if ch.startswith("R")]
            C = _fixed_axes(root["axis"], root["orientation"])
            M = _fixed_axes("".join(order[k][1] for k in rot_k), vals[:, rot_k])
        elif name in bones and bones[name]["dofs"]:
            dofs = bones[name]["dofs"]
            rot_k = [k for k, d in enumerate(dofs) if d.startswith("r")]
            vals = np.array([f.get(name, [0.0] * len(dofs)) for f in data])
            C = bones[name]["axis"]
            M = _fixed_axes("".join(dofs[k][1].upper() for k in rot_k), vals[:, rot_k])
        else:
            continue
        local[:, j] = C @ M @ C.T
    clip = SourceClip(names, parents, offsets, local, root_pos, fps)
    return clip.scaled(sk["scale"])
