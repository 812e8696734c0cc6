"""AMASS loader (user-supplied ``.npz`` per sequence: ``poses`` (N,156) SMPL+H or (N,72) SMPL axis-angle,
``trans`` (N,3), ``betas``, ``gender``, ``mocap_framerate``; data-formats.md) -> Motion.

- Pose: root + 21 body joints as stored; SMPL's hand joints 22/23 take the SMPL+H hand roots (joints 22
  and 37 of the 52, the first joint of each hand's first finger), as in TransPose/PIP.
- AMASS is z up: the whole motion is turned by ``Z_UP_TO_Y_UP`` (-90 degrees about x) into the SMPL frame.
- Rate: resampled to 60 Hz (``fip_ros.core.resample``: 120 Hz keeps every 2nd frame, other rates slerp).
- Skeleton: with SMPL model files (``model_path``, ``fip_ros.core.smpl_model.SmplBody``) the offsets of the
  sequence's betas and gender; without them ``offsets_for_body`` of a nominal body of the gender
  (``NOMINAL_BODIES``, the default skeleton's proportions), so the motion is right but the body shape is
  not the subject's. 'neutral' counts as male for the body vector (it has no neutral code).
- ``tran`` is the pelvis: ``trans`` + the model's root joint (when known), turned to y up; the floor is put
  at y = 0 under the lowest foot joint of the clip, as for the mocap clips (``fip_ros.data.retarget``).
"""

from pathlib import Path

import numpy as np
import torch

from fip_ros.core import safe_pickle
from fip_ros.core.body_model import offsets_for_body
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.resample import resample
from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.data.motion import Motion
from fip_ros.data.retarget import FOOT_JOINTS

Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # (x, y, z) -> (x, z, -y)
SMPLH_HAND_ROOTS = (22, 37)  # of the 52 SMPL+H joints: first joint of the left and of the right hand
NOMINAL_BODIES = {  # the default skeleton at a typical height (its own arm and leg proportions)
    "male": dict(sex="male", height=1.75, arm_length=0.506, leg_length=0.844),
    "female": dict(sex="female", height=1.63, arm_length=0.472, leg_length=0.786),
}


def _gender(value) -> str:
    g = value.item() if isinstance(value, np.ndarray) else value
    g = (g.decode("latin1") if isinstance(g, bytes) else str(g)).strip().lower()
    return g if g in ("male", "female") else "neutral"


def smpl_axis_angle(poses: np.ndarray) -> np.ndarray:
    """(N,156) SMPL+H or (N,72) SMPL axis-angle -> (N,24,3) SMPL."""
    poses = np.asarray(poses, np.float64)
    if poses.shape[1] == 72:
        return poses.reshape(-1, 24, 3)
    if poses.shape[1] != 156:
        raise ValueError(f"poses must be N x 156 (SMPL+H) or N x 72 (SMPL), got {poses.shape}")
    joints = poses.reshape(-1, 52, 3)
    return np.concatenate([joints[:, :22], joints[:, list(SMPLH_HAND_ROOTS)]], 1)


def load_amass(path, model_path: str | None = None, target_fps: float = 60.0) -> Motion:
    """One AMASS sequence -> Motion (60 Hz, SMPL frame y up, floor at y = 0); see the module doc."""
    path = Path(path)
    z = safe_pickle.load_npz(path)  # no code runs from the file
    try:
        aa, trans = smpl_axis_angle(z["poses"]), np.asarray(z["trans"], np.float64)
        betas, gender = np.asarray(z["betas"], np.float64), _gender(z["gender"])
        fps = float(z["mocap_framerate"])
    except KeyError as exc:
        raise ValueError(f"{path}: not an AMASS sequence (no {exc.args[0]!r})") from None
    sex = "female" if gender == "female" else "male"
    local = axis_angle_to_matrix(torch.from_numpy(aa)).numpy()
    if model_path:
        from fip_ros.core.smpl_model import SmplBody  # needs smplx, an optional dependency

        smpl = SmplBody(model_path, gender)
        offsets = smpl.offsets(betas[:smpl.num_betas]).numpy()
        trans = trans + offsets[0]  # SMPL's transl moves the model; the pelvis sits at its root joint
    else:
        offsets = offsets_for_body(NOMINAL_BODIES[sex]).double().numpy()
    local[:, 0] = Z_UP_TO_Y_UP @ local[:, 0]
    local, tran = resample(local, trans @ Z_UP_TO_Y_UP.T, fps, target_fps)

    off_t = torch.from_numpy(offsets)
    joints = forward_kinematics(torch.from_numpy(local), off_t, torch.from_numpy(tran))[1].numpy()
    tran = tran - np.array([0.0, joints[:, FOOT_JOINTS, 1].min(), 0.0])
    return Motion(local.astype(np.float32), tran.astype(np.float32), offsets.astype(np.float32), sex,
                  target_fps, subject=f"amass-{path.parent.name}", source="amass", name=path.stem)
