"""Stable offline API for FIP pose estimation.

    from fip_ros.api import load_model
    model = load_model()                       # shipped weights fip_ros/weights/fip_default.pt
    out = model.predict(acc, ori, body)        # out['rotations'] (T,24,3,3), out['joints'] (T,24,3),
                                               # out['translation'] (T,3), out['contact'] (T,2)

Inputs (NumPy or anything array-like): acc (T, 6, 3) free acceleration in the global SMPL frame (y up),
gravity removed, m/s^2, 60 Hz; ori (T, 6, 3, 3) calibrated sensor-to-world rotations (a bone in T-pose reads
identity); sensor order [L forearm, R forearm, L lower leg, R lower leg, head, pelvis];
body = dict(sex='male'|'female', height, arm_length, leg_length) in metres.

Non-finite readings: hold-last-valid per value (a NaN/inf entry takes the previous frame's value of the same
sensor entry; leading ones take the first finite value). A sensor with no finite frame at all is a ValueError.
"""

import os
import tempfile

import numpy as np
import torch

from fip_ros.fip.checkpoint import WeightsError, default_weights_path, load_checkpoint
from fip_ros.runtime import engine as runtime_engine
from fip_ros.runtime import graph

BACKENDS = ("torch", "onnx")


def _body_vectors(body) -> torch.Tensor:
    """dict or list of dicts -> (B, 4), validated (ValueError on implausible bodies)."""
    from fip_ros.core.body_model import body_vector

    bodies = [body] if isinstance(body, dict) else list(body)
    return torch.stack([body_vector(b) for b in bodies])


