"""Training windows from clip npz files, with IMU signals synthesised per batch (after augmentation).

A batch is a dict of tensors: ``acc`` (B, T, 6, 3), ``ori`` (B, T, 6, 3, 3), ``body`` (B, 4), ``init_pose``
(B, 15, 3, 3) root-relative global rotations, and the ground truth ``local_rot`` (B, T, 24, 3, 3) and
``offsets`` (B, 24, 3) from which losses.targets_from_pose derives every supervised quantity.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from fip_ros.core.body_model import body_vector_from_offsets
from fip_ros.core.calibration import calibration_pose_local_rot
from fip_ros.core.imu_synthesis import STENCIL, ImuCorruption, corrupt, synthesize
from fip_ros.core.kinematics import local_to_global
from fip_ros.core.smpl_tree import ESTIMATED_JOINTS
from fip_ros.data.motion import Motion
from fip_ros.training import augment
from fip_ros.training.augment import AugmentConfig


@dataclass
class Clip:
    local_rot: torch.Tensor  # (T, 24, 3, 3)
    tran: torch.Tensor  # (T, 3)
    offsets: torch.Tensor  # (24, 3)
    body: torch.Tensor  # (4,)
    name: str

    @property
    def frames(self) -> int:
        return self.local_rot.shape[0]


def clip_paths(data_dir, split: str) -> list[Path]:
    """Clip files of one split, from the builder's index JSON (``index.json``, a ``splits`` mapping)."""
    data_dir = Path(data_dir)
    index = json.loads((data_dir / "index.json").read_text())
    return [data_dir / f for f in index["splits"][split]]


def load_clip(path) -> Clip:
    m = Motion.load_npz(path)
    if round(m.fps) != 60:
        raise ValueError(f"{path}: clips must be 60 Hz, got {m.fps}")
    f32 = torch.float32
    return Clip(torch.as_tensor(m.local_rot, dtype=f32), torch.as_tensor(m.tran, dtype=f32),
                torch.as_tensor(m.offsets, dtype=f32), torch.as_tensor(m.body, dtype=f32),
                m.name or Path(path).stem)


def load_split(data_dir, split: str) -> list[Clip]:
    return [load_clip(p) for p in clip_paths(data_dir, split)]


def root_relative_rot15(local_rot: torch.Tensor) -> torch.Tensor:
    """(..., 24, 3, 3) local rotations -> (..., 15, 3, 3) root-relative globals of ESTIMATED_JOINTS."""
    rel = local_rot.clone()
    rel[..., 0, :, :] = torch.eye(3, dtype=local_rot.dtype)
    return local_to_global(rel)[..., list(ESTIMATED_JOINTS), :, :]


def imu_from_motion(local_rot: torch.Tensor, offsets: torch.Tensor, tran: torch.Tensor):
    """Synthesised (acc, ori) for (B, T, ...) motion; the first and last STENCIL frames are cropped off."""
    imu = synthesize(local_rot, offsets, tran, fps=60, stencil=STENCIL)
    return imu["acc"][:, STENCIL:-STENCIL], imu["ori"][:, STENCIL:-STENCIL]


class WindowSampler:
    """Random augmented windows of ``window`` frames (plus synthesis margins) drawn from clips."""

    def __init__(self, clips: list[Clip], window: int = 180, augment_cfg: AugmentConfig | None = None,
                 corruption: ImuCorruption | None = None, seed: int = 0):
        """augment_cfg None: no augmentation; corruption None: clean IMUs."""
        self.clips = clips
        self.window = window
        self.aug = augment_cfg
        self.corruption = corruption
        self.g = torch.Generator().manual_seed(seed)
        lengths = torch.tensor([float(c.frames) for c in clips])
        self.weights = lengths / lengths.sum()  # long clips are sampled proportionally more often

    def _rand(self) -> float:
        return float(torch.rand((), generator=self.g))

    def _one(self):
        n = self.window + 2 * STENCIL
        clip = self.clips[int(torch.multinomial(self.weights, 1, generator=self.g))]
        aug = self.aug
        speed = augment._uniform(aug.speed, self.g) if aug else 1.0
        span = max(clip.frames - 1 - speed * (n - 1), 0.0)  # short clips are padded by holding the last frame
        rot, tran = augment.resample(clip.local_rot, clip.tran, speed, n, start=self._rand() * span)
        offsets, sex = clip.offsets, clip.body[0]
        if aug and self._rand() < aug.mirror_p:
            rot, tran, offsets = augment.mirror(rot, tran, offsets)
        if aug:
            offsets, tran = augment.scale_body(offsets, tran, aug, self.g)
        body = body_vector_from_offsets(offsets, sex)
        if aug and self._rand() < aug.calib_start_p:
            # the subject holds the calibration pose only approximately; init_pose claims the exact pose
            pose = aug.calib_poses[int(torch.randint(len(aug.calib_poses), (), generator=self.g))]
            calib = calibration_pose_local_rot(pose)
            held = calib @ augment.random_small_rotation((24,), aug.init_noise_deg, self.g)
            hold = aug.calib_hold + STENCIL
            rot, tran = augment.prepend_calibration(rot, tran, held, hold, aug.calib_blend)
            init = root_relative_rot15(calib)
        else:
            init = root_relative_rot15(rot[STENCIL])
            if aug:
                init = init @ augment.random_small_rotation((15,), aug.init_noise_deg, self.g)
        return rot, tran, offsets, body, init

    def sample(self, batch: int) -> dict:
        rot, tran, offsets, body, init = (torch.stack(x) for x in zip(*[self._one() for _ in range(batch)],
                                                                      strict=True))
        acc, ori = imu_from_motion(rot, offsets, tran)
        if self.corruption is not None:
            acc, ori = corrupt(acc, ori, self.corruption, self.g)
        return {"acc": acc, "ori": ori, "body": body, "init_pose": init,
                "local_rot": rot[:, STENCIL:-STENCIL], "offsets": offsets}


def fixed_windows(clips: list[Clip], window: int = 180, stride: int | None = None) -> dict:
    """Deterministic, un-augmented validation windows (initial pose = first true frame), as one batch."""
    stride = stride or window
    items = []
    n = window + 2 * STENCIL
    for c in clips:
        for s in range(0, max(c.frames - n, 0) + 1, stride):
            rot, tran = augment.resample(c.local_rot, c.tran, 1.0, n, start=float(s))
            items.append((rot, tran, c.offsets, c.body, root_relative_rot15(rot[STENCIL])))
    rot, tran, offsets, body, init = (torch.stack(x) for x in zip(*items, strict=True))
    acc, ori = imu_from_motion(rot, offsets, tran)
    return {"acc": acc, "ori": ori, "body": body, "init_pose": init,
            "local_rot": rot[:, STENCIL:-STENCIL], "offsets": offsets}
