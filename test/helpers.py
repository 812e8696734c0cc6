"""Test helpers shared by several test modules (no tests here): a random FIP checkpoint, a tiny network
config, synthetic motion clips and datasets, a fake SMPL model, Python 2 style pickles (DIP-IMU format).
Test modules import them from here, never from each other."""

import io
import json
import pickle
import socket
import struct

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from fip_ros.core.body_model import body_vector, offsets_for_body
from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.data.motion import Motion
from fip_ros.fip.checkpoint import save_checkpoint
from fip_ros.fip.config import get_config
from fip_ros.fip.model import FIP

BODY = dict(sex="male", height=1.75, arm_length=0.51, leg_length=0.84)  # synthetic_clip, fake_smpl_model
FAKE_BODY = dict(sex="male", height=1.75, arm_length=0.55, leg_length=0.85)  # fake_motion
# A network small enough to train in seconds.
TINY = {"tpose_hidden": [64, 64], "leaf_hidden": [64, 64], "dropout": 0.0, "integral_in": [32],
        "integral_lstm": 64, "integral_out": [32], "body_embed": 32, "body_in": [32], "body_lstm": 64,
        "body_out": [32], "ik_hidden": [64]}


def random_checkpoint(path) -> str:
    """Untrained weights: poses are meaningless but the whole pipeline runs as with trained ones."""
    torch.manual_seed(0)
    save_checkpoint(str(path), FIP(get_config()))
    return str(path)


def synthetic_clip(path, seconds: float = 3.0, fps: int = 60, body: dict = BODY) -> str:
    """A motion clip (docs/CONTRACTS.md) of waving arms, a bending knee and a turning pelvis, of ``body``."""
    t = np.arange(int(seconds * fps)) / fps
    rotvec = np.zeros((len(t), 24, 3))
    rotvec[:, 16, 2] = -0.6 * np.sin(np.pi * t)
    rotvec[:, 17, 2] = 0.6 * np.sin(np.pi * t)
    rotvec[:, 4, 0] = 0.5 * (1 - np.cos(np.pi * t))
    rotvec[:, 0, 1] = 0.3 * np.sin(0.5 * np.pi * t)
    local = Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_matrix().reshape(len(t), 24, 3, 3)
    np.savez(path, local_rot=local.astype(np.float32), tran=np.zeros((len(t), 3), np.float32),
             offsets=offsets_for_body(body).numpy().astype(np.float32), body=body_vector(body).numpy(),
             fps=np.array(fps), subject="test", source="synthetic", name="wave")
    return str(path)


def fake_smpl_model(path, vertices_per_joint: int = 2) -> str:
    """A tiny SMPL-format model (.npz, smplx's keys): a few vertices rigidly attached to each joint of the
    default skeleton. Stands in for the licensed SMPL files, which are never shipped."""
    from fip_ros.core.body_model import tpose_positions
    from fip_ros.core.smpl_tree import PARENTS

    rng = np.random.default_rng(0)
    k = vertices_per_joint
    joints = tpose_positions(offsets_for_body(BODY)).numpy()
    n = 24 * k
    regressor, weights = np.zeros((24, n)), np.zeros((n, 24))
    for j in range(24):
        regressor[j, k * j:k * (j + 1)] = 1.0 / k
        weights[k * j:k * (j + 1), j] = 1.0
    np.savez(path, v_template=np.repeat(joints, k, axis=0) + rng.normal(0, 0.02, (n, 3)),
             shapedirs=rng.normal(0, 0.01, (n, 3, 10)), posedirs=np.zeros((n, 3, 207)),
             J_regressor=regressor, weights=weights,
             kintree_table=np.array([[2**32 - 1 if p < 0 else p for p in PARENTS], list(range(24))]),
             f=np.array([[k * j, k * j + 1, (k * j + k) % n] for j in range(24)]))
    return str(path)


def fake_motion(frames=240, seed=0, name="fake") -> Motion:
    """Smooth swinging limbs, a turning root and a forward drift (enough structure for IMU synthesis)."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(frames, dtype=torch.float64)[:, None, None] / 60.0
    phase = torch.rand(1, 24, 3, generator=g, dtype=torch.float64) * 6.28
    aa = 0.35 * torch.sin(2 * torch.pi * 0.7 * t + phase)
    aa[:, 0] = torch.cat([0 * t[:, 0], 0.5 * t[:, 0], 0 * t[:, 0]], -1)
    tran = torch.cat([0.3 * t[:, 0], 0.95 + 0.02 * torch.sin(6 * t[:, 0]), 0.4 * t[:, 0]], -1)
    return Motion(axis_angle_to_matrix(aa).float().numpy(), tran.float().numpy(),
                  offsets_for_body(FAKE_BODY).float().numpy(), FAKE_BODY["sex"], 60.0, f"s{seed}", "fake",
                  name)


def write_fake_dataset(root, n_train=2, frames=240) -> str:
    files = {"train": [], "val": [], "test": []}
    for i in range(n_train + 2):
        split = "train" if i < n_train else ("val" if i == n_train else "test")
        name = f"clip{i}"
        fake_motion(frames, i, name).save_npz(root / f"{name}.npz")
        files[split].append(f"{name}.npz")
    (root / "index.json").write_text(json.dumps({"splits": files}))
    return str(root)


def spinning_pelvis(T=40, rate=2.0):
    """Pelvis turning about the vertical at ``rate`` rad/s, everything else in T-pose."""
    t = torch.arange(T) / 60.0
    local = torch.eye(3).repeat(T, 24, 1, 1)
    local[:, 0] = axis_angle_to_matrix(torch.stack([0 * t, rate * t, 0 * t], -1))
    return local, torch.zeros(T, 3)


class _Py2Pickler(pickle._Pickler):
    """Writes bytes and str as Python 2 ``str`` (BINSTRING), as DIP's pickles hold them: numpy buffers then
    load only with ``encoding='latin1'``."""

    def save_bytes(self, obj):
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    def save_str(self, obj):
        self.save_bytes(obj.encode("latin1"))


_Py2Pickler.dispatch = {**pickle._Pickler.dispatch, bytes: _Py2Pickler.save_bytes, str: _Py2Pickler.save_str}


def write_py2_pickle(path, data):
    """``data`` as a Python 2 pickle (protocol 2, byte strings as Python 2 ``str``), like DIP-IMU's files."""
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(data)
    path.write_bytes(buf.getvalue())
    return path


def free_ports(n: int) -> list[int]:
    """``n`` UDP ports free on 127.0.0.1 right now (the OS picks them)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports
