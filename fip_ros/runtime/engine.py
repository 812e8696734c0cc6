"""Streaming FIP on ONNX Runtime, same interface as ``StreamingEngine`` (outputs are NumPy arrays)."""

import numpy as np

from fip_ros.core.smpl_tree import NUM_JOINTS
from fip_ros.fip.export import STEP_INPUTS
from fip_ros.fip.model import STATE_KEYS


def make_session(path: str, intra_op_num_threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = intra_op_num_threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def _hold(buf: np.ndarray, new: np.ndarray):
    """Copy ``new`` into ``buf`` except non-finite entries, which keep their last valid value."""
    ok = np.isfinite(new)
    if ok.all():
        buf[...] = new
    else:
        np.copyto(buf, new, where=ok)


class OnnxStreamingEngine:
    """``reset(body, init_pose=None, pose='tpose')`` then ``step(acc, ori) -> (local_rot, joints)``.

    Single-threaded by default (``intra_op_num_threads``). Non-finite input entries hold their last valid
    value (identity / zero before the first). Inputs are copied into float32 buffers; the new
    LSTM state is ONNX Runtime's output array, kept by reference (no copy). The returned arrays are fresh
    per step (ONNX Runtime allocates outputs).
    """

    def __init__(self, step_path: str, startup_path: str, batch: int = 1, intra_op_num_threads: int = 1):
        self._init(
            make_session(step_path, intra_op_num_threads),
            make_session(startup_path, intra_op_num_threads),
            batch,
        )

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

    def reset(self, body, init_pose=None, pose: str = "tpose"):
        from fip_ros.fip.engine import calibration_init_pose

        body = np.broadcast_to(np.asarray(body, np.float32).reshape(-1, 4), (self.batch, 4))
        if init_pose is None:
            init_pose = calibration_init_pose(pose, self.batch).numpy()
        init_pose = np.broadcast_to(
            np.asarray(init_pose, np.float32).reshape(-1, 15, 3, 3), (self.batch, 15, 3, 3)
        )
        ctx = self.startup_sess.run(
            None, {"body": np.ascontiguousarray(body), "init_pose": np.ascontiguousarray(init_pose)}
        )
        self.feed = dict(zip(STEP_INPUTS[2:7], ctx, strict=True))
        for k in STATE_KEYS:
            layers, _, hidden = self._shapes[k]
            rows = self.batch * 5 if k.endswith("_int") else self.batch
            self.feed[k] = np.zeros((layers, rows, hidden), np.float32)
        self.acc[...] = 0.0  # the hold-last-valid inputs start over too
        self.ori[...] = np.eye(3, dtype=np.float32)
        return self

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