def _hold_last_valid(x: np.ndarray, name: str) -> np.ndarray:
    """Non-finite entries along time (axis 0) -> the last finite value (the first one for a leading run)."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return x
    flat = x.reshape(x.shape[0], -1).copy()
    bad = bad.reshape(flat.shape)
    if bad.all(axis=0).any():
        raise ValueError(f"{name} has a sensor with no finite reading at all")
    idx = np.where(bad, 0, np.arange(len(flat))[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    first = np.argmax(~bad, axis=0)
    idx = np.where(bad & (np.arange(len(flat))[:, None] < first), first, idx)
    return np.take_along_axis(flat, idx, axis=0).reshape(x.shape)


def _as_frames(x, shape, name) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != len(shape) + 1 or x.shape[1:] != shape or x.shape[0] < 1:
        raise ValueError(
            f"{name} must have shape (T, {', '.join(map(str, shape))}) with T >= 1, got {x.shape}"
        )
    return _hold_last_valid(x, name)


def _check_rotations(r: np.ndarray, name: str, tol: float = 1e-2):
    """Catch wrong inputs (Euler angles, transposed or scaled matrices) before they reach the network."""
    err = np.abs(r @ np.swapaxes(r, -1, -2) - np.eye(3, dtype=r.dtype)).max()
    if err > tol or np.abs(np.linalg.det(r) - 1.0).max() > tol:
        raise ValueError(f"{name} must hold proper rotation matrices (orthonormal, det +1)")


def init_pose_from(init_pose, pose: str = "tpose") -> torch.Tensor:
    """(15, 3, 3) root-relative global rotations, or (24, 3, 3) SMPL local rotations, or None (calibration
    pose ``pose``) -> (1, 15, 3, 3)."""
    return torch.from_numpy(runtime_engine.init_pose_from(init_pose, pose))


class Model:
    """A loaded FIP network. Use ``load_model`` to make one."""

    def __init__(self, fip, metadata: dict, backend: str = "torch", threads: int = 1, shipped: bool = False):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.fip, self.metadata, self.backend, self.threads = fip.eval(), metadata, backend, threads
        self.shipped = shipped  # the shipped weights: their shipped ONNX graphs serve every batch size
        # -> (step session, startup session): per batch size for exported graphs; for the shipped graphs per
        # fixed batch (graph.session_batch: 1, or None for a dynamic batch)
        self._onnx = {}
        self._translation_net = None
        if backend == "onnx":
            self._onnx_sessions(1)

    def _onnx_sessions(self, batch: int):
        """The shipped graphs for the shipped weights (their batch fixed for one body: graph.session_batch);
        else an export once per batch size to a temporary folder (static shapes: the fastest step), the
        sessions keeping the graphs in memory."""
        if self.shipped:
            fixed = graph.session_batch(batch)
            if fixed not in self._onnx:
                self._onnx[fixed] = graph.load_sessions(None, self.threads, fixed)
            return self._onnx[fixed]
        if batch not in self._onnx:
            from fip_ros.fip.export import export_onnx

            with tempfile.TemporaryDirectory() as d:
                startup, step = export_onnx(self.fip, d, batch=batch)
                self._onnx[batch] = graph.make_session(step, self.threads), graph.make_session(startup,
                                                                                             self.threads)
        return self._onnx[batch]

    def translation_net(self):
        """The root-translation velocity net (shipped ``fip_ros/weights/translation_default.npz``), loaded
        once; streaming: ``core.translation.TranslationEstimator(height, net=model.translation_net())``
        fed each frame's IMUs and ``engine.step``'s joints."""
        if self._translation_net is None:
            from fip_ros.core.translation import VelocityNet

            self._translation_net = VelocityNet()
        return self._translation_net

    def _with_translation(self, out: dict, acc, ori, body) -> dict:
        from fip_ros.core.translation import estimate_translation

        height = float((body if isinstance(body, dict) else body[0])["height"])
        tran, contact = estimate_translation(acc, ori, out["joints"], height, 60.0, self.translation_net())
        return dict(out, translation=tran.astype(np.float32), contact=contact.astype(np.float32))

    def stream(self, body, backend: str | None = None, init_pose=None, pose: str = "tpose"):
        """A reset streaming engine for one body dict or a list of them (batched):
        ``engine.step(acc (B, 6, 3), ori (B, 6, 3, 3)) -> (local_rot (B, 24, 3, 3), joints (B, 24, 3))``.
        ``init_pose`` as in ``predict``; None starts from the calibration pose ``pose``."""
        vec = _body_vectors(body)
        backend = backend or self.backend
        if backend == "torch":
            from fip_ros.fip.engine import StreamingEngine

            engine = StreamingEngine(self.fip, batch=len(vec))
        elif backend == "onnx":
            sessions = self._onnx_sessions(len(vec))
            engine = runtime_engine.OnnxStreamingEngine.from_sessions(*sessions, batch=len(vec))
        else:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        return engine.reset(vec, init_pose_from(init_pose, pose).expand(len(vec), 15, 3, 3))

    def predict(self, acc, ori, body, init_pose=None, pose: str = "tpose") -> dict:
        """Offline pose for one calibrated sequence.

        init_pose: the pose at frame 0 as (15, 3, 3) root-relative global rotations of ESTIMATED_JOINTS or
        (24, 3, 3) SMPL local rotations; None: the calibration pose ``pose`` ('tpose' | 'npose').
        Returns dict(rotations (T, 24, 3, 3) local SMPL rotations, joint 0 = global pelvis orientation;
        joints (T, 24, 3) metres, pelvis at the origin, global SMPL axes; translation (T, 3) the pelvis's
        position, metres, global SMPL axes, starting at the origin (causal: ``fip_ros.core.translation``);
        contact (T, 2) left/right foot-contact probabilities), float32 NumPy.
        """
        acc = _as_frames(acc, (6, 3), "acc")
        ori = _as_frames(ori, (6, 3, 3), "ori")
        _check_rotations(ori, "ori")
        if len(acc) != len(ori):
            raise ValueError(
                f"acc and ori must have the same number of frames, got {len(acc)} and {len(ori)}"
            )
        if self.backend == "onnx":
            engine = self.stream(body, init_pose=init_pose, pose=pose)
            rot, joints = zip(
                *(engine.step(a[None], o[None]) for a, o in zip(acc, ori, strict=True)), strict=True
            )
            out = dict(rotations=np.concatenate(rot), joints=np.concatenate(joints))
            return self._with_translation(out, acc, ori, body)
        with torch.no_grad():
            out = self.fip(
                torch.from_numpy(acc)[None],
                torch.from_numpy(ori)[None],
                _body_vectors(body),
                init_pose_from(init_pose, pose),
            )
        out = dict(rotations=out["local_rot"][0].numpy(), joints=out["joints"][0].numpy())
        return self._with_translation(out, acc, ori, body)

    def predict_raw(self, raw_acc, raw_ori, body, calib_slice=slice(0, 60), pose: str = "tpose") -> dict:
        """Offline pose from uncalibrated data (REP 145): raw_acc (T, 6, 3) specific force in the sensor
        frame, raw_ori (T, 6, 3, 3) sensor orientation in the device world. The frames ``calib_slice`` must
        show the subject still in ``pose``, which is also taken as the pose at frame 0. Returns ``predict``'s
        dict plus ``calibration`` (fip_ros.core.calibration.Calibration)."""
        from fip_ros.core.calibration import apply_calibration, estimate_calibration

        raw_acc = torch.from_numpy(_as_frames(raw_acc, (6, 3), "raw_acc"))
        raw_ori = torch.from_numpy(_as_frames(raw_ori, (6, 3, 3), "raw_ori"))
        if len(raw_acc) != len(raw_ori):
            raise ValueError("raw_acc and raw_ori must have the same number of frames")
        if len(raw_acc[calib_slice]) == 0:
            raise ValueError(f"calibration slice {calib_slice} selects no frames")
        cal = estimate_calibration(raw_ori[calib_slice], raw_acc[calib_slice], pose)
        acc, ori = apply_calibration(cal, raw_ori, raw_acc)
        out = self.predict(acc.numpy(), ori.numpy(), body, init_pose=None, pose=pose)
        out["calibration"] = cal
        return out


def load_model(path=None, backend: str = "torch", threads: int = 1,
               mirror_average: bool | None = None) -> Model:
    """Load FIP weights (default: the shipped ``fip_ros/weights/fip_default.pt``) -> Model.

    backend: 'torch' (PyTorch eager) or 'onnx' (ONNX Runtime: the shipped graphs for the shipped weights, else
    exported at load time); threads: intra-op threads for ONNX Runtime (PyTorch uses torch's own setting);
    mirror_average: False for the plain network, without the averaging with the mirror image
    (``fip_ros.fip.mirror``; half the work per frame), None as the weights say (the shipped: averaged).
    Raises WeightsError on a bad file. Without torch, use ``fip_ros.runtime`` directly.
    """
    shipped = mirror_average is not False and (
        path is None or (backend == "onnx" and graph.shipped_sessions_for(path) is not None))
    if path is None:
        path = default_weights_path()
        if not path.is_file():
            raise WeightsError(
                f"the shipped FIP weights {path} do not exist yet (they are produced by training, "
                "fip-train); pass load_model(path) with a checkpoint of your own"
            )
    fip, metadata = load_checkpoint(os.fspath(path), mirror_average=mirror_average)
    return Model(fip, metadata, backend=backend, threads=threads, shipped=shipped)
