"""The contract of FIP's two ONNX graphs, and loading them with ONNX Runtime (no torch).

``fip-export`` (``fip_ros.fip.export``) writes both; the shipped pair is ``fip_ros/weights/fip_default_
startup.onnx`` and ``fip_default_step.onnx``, exported from ``fip_default.pt``. Opset 17, float32, a dynamic
batch dimension ``B`` (one row per body):

start-up  inputs  body (B, 4) [sex code, height, arm_length, leg_length], init_pose (B, 15, 3, 3)
                  root-relative global rotations of ESTIMATED_JOINTS
          outputs skeleton (B, 19, 3), offsets (B, 24, 3), leaf0 (B, 5, 3), emb_up (B, 64), emb_lo (B, 64)
step      inputs  acc (B, 6, 3) calibrated global free acceleration (SMPL axes, m/s^2), ori (B, 6, 3, 3)
                  calibrated bone orientations, the five start-up outputs, then the LSTM states
                  h_int/c_int (layers, 5 B, hidden) and h_up/c_up/h_lo/c_lo (layers, B, hidden)
          outputs local_rot (B, 24, 3, 3) SMPL local rotations, joints (B, 24, 3) m, then the six new states
                  (``<state>_out``)
The root-relative input normalisation (``fip_ros.fip.inputs``) is inside the step graph, and so is the
averaging with the mirror image (``fip_ros.fip.mirror``; graphs exported with ``--no-mirror-average`` lack
it): its states then carry the mirror image's after the input's, ``hidden`` twice the LSTM width. Read the
state shapes from the graph, as ``OnnxStreamingEngine`` does.

Metadata (``custom_metadata_map``): ``fip_ros.graph`` ('startup' | 'step'), ``fip_ros.version`` (the package
version that exported it) and ``fip_ros.checkpoint_sha256`` (the SHA-256 of the checkpoint it came from),
which ``test_runtime_graphs`` checks against the shipped ``.pt``.
"""

import os
from pathlib import Path

CONTEXT_KEYS = ("skeleton", "offsets", "leaf0", "emb_up", "emb_lo")
STATE_KEYS = ("h_int", "c_int", "h_up", "c_up", "h_lo", "c_lo")
STARTUP_INPUTS = ("body", "init_pose")
STEP_INPUTS = ("acc", "ori") + CONTEXT_KEYS + STATE_KEYS
STEP_OUTPUTS = ("local_rot", "joints") + tuple(k + "_out" for k in STATE_KEYS)
META_GRAPH, META_VERSION, META_CHECKPOINT = "fip_ros.graph", "fip_ros.version", "fip_ros.checkpoint_sha256"
# Names of the dynamic dimensions: B, and 5 B of the integral LSTM's state (one row per leaf sensor).
BATCH_DIM, BATCH5_DIM = "batch", "batch5"

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
SHIPPED = {"startup": WEIGHTS_DIR / "fip_default_startup.onnx", "step": WEIGHTS_DIR / "fip_default_step.onnx"}


class GraphError(ValueError):
    """A model file that is not a usable FIP graph (missing, unreadable, or with other inputs/outputs)."""


def graph_pair(path=None) -> dict:
    """{'startup': path, 'step': path} of a graph pair: None = the shipped pair; a step graph ``*step.onnx``
    (its start-up graph is the same name with ``startup``); or a folder written by ``fip-export``."""
    if path is None or str(path) == "":
        return dict(SHIPPED)
    p = Path(path)
    if p.is_dir():
        return {"startup": p / "fip_startup.onnx", "step": p / "fip_step.onnx"}
    if p.suffix != ".onnx" or "step" not in p.name:
        raise GraphError(f"{path}: give the step graph (*step.onnx) or a folder written by fip-export")
    return {"startup": p.with_name("startup".join(p.name.rsplit("step", 1))), "step": p}


def make_session(path, intra_op_num_threads: int = 1, batch: int | None = None):
    """An ONNX Runtime session on the CPU, single-threaded by default (steady latency beside other nodes).

    ``batch``: the graph's dynamic batch dimension is fixed to it when the session is made, so ONNX Runtime
    plans for that one shape (about a third less time per step at batch 1); the session then takes only that
    batch.
    """
    import onnxruntime as ort

    if not os.path.isfile(path):
        raise GraphError(f"model file {path} does not exist")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = intra_op_num_threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if batch is not None:
        opts.add_free_dimension_override_by_name(BATCH_DIM, batch)
        opts.add_free_dimension_override_by_name(BATCH5_DIM, 5 * batch)
    try:
        return ort.InferenceSession(os.fspath(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types for corrupt files
        raise GraphError(f"{path} is not a readable ONNX graph: {str(e).splitlines()[0]}") from None


def check_session(sess, kind: str, path) -> None:
    """Raise GraphError unless ``sess`` has the input and output names of a ``kind`` graph, in order."""
    inputs, outputs = (STARTUP_INPUTS, CONTEXT_KEYS) if kind == "startup" else (STEP_INPUTS, STEP_OUTPUTS)
    got_in = tuple(i.name for i in sess.get_inputs())
    got_out = tuple(o.name for o in sess.get_outputs())
    if got_in != inputs or got_out != outputs:
        raise GraphError(f"{path} is not a FIP {kind} graph: inputs {got_in}, outputs {got_out}")


def metadata(sess) -> dict:
    """The graph's custom metadata (empty for graphs exported before metadata was written)."""
    return dict(sess.get_modelmeta().custom_metadata_map)


def shipped_sessions_for(checkpoint, intra_op_num_threads: int = 1, batch: int | None = None):
    """(step, start-up) sessions of the shipped graphs when ``checkpoint`` is the file they were exported from
    (its SHA-256 is in their metadata), else None: a .pt that needs no export, hence no torch. ``batch`` as
    in ``make_session``."""
    import hashlib

    try:
        sha = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()
    except OSError:
        return None
    sessions = load_sessions(None, intra_op_num_threads, batch)
    return sessions if all(metadata(s).get(META_CHECKPOINT) == sha for s in sessions) else None


def session_batch(bodies: int) -> int | None:
    """The batch to fix in the sessions of an engine for ``bodies`` bodies (``make_session``): 1 for one
    body; None (dynamic) for more, whose engine also steps and restarts subsets of its rows."""
    return 1 if bodies == 1 else None


def load_sessions(path=None, intra_op_num_threads: int = 1, batch: int | None = None):
    """(step session, start-up session) of a graph pair (``graph_pair``), both checked; ``batch`` as in
    ``make_session``."""
    pair = graph_pair(path)
    sessions = {}
    for kind in ("step", "startup"):
        sessions[kind] = make_session(pair[kind], intra_op_num_threads, batch)
        check_session(sessions[kind], kind, pair[kind])
    return sessions["step"], sessions["startup"]
