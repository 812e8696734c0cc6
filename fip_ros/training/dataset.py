"""Training windows from clip npz files, with IMU signals synthesised per batch (after augmentation).

A batch is a dict of tensors: ``acc`` (B, T, 6, 3), ``ori`` (B, T, 6, 3, 3), ``body`` (B, 4), ``init_pose``
(B, 15, 3, 3) root-relative global rotations, the ground truth ``local_rot`` (B, T, 24, 3, 3) and ``offsets``
(B, 24, 3), and the supervised targets (``skeleton``, ``leaf_pos``, ``nodes``, ``rot15``, ``joints``, root
frame, ``losses.targets_from_kinematics``) from the forward kinematics that synthesised the IMUs.
"""

import json
from pathlib import Path

import numpy as np
import torch

from fip_ros.core.body_model import body_vector_from_offsets
from fip_ros.core.calibration import calibration_pose_local_rot
from fip_ros.core.imu_synthesis import STENCIL, ImuCorruption, corrupt, synthesize
from fip_ros.core.kinematics import root_relative_rot15
from fip_ros.core.rotations import random_rotation
from fip_ros.data.motion import Clip, Motion
from fip_ros.training import augment
from fip_ros.training.augment import AugmentConfig
from fip_ros.training.losses import targets_from_kinematics


def clip_paths(data_dir, split: str) -> list[Path]:
    """Clip files of one split, from the builder's index JSON (``index.json``, a ``splits`` mapping)."""
    data_dir = Path(data_dir)
    index = json.loads((data_dir / "index.json").read_text())
    return [data_dir / f for f in index["splits"][split]]


def load_clip(path) -> Clip:
    m = Motion.load_npz(path)
    if round(m.fps) != 60:
        raise ValueError(f"{path}: clips must be 60 Hz, got {m.fps}")
    m.name = m.name or Path(path).stem
    return m.tensors()


def load_split(data_dir, split: str) -> list[Clip]:
    return [load_clip(p) for p in clip_paths(data_dir, split)]


def imu_from_motion(local_rot: torch.Tensor, offsets: torch.Tensor, tran: torch.Tensor):
    """Synthesised (acc, ori) for (B, T, ...) motion; the first and last STENCIL frames are cropped off."""
    acc, ori, _ = imu_and_targets(local_rot, offsets, tran)
    return acc, ori


def imu_and_targets(local_rot: torch.Tensor, offsets: torch.Tensor, tran: torch.Tensor):
    """(acc, ori, targets) of (B, T, ...) motion, STENCIL frames cropped at each end: the IMU synthesis's
    forward kinematics of the truth also gives the supervised targets (``losses.targets_from_kinematics``)."""
    imu = synthesize(local_rot, offsets, tran, fps=60, stencil=STENCIL)
    keep = slice(STENCIL, -STENCIL)
    targets = targets_from_kinematics(imu["global_rot"][:, keep], imu["joints"][:, keep], offsets)
    return imu["acc"][:, keep], imu["ori"][:, keep], targets


