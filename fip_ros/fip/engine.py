"""Streaming inference: one frame in, one pose out, with explicit recurrent state."""

import torch

from fip_ros.core.smpl_tree import NUM_JOINTS
from fip_ros.runtime import engine as runtime_engine
from fip_ros.runtime.graph import CONTEXT_KEYS, STATE_KEYS


def calibration_init_pose(pose: str = "tpose", batch: int = 1) -> torch.Tensor:
    """(batch, 15, 3, 3) root-relative global rotations of the calibration pose (start-up without truth)."""
    return torch.from_numpy(runtime_engine.calibration_init_pose(pose, batch))


class StepModule(torch.nn.Module):
    """One streaming frame as a flat-tensor function (what TorchScript / ONNX export).

    Inputs: acc (B, 6, 3), ori (B, 6, 3, 3), context (skeleton, offsets, leaf0, emb_up, emb_lo from
    ``FIP.startup``), the six LSTM tensors. Outputs: local_rot (B, 24, 3, 3), joints (B, 24, 3), new states.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(
        self, acc, ori, skeleton, offsets, leaf0, emb_up, emb_lo, h_int, c_int, h_up, c_up, h_lo, c_lo
    ):
        out = self.model.frames(
            acc.unsqueeze(1),
            ori.unsqueeze(1),
            skeleton,
            offsets,
            leaf0,
            emb_up,
            emb_lo,
            h_int,
            c_int,
            h_up,
            c_up,
            h_lo,
            c_lo,
        )
        return (out[3].squeeze(1), out[4].squeeze(1)) + tuple(out[5:])


class StartupModule(torch.nn.Module):
    """One-off start-up: body (B, 4), init_pose (B, 15, 3, 3) -> skeleton, offsets, leaf0, emb_up, emb_lo."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, body, init_pose):
        return self.model.startup(body, init_pose)


def _hold(buf: torch.Tensor, new: torch.Tensor):
    """Copy ``new`` into ``buf`` except non-finite entries, which keep their last valid value."""
    ok = torch.isfinite(new)
    if bool(ok.all()):
        buf.copy_(new)
    else:
        buf.copy_(torch.where(ok, new, buf))


class StreamingEngine:
    """Frame-by-frame FIP for ``batch`` bodies at once (PyTorch backend; ``step_fn`` may be a TorchScript
    export of ``StepModule`` with the same signature).

    Non-finite input entries hold their last valid value (identity / zero before the first).
    State lives in tensors allocated once in ``reset``; ``step`` copies its inputs into preallocated buffers
    and the new state/outputs back into them. Torch still allocates the intermediate activations of each
    op (no out= variants for Linear/LSTM) and the finite-check mask; nothing else is allocated per frame.
    ONNX Runtime (``fip_ros.runtime.engine``) is the fast path for live use. The returned tensors are
    the engine's buffers: copy them if you keep them past the next step.
    """

    def __init__(self, model, batch: int = 1, step_fn=None):
        self.model = model.eval()
        self.batch = batch
        self.step_fn = step_fn or StepModule(self.model)
        self.acc = torch.zeros(batch, 6, 3)
        self.ori = torch.eye(3).repeat(batch, 6, 1, 1)
        self.local_rot = torch.eye(3).repeat(batch, NUM_JOINTS, 1, 1)
        self.joints = torch.zeros(batch, NUM_JOINTS, 3)
        self.context = None
        self.state = None

    @torch.no_grad()
    def reset(self, body, init_pose=None, pose: str = "tpose"):
        """Start a new session. body (B, 4) body vectors (or (4,) for all rows); init_pose (B, 15, 3, 3)
        root-relative global rotations, None: the calibration pose ``pose`` ('tpose' | 'npose')."""
        body = torch.as_tensor(body, dtype=torch.float32).reshape(-1, 4).expand(self.batch, 4)
        if init_pose is None:
            init_pose = calibration_init_pose(pose, self.batch)
        init_pose = (
            torch.as_tensor(init_pose, dtype=torch.float32).reshape(-1, 15, 3, 3).expand(self.batch, 15, 3, 3)
        )
        self.context = tuple(t.contiguous() for t in self.model.startup(body, init_pose))
        self.state = tuple(self.model.zero_state(self.batch)[k] for k in STATE_KEYS)
        self.acc.zero_()  # the hold-last-valid inputs start over too
        self.ori.copy_(torch.eye(3).expand_as(self.ori))
        return self

    @torch.no_grad()
    def step(self, acc, ori):
        """acc (B, 6, 3), ori (B, 6, 3, 3) calibrated -> (local_rot (B, 24, 3, 3), joints (B, 24, 3))."""
        if self.context is None:
            raise RuntimeError("call reset(body) before step()")
        _hold(self.acc, torch.as_tensor(acc, dtype=torch.float32).reshape(self.acc.shape))
        _hold(self.ori, torch.as_tensor(ori, dtype=torch.float32).reshape(self.ori.shape))
        out = self.step_fn(self.acc, self.ori, *self.context, *self.state)
        self.local_rot.copy_(out[0])
        self.joints.copy_(out[1])
        for buf, new in zip(self.state, out[2:], strict=True):
            buf.copy_(new)
        return self.local_rot, self.joints

    def offsets(self):
        """(B, 24, 3) NumPy: the T-pose bone offsets the network regressed for each body, m."""
        return self.context[CONTEXT_KEYS.index("offsets")].numpy()

    @torch.no_grad()
    def reset_rows(self, rows, body, init_pose):
        """Restart the bodies ``rows`` only (as ``OnnxStreamingEngine.reset_rows``)."""
        rows = list(rows)
        body = torch.as_tensor(body, dtype=torch.float32).reshape(len(rows), 4)
        init_pose = torch.as_tensor(init_pose, dtype=torch.float32).reshape(len(rows), 15, 3, 3)
        for buf, new in zip(self.context, self.model.startup(body, init_pose), strict=True):
            buf[rows] = new
        int_rows = [5 * r + i for r in rows for i in range(5)]
        for k, buf in zip(STATE_KEYS, self.state, strict=True):
            buf[:, int_rows if k.endswith("_int") else rows] = 0.0
        self.acc[rows] = 0.0
        self.ori[rows] = torch.eye(3)

    @torch.no_grad()
    def step_rows(self, rows, acc, ori):
        """Step the bodies ``rows`` only (as ``OnnxStreamingEngine.step_rows``); returns NumPy arrays."""
        rows = list(rows)
        if rows == list(range(self.batch)):
            return tuple(t.numpy().copy() for t in self.step(acc, ori))
        acc_rows, ori_rows = self.acc[rows], self.ori[rows]
        _hold(acc_rows, torch.as_tensor(acc, dtype=torch.float32).reshape(acc_rows.shape))
        _hold(ori_rows, torch.as_tensor(ori, dtype=torch.float32).reshape(ori_rows.shape))
        self.acc[rows], self.ori[rows] = acc_rows, ori_rows
        int_rows = [5 * r + i for r in rows for i in range(5)]
        state = [s[:, int_rows if k.endswith("_int") else rows] for k, s in zip(STATE_KEYS, self.state,
                                                                                strict=True)]
        out = self.step_fn(acc_rows, ori_rows, *(c[rows] for c in self.context), *state)
        for k, buf, new in zip(STATE_KEYS, self.state, out[2:], strict=True):
            buf[:, int_rows if k.endswith("_int") else rows] = new
        return out[0].numpy(), out[1].numpy()
