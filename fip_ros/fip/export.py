"""Export the streaming step and the start-up to TorchScript and ONNX (the library of ``fip-export``).

Both graphs take and return flat tensors (state in, state out) with a dynamic batch dimension; names,
shapes and metadata are the contract in ``fip_ros.runtime.graph``, which loads them without torch.
"""

import hashlib
import os
import warnings

import torch

from fip_ros import __version__
from fip_ros.fip.engine import StartupModule, StepModule
from fip_ros.runtime.graph import (
    BATCH5_DIM,
    BATCH_DIM,
    CONTEXT_KEYS,
    META_CHECKPOINT,
    META_GRAPH,
    META_VERSION,
    STARTUP_INPUTS,
    STATE_KEYS,
    STEP_INPUTS,
    STEP_OUTPUTS,
)

FILES = {
    "step_ts": "fip_step.ts",
    "startup_ts": "fip_startup.ts",
    "step_onnx": "fip_step.onnx",
    "startup_onnx": "fip_startup.onnx",
}


def example_inputs(model, batch: int = 2):
    """Plausible inputs for tracing: (startup inputs, step inputs)."""
    body = torch.tensor([[1.0, 1.75, 0.6, 0.9]]).repeat(batch, 1)
    init_pose = torch.eye(3).repeat(batch, 15, 1, 1)
    with torch.no_grad():
        ctx = model.startup(body, init_pose)
    state = model.zero_state(batch)
    acc = torch.randn(batch, 6, 3)
    ori = torch.eye(3).repeat(batch, 6, 1, 1)
    return (body, init_pose), (acc, ori, *ctx, *(state[k] for k in STATE_KEYS))


def _batch_axes(names, args):
    # The integral LSTM state is (layers, batch * 5, hidden): its dim 1 scales with the batch too.
    axes = {}
    for name, _ in zip(names, args, strict=True):
        state = name[:2] in ("h_", "c_")
        axes[name] = {1: BATCH5_DIM if name.endswith("_int") else BATCH_DIM} if state else {0: BATCH_DIM}
    return axes


def export_torchscript(model, out_dir: str):
    """Trace start-up and step; returns (startup_path, step_path)."""
    model = model.eval()
    start_args, step_args = example_inputs(model)
    paths = os.path.join(out_dir, FILES["startup_ts"]), os.path.join(out_dir, FILES["step_ts"])
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(StartupModule(model), start_args, check_trace=False).save(paths[0])
        torch.jit.trace(StepModule(model), step_args, check_trace=False).save(paths[1])
    return paths


def file_sha256(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def stamp_metadata(path: str, graph: str, checkpoint_sha256: str = "") -> None:
    """Write the graph's metadata (``fip_ros.runtime.graph``): which graph, the package version, the source
    checkpoint's SHA-256."""
    import onnx

    m = onnx.load(path)
    values = {META_GRAPH: graph, META_VERSION: __version__, META_CHECKPOINT: checkpoint_sha256}
    del m.metadata_props[:]
    for key, value in values.items():
        m.metadata_props.add(key=key, value=value)
    onnx.save(m, path)


def export_onnx(model, out_dir: str, opset: int = 17, batch: int | None = None, checkpoint_sha256: str = ""):
    """Export start-up and step with the TorchScript-based exporter; returns (startup_path, step_path).

    batch None: a dynamic batch dimension (any number of bodies); an int: static shapes for exactly that
    many bodies, which folds all shape arithmetic away (about a third fewer nodes, a faster step).
    checkpoint_sha256: the source checkpoint's hash, recorded in the graphs' metadata.
    """
    model = model.eval()
    start_args, step_args = example_inputs(model, batch or 2)
    paths = os.path.join(out_dir, FILES["startup_onnx"]), os.path.join(out_dir, FILES["step_onnx"])
    step_axes = {**_batch_axes(STEP_INPUTS, step_args), "local_rot": {0: BATCH_DIM}, "joints": {0: BATCH_DIM},
                 **_batch_axes(STEP_OUTPUTS[2:], step_args[-6:])}
    start_axes = {n: {0: BATCH_DIM} for n in STARTUP_INPUTS + CONTEXT_KEYS}
    if batch:
        step_axes = start_axes = None
    common = dict(opset_version=opset, dynamo=False)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(StartupModule(model), start_args, paths[0], input_names=list(STARTUP_INPUTS),
                          output_names=list(CONTEXT_KEYS), dynamic_axes=start_axes, **common)
        torch.onnx.export(StepModule(model), step_args, paths[1], input_names=list(STEP_INPUTS),
                          output_names=list(STEP_OUTPUTS), dynamic_axes=step_axes, **common)
    for path, graph in zip(paths, ("startup", "step"), strict=True):
        stamp_metadata(path, graph, checkpoint_sha256)
    return paths