class WindowSampler:
    """Random augmented windows of ``window`` frames (plus synthesis margins) drawn from clips."""

    def __init__(self, clips: list[Clip], window: int = 180, augment_cfg: AugmentConfig | None = None,
                 corruption: ImuCorruption | None = None, seed: int = 0,
                 severity: tuple[float, float] = (1.0, 1.0)):
        """augment_cfg None: no augmentation; corruption None: clean IMUs; each window's sensor errors are
        ``corruption`` scaled by a factor drawn uniformly from ``severity`` (real setups range from a lab
        with a homogeneous field and careful strapping to a disturbed one)."""
        self.clips = clips
        self.window = window
        self.aug = augment_cfg
        self.corruption = corruption
        self.severity = severity
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
        rot, tran = augment.at_speed(clip.local_rot, clip.tran, speed, n, start=self._rand() * span)
        offsets, sex = clip.offsets, clip.body[0]
        if aug and self._rand() < aug.mirror_p:
            rot, tran, offsets = augment.mirror(rot, tran, offsets)
        if aug:
            rot = augment.raise_arms(rot, offsets, aug, self.g)
        if aug:
            offsets, tran, sex = augment.scale_body(offsets, tran, aug, self.g, float(sex))
        body = body_vector_from_offsets(offsets, sex)
        if aug and self._rand() < aug.calib_start_p:
            # the subject holds the calibration pose only approximately; init_pose claims the exact pose
            pose = aug.calib_poses[int(torch.randint(len(aug.calib_poses), (), generator=self.g))]
            calib = torch.as_tensor(calibration_pose_local_rot(pose), dtype=rot.dtype)
            held = calib @ random_rotation((24,), aug.init_noise_deg, self.g, torch.float32, angle="uniform")
            hold = aug.calib_hold + STENCIL
            rot, tran = augment.prepend_calibration(rot, tran, held, hold, aug.calib_blend)
            init = root_relative_rot15(calib)
        else:
            init = root_relative_rot15(rot[STENCIL])
            if aug:
                init = init @ random_rotation((15,), aug.init_noise_deg, self.g, torch.float32,
                                              angle="uniform")
        return rot, tran, offsets, body, init

    def sample(self, batch: int) -> dict:
        rot, tran, offsets, body, init = (torch.stack(x) for x in zip(*[self._one() for _ in range(batch)],
                                                                      strict=True))
        acc, ori, targets = imu_and_targets(rot, offsets, tran)
        if self.corruption is not None:
            lo, hi = self.severity
            pairs = [corrupt(a, o, self.corruption.scaled(lo + (hi - lo) * self._rand()), self.g)
                     for a, o in zip(acc, ori, strict=True)]
            acc, ori = (torch.stack(x) for x in zip(*pairs, strict=True))
        return {"acc": acc, "ori": ori, "body": body, "init_pose": init,
                "local_rot": rot[:, STENCIL:-STENCIL], "offsets": offsets, **targets}


class _SamplerStream(torch.utils.data.IterableDataset):
    """Endless batches of one WindowSampler copy per DataLoader worker, each on its own random stream."""

    def __init__(self, sampler: WindowSampler, batch: int, seed: int, start_step: int):
        self.sampler, self.batch, self.seed, self.start_step = sampler, batch, seed, start_step

    def __iter__(self):
        worker = torch.utils.data.get_worker_info().id
        # (seed, step the run (re)started at, worker) -> a stream no other worker or restart repeats
        state = np.random.SeedSequence([self.seed, self.start_step, worker]).generate_state(1, np.uint64)[0]
        self.sampler.g.manual_seed(int(state >> np.uint64(1)))
        while True:
            yield self.sampler.sample(self.batch)


def batch_stream(sampler: WindowSampler, batch: int, workers: int = 0, seed: int = 0, start_step: int = 0):
    """Iterator of training batches. workers 0: ``sampler`` in this process (its generator state is the
    run's, saved for an exact resume). workers N: N processes build batches ahead while this one trains
    (the sampler's synthesis and augmentation cost more CPU than a CPU training step, and all of a GPU
    one); batches come in a fixed worker order, so a run is reproducible for the same N and start step."""
    if workers <= 0:
        return iter(lambda: sampler.sample(batch), None)
    loader = torch.utils.data.DataLoader(_SamplerStream(sampler, batch, seed, start_step), batch_size=None,
                                         num_workers=workers, prefetch_factor=2, persistent_workers=True)
    return iter(loader)


def fixed_windows(clips: list[Clip], window: int = 180, stride: int | None = None) -> dict:
    """Deterministic, un-augmented validation windows (initial pose = first true frame), as one batch."""
    stride = stride or window
    items = []
    n = window + 2 * STENCIL
    for c in clips:
        for s in range(0, max(c.frames - n, 0) + 1, stride):
            rot, tran = augment.at_speed(c.local_rot, c.tran, 1.0, n, start=float(s))
            items.append((rot, tran, c.offsets, c.body, root_relative_rot15(rot[STENCIL])))
    rot, tran, offsets, body, init = (torch.stack(x) for x in zip(*items, strict=True))
    acc, ori, targets = imu_and_targets(rot, offsets, tran)
    return {"acc": acc, "ori": ori, "body": body, "init_pose": init,
            "local_rot": rot[:, STENCIL:-STENCIL], "offsets": offsets, **targets}
