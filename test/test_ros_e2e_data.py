"""Data for the ROS tests (no tests here): a random FIP checkpoint and a synthetic motion clip."""

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from fip_ros.core.body_model import body_vector, offsets_for_body
from fip_ros.fip.checkpoint import save_checkpoint
from fip_ros.fip.config import get_config
from fip_ros.fip.model import FIP

BODY = dict(sex="male", height=1.75, arm_length=0.51, leg_length=0.84)


def random_checkpoint(path) -> str:
    """Untrained weights: poses are meaningless but the whole pipeline runs as with trained ones."""
    torch.manual_seed(0)
    save_checkpoint(str(path), FIP(get_config()))
    return str(path)


def synthetic_clip(path, seconds: float = 3.0, fps: int = 60) -> str:
    """A motion clip (docs/CONTRACTS.md) of waving arms, a bending knee and a turning pelvis."""
    t = np.arange(int(seconds * fps)) / fps
    rotvec = np.zeros((len(t), 24, 3))
    rotvec[:, 16, 2] = -0.6 * np.sin(np.pi * t)
    rotvec[:, 17, 2] = 0.6 * np.sin(np.pi * t)
    rotvec[:, 4, 0] = 0.5 * (1 - np.cos(np.pi * t))
    rotvec[:, 0, 1] = 0.3 * np.sin(0.5 * np.pi * t)
    local = Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_matrix().reshape(len(t), 24, 3, 3)
    np.savez(path, local_rot=local.astype(np.float32), tran=np.zeros((len(t), 3), np.float32),
             offsets=offsets_for_body(BODY).numpy().astype(np.float32), body=body_vector(BODY).numpy(),
             fps=np.array(fps), subject="test", source="synthetic", name="wave")
    return str(path)
