"""Optional SMPL body from user-supplied model files (licensed, never shipped), through ``smplx``.

Only the model's buffers and ``smplx.lbs`` are used: ``SMPL.forward`` also picks extra keypoints by fixed
vertex ids, which would tie us to the full 6890-vertex mesh. Measurements follow ``body_model`` (from the
regressed T-pose joints, not the mesh).
"""

import os

import numpy as np
import smplx
import torch
from smplx.lbs import lbs, vertices2joints
from smplx.utils import Struct

from fip_ros.core import safe_pickle
from fip_ros.core.body_model import measure_offsets, validate_body
from fip_ros.core.kinematics import offsets_from_positions


def _model_file(model_path: str, gender: str) -> str:
    """A model file, or a folder holding SMPL_<GENDER>.pkl/.npz directly or in a 'smpl' subfolder."""
    if not os.path.isdir(model_path):
        return model_path
    for folder in (model_path, os.path.join(model_path, "smpl")):
        for ext in ("pkl", "npz"):
            path = os.path.join(folder, f"SMPL_{gender.upper()}.{ext}")
            if os.path.exists(path):
                return path
    raise FileNotFoundError(f"no SMPL_{gender.upper()}.pkl/.npz in {model_path} or {model_path}/smpl")


def _load_model(path: str) -> Struct:
    """Model arrays of an .npz or .pkl, read without running code from the file (``safe_pickle``); 0-d object
    entries of an .npz (e.g. a sparse J_regressor) are unwrapped."""
    if path.endswith(".npz"):
        arrays = safe_pickle.load_npz(path)
    else:
        arrays = safe_pickle.load(path)
        if not isinstance(arrays, dict):
            raise ValueError(f"{path}: expected a dict of model arrays, got {type(arrays).__name__}")
    return Struct(**{k: v.item() if isinstance(v, np.ndarray) and v.dtype == object and v.ndim == 0 else v
                     for k, v in arrays.items()})


class SmplBody:
    """SMPL shape space: betas -> skeleton offsets and posed vertices; measurements -> betas."""

    def __init__(self, model_path: str, gender: str = "neutral", num_betas: int = 10):
        path = _model_file(model_path, gender)
        if not os.path.exists(path):
            raise FileNotFoundError(f"SMPL model file {path} does not exist")
        kwargs = {"gender": gender, "num_betas": num_betas, "dtype": torch.float64}
        # smplx would pickle.load the file itself; it gets the arrays instead (original SMPL pickles holding
        # chumpy objects are refused: convert them to .npz with plain numpy arrays under the same keys).
        self.model = smplx.SMPL(path, data_struct=_load_model(path), **kwargs)
        self.gender = gender
        self.num_betas = self.model.num_betas
        self.faces = np.asarray(self.model.faces, dtype=np.int64)

    def _betas(self, betas) -> torch.Tensor:
        if betas is None:
            return torch.zeros(self.num_betas, dtype=torch.float64)
        return torch.as_tensor(betas, dtype=torch.float64)

    def tpose_joints(self, betas) -> torch.Tensor:
        """(..., num_betas) -> regressed T-pose joints (..., 24, 3) in the model's frame."""
        betas = self._betas(betas)
        lead = betas.shape[:-1]
        flat = betas.reshape(-1, betas.shape[-1])
        m = self.model
        v_shaped = m.v_template + torch.einsum("bl,vcl->bvc", flat, m.shapedirs)
        return vertices2joints(m.J_regressor, v_shaped).reshape(*lead, -1, 3)

    def offsets(self, betas) -> torch.Tensor:
        """(..., num_betas) -> T-pose offsets (..., 24, 3) (row 0: the root joint's model position)."""
        return offsets_from_positions(self.tpose_joints(betas))

    def fit_betas(self, body: dict, steps: int = 100, prior: float = 1e-5) -> torch.Tensor:
        """Betas (num_betas,) whose skeleton measures like ``body`` (height, arm and leg length).

        The model's gender is used as loaded; ``body['sex']`` only picks the file the caller opens.
        A small ``prior`` on |betas|^2 keeps the three-measurement fit in the plausible part of the space.
        """
        b = validate_body(body)
        target = torch.tensor([b["height"], b["arm_length"], b["leg_length"]], dtype=torch.float64)
        betas = torch.zeros(self.num_betas, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([betas], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-12, tolerance_change=1e-14)

        def closure():
            opt.zero_grad()
            m = measure_offsets(self.offsets(betas))
            loss = ((torch.stack([m["height"], m["arm_length"], m["leg_length"]]) - target) ** 2).sum()
            loss = loss + prior * (betas ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        return betas.detach()

    def vertices(self, local_rot: torch.Tensor, betas=None, tran: torch.Tensor | None = None) -> torch.Tensor:
        """Posed mesh (..., V, 3) for local rotations (..., 24, 3, 3); the pelvis joint is put at ``tran``
        (..., 3) (the project's convention, unlike SMPL's ``transl``), or at the origin."""
        lead = local_rot.shape[:-3]
        rot = local_rot.to(torch.float64).reshape(-1, 24, 3, 3)
        betas = self._betas(betas).expand(*lead, self.num_betas).reshape(-1, self.num_betas)
        m = self.model
        verts, joints = lbs(betas, rot, m.v_template, m.shapedirs, m.posedirs, m.J_regressor, m.parents,
                            m.lbs_weights, pose2rot=False)
        verts = verts - joints[:, :1]
        if tran is not None:
            verts = verts + tran.to(verts).reshape(-1, 1, 3)
        return verts.reshape(*lead, -1, 3)
