"""FIP checkpoints: weights + config + metadata in one ``torch.save`` file, loaded with ``weights_only``."""

import os
from dataclasses import replace
from pathlib import Path

import torch

from fip_ros.fip.config import get_config
from fip_ros.fip.model import FIP

FORMAT = "fip_ros.fip"
VERSION = 1


def default_weights_path() -> Path:
    """The shipped weights, ``fip_ros/weights/fip_default.pt`` (also ``fip_ros.api.default_weights_path``)."""
    return Path(__file__).resolve().parents[1] / "weights" / "fip_default.pt"


class WeightsError(RuntimeError):
    """A checkpoint is missing, unreadable, truncated or does not match the network."""


def save_checkpoint(path, model: FIP, metadata: dict | None = None, half: bool = False):
    """Write ``model``'s weights (float16 when ``half``, halving the file) with its config and metadata
    (plain Python values only: str, numbers, lists, dicts)."""
    state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in model.state_dict().items()}
    payload = dict(
        format=FORMAT,
        version=VERSION,
        config=model.cfg.to_dict(),
        metadata=dict(metadata or {}),
        state_dict=state,
    )
    tmp = f"{path}.tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)  # never leave a half-written checkpoint under the final name


def load_checkpoint(path, map_location="cpu", mirror_average: bool | None = None):
    """-> (FIP in eval mode, metadata). Raises WeightsError with the reason on any problem. ``mirror_average``
    True / False overrides the saved config's (``fip_ros.fip.mirror``); None keeps it."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightsError(f"FIP weights not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated / corrupt / not a torch file
        # Not torch's text: it suggests weights_only=False, which would run code from the file.
        raise WeightsError(f"{path} is not a readable FIP checkpoint ({type(e).__name__})") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "state_dict" not in payload:
        raise WeightsError(f"{path} is not a fip_ros FIP checkpoint")
    if payload.get("version", 0) > VERSION:
        raise WeightsError(
            f"{path} has checkpoint version {payload['version']}, newer than supported {VERSION}"
        )
    try:
        cfg = get_config(payload["config"])
        model = FIP(cfg if mirror_average is None else replace(cfg, mirror_average=mirror_average))
        state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError, KeyError) as e:  # shape/key mismatch, bad config
        raise WeightsError(f"{path} does not match the FIP network: {e}") from e
    return model.eval(), payload.get("metadata", {})


def average_checkpoints(paths) -> tuple[FIP, dict]:
    """-> (FIP whose weights are the mean of the checkpoints', metadata ``{"average_of": [each checkpoint's
    metadata with its "checkpoint" path]}``).

    A "model soup" (Wortsman et al., ICML 2022): fine-tunes from one starting point lie in one basin of the
    loss, so their mean is a network too, often better than each. Only checkpoints of one network config
    can be averaged (WeightsError otherwise)."""
    paths = [os.fspath(p) for p in paths]
    if len(paths) < 2:
        raise WeightsError("averaging needs at least two checkpoints")
    loaded = [load_checkpoint(p) for p in paths]
    model = loaded[0][0]
    for path, (other, _) in zip(paths[1:], loaded[1:], strict=True):
        if other.cfg.to_dict() != model.cfg.to_dict():
            raise WeightsError(f"{path} has another network config than {paths[0]}; cannot average them")
    states = [m.state_dict() for m, _ in loaded]
    mean = {k: sum(s[k] for s in states) / len(states) if v.is_floating_point() else v
            for k, v in states[0].items()}
    model.load_state_dict(mean)
    members = [dict(meta, checkpoint=path) for path, (_, meta) in zip(paths, loaded, strict=True)]
    return model, {"average_of": members}
