"""Streaming FIP on ONNX Runtime: one frame in, one pose out per body, the recurrent state explicit.

NumPy and onnxruntime only (no torch), so it runs on boards without torch; ``fip_ros.fip.engine`` is the
PyTorch twin with the same interface.
"""

import numpy as np

from fip_ros.core.calibration import calibration_pose_local_rot, root_relative
from fip_ros.core.smpl_tree import NUM_JOINTS
from fip_ros.runtime.graph import CONTEXT_KEYS, STATE_KEYS, load_sessions


def calibration_init_pose(pose: str = "tpose", batch: int = 1) -> np.ndarray:
    """(batch, 15, 3, 3) float32 root-relative global rotations of the calibration pose (start-up without
    truth)."""
    rel = root_relative(calibration_pose_local_rot(pose)).astype(np.float32)
    return np.repeat(rel[None], batch, axis=0)


def init_pose_from(init_pose, pose: str = "tpose") -> np.ndarray:
    """(15, 3, 3) root-relative global rotations, or (24, 3, 3) SMPL local rotations, or None (calibration
    pose ``pose``) -> (1, 15, 3, 3) float32."""
    if init_pose is None:
        return calibration_init_pose(pose, 1)
    r = np.asarray(init_pose, dtype=np.float64)
    if r.shape == (NUM_JOINTS, 3, 3):
        r = root_relative(r)
    if r.shape != (15, 3, 3) or not np.isfinite(r).all():
        raise ValueError(f"init_pose must be finite (15, 3, 3) or (24, 3, 3), got {r.shape}")
    return r[None].astype(np.float32)


def _hold(buf: np.ndarray, new: np.ndarray):
    """Copy ``new`` into ``buf`` except non-finite entries, which keep their last valid value."""
    ok = np.isfinite(new)
    if ok.all():
        buf[...] = new
    else:
        np.copyto(buf, new, where=ok)


class OnnxStreamingEngine:
    """``reset(body, init_pose=None, pose='tpose')`` then ``step(acc, ori) -> (local_rot, joints)`` for
    ``batch`` bodies; ``reset_rows`` restarts some bodies only (several people in one step).

    Single-threaded by default (``intra_op_num_threads``); a one-body engine's sessions have the batch fixed
    (``graph.session_batch``). Non-finite input entries hold their last valid value (identity / zero before
    the first). Inputs are copied into float32 buffers; the new LSTM state is ONNX Runtime's output array,
    kept by reference (no copy). The returned arrays are fresh per step (ONNX Runtime allocates outputs).
    """

    def __init__(self, step_path: str | None = None, startup_path: str | None = None, batch: int = 1,
                 intra_op_num_threads: int = 1):
        """Both paths None: the shipped graphs; else the two graph files (``fip_ros.runtime.graph``)."""
        from fip_ros.runtime.graph import check_session, make_session, session_batch

        fixed = session_batch(batch)
        if step_path is None and startup_path is None:
            step_sess, startup_sess = load_sessions(None, intra_op_num_threads, fixed)
        else:
            step_sess = make_session(step_path, intra_op_num_threads, fixed)
            startup_sess = make_session(startup_path, intra_op_num_threads, fixed)
            check_session(step_sess, "step", step_path)
            check_session(startup_sess, "startup", startup_path)
        self._init(step_sess, startup_sess, batch)

    @classmethod
    def from_sessions(cls, step_sess, startup_sess, batch: int = 1) -> "OnnxStreamingEngine":
        engine = cls.__new__(cls)
        engine._init(step_sess, startup_sess, batch)
        return engine

    def _init(self, step_sess, startup_sess, batch):
        self.batch, self.step_sess, self.startup_sess = batch, step_sess, startup_sess
        self._shapes = {i.name: i.shape for i in step_sess.get_inputs()}
        self.feed = None
        self.acc = np.zeros((batch, 6, 3), np.float32)
        self.ori = np.tile(np.eye(3, dtype=np.float32), (batch, 6, 1, 1))

    def _startup(self, body, init_pose, rows: int):
        body = np.broadcast_to(np.asarray(body, np.float32).reshape(-1, 4), (rows, 4))
        init_pose = np.broadcast_to(np.asarray(init_pose, np.float32).reshape(-1, 15, 3, 3), (rows, 15, 3, 3))
        return self.startup_sess.run(
            None, {"body": np.ascontiguousarray(body), "init_pose": np.ascontiguousarray(init_pose)})

    def reset(self, body, init_pose=None, pose: str = "tpose"):
        """Start a new session for all rows. body (B, 4) or (4,); init_pose (B, 15, 3, 3) root-relative global
        rotations, None: the calibration pose ``pose`` ('tpose' | 'npose')."""
        if init_pose is None:
            init_pose = calibration_init_pose(pose, self.batch)
        self.feed = dict(zip(CONTEXT_KEYS, self._startup(body, init_pose, self.batch), strict=True))
        for k in STATE_KEYS:
            layers, _, hidden = self._shapes[k]
            rows = self.batch * 5 if k.endswith("_int") else self.batch
            self.feed[k] = np.zeros((layers, rows, hidden), np.float32)
        self.acc[...] = 0.0  # the hold-last-valid inputs start over too
        self.ori[...] = np.eye(3, dtype=np.float32)
        return self

    def reset_rows(self, rows, body, init_pose):
        """Restart the bodies ``rows`` (list of row indices) only: body (len(rows), 4), init_pose
        (len(rows), 15, 3, 3); the other rows keep their state."""
        if self.feed is None:
            raise RuntimeError("call reset(body) before reset_rows()")
        rows = list(rows)
        for k, v in zip(CONTEXT_KEYS, self._startup(body, init_pose, len(rows)), strict=True):
            self.feed[k] = np.array(self.feed[k])  # writable
            self.feed[k][rows] = v
        int_rows = [5 * r + i for r in rows for i in range(5)]  # the integral LSTM has 5 rows per body
        for k in STATE_KEYS:
            state = self.feed[k] = np.array(self.feed[k])  # ONNX Runtime's outputs may be read-only
            state[:, int_rows if k.endswith("_int") else rows] = 0.0
        self.acc[rows] = 0.0
        self.ori[rows] = np.eye(3, dtype=np.float32)

    def step(self, acc, ori):
        """acc (B, 6, 3), ori (B, 6, 3, 3) calibrated -> (local_rot (B, 24, 3, 3), joints (B, 24, 3))."""
        if self.feed is None:
            raise RuntimeError("call reset(body) before step()")
        _hold(self.acc, np.asarray(acc, np.float32).reshape(self.acc.shape))
        _hold(self.ori, np.asarray(ori, np.float32).reshape(self.ori.shape))
        self.feed["acc"], self.feed["ori"] = self.acc, self.ori
        out = self.step_sess.run(None, self.feed)
        for k, v in zip(STATE_KEYS, out[2:], strict=True):
            self.feed[k] = v
        return out[0].reshape(self.batch, NUM_JOINTS, 3, 3), out[1]

    def offsets(self) -> np.ndarray:
        """(B, 24, 3) the SMPL T-pose bone offsets the network regressed for each body (its forward
        kinematics uses them), m."""
        return self.feed["offsets"]

    def step_rows(self, rows, acc, ori):
        """Step the bodies ``rows`` only (the others keep their state): acc (len(rows), 6, 3), ori
        (len(rows), 6, 3, 3) -> (local_rot, joints) of those rows, in their order."""
        rows = list(rows)
        if rows == list(range(self.batch)):
            return self.step(acc, ori)
        if self.feed is None:
            raise RuntimeError("call reset(body) before step()")
        acc_rows, ori_rows = self.acc[rows], self.ori[rows]
        _hold(acc_rows, np.asarray(acc, np.float32).reshape(acc_rows.shape))
        _hold(ori_rows, np.asarray(ori, np.float32).reshape(ori_rows.shape))
        self.acc[rows], self.ori[rows] = acc_rows, ori_rows
        int_rows = [5 * r + i for r in rows for i in range(5)]
        feed = {k: self.feed[k][rows] for k in CONTEXT_KEYS}
        feed.update({k: self.feed[k][:, int_rows if k.endswith("_int") else rows] for k in STATE_KEYS})
        feed["acc"], feed["ori"] = acc_rows, ori_rows
        out = self.step_sess.run(None, feed)
        for k, v in zip(STATE_KEYS, out[2:], strict=True):
            state = self.feed[k] = np.array(self.feed[k])  # ONNX Runtime's outputs may be read-only
            state[:, int_rows if k.endswith("_int") else rows] = v
        return out[0].reshape(len(rows), NUM_JOINTS, 3, 3), out[1]
