"""SmplBody on a generated model file in the real SMPL format (a small random mesh, not the licensed one)."""

import pickle

import numpy as np
import pytest
import scipy.sparse
import torch

from fip_ros.core.body_model import default_offsets, measure_offsets, tpose_positions
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.core.smpl_model import SmplBody
from fip_ros.core.smpl_tree import PARENTS

PER_JOINT = 10  # vertices clustered around each joint


def _fake_model(seed=0) -> dict:
    """24 rigid vertex clusters centred on the default skeleton's joints: the regressor averages each cluster,
    skinning weights are one-hot, so posed clusters follow forward kinematics exactly."""
    rng = np.random.default_rng(seed)
    joints = tpose_positions(default_offsets(1.7)).numpy()
    v = np.repeat(joints, PER_JOINT, 0) + rng.normal(0, 0.02, (24 * PER_JOINT, 3))
    owner = np.repeat(np.arange(24), PER_JOINT)
    regressor = np.zeros((24, v.shape[0]))
    regressor[owner, np.arange(v.shape[0])] = 1.0 / PER_JOINT
    # Shape directions: smooth stretches of the whole body, so betas change height and limb lengths.
    shapedirs = np.einsum("vc,lc->vcl", v, rng.normal(0, 0.05, (10, 3)))
    shapedirs = shapedirs + rng.normal(0, 0.002, (len(v), 3, 10))
    return {
        "v_template": v, "shapedirs": shapedirs, "posedirs": np.zeros((len(v), 3, 207)),
        "J_regressor": regressor, "weights": np.eye(24)[owner],
        "kintree_table": np.stack([np.array(PARENTS) % 2**32, np.arange(24)]).astype(np.int64),
        "f": rng.integers(0, len(v), (300, 3)).astype(np.uint32),
    }


@pytest.fixture(scope="module", params=["folder-pkl", "folder-npz", "named-pkl"])
def body(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    model = _fake_model()
    model["J_regressor"] = scipy.sparse.csc_matrix(model["J_regressor"])  # as in the released files
    if request.param == "folder-npz":
        np.savez(folder / "SMPL_MALE.npz", **model)  # the sparse matrix becomes a pickled 0-d object
        return SmplBody(str(folder), gender="male")
    name = "SMPL_MALE.pkl" if request.param == "folder-pkl" else "basicmodel_m_lbs_10_207_0_v1.1.0.pkl"
    path = folder / name
    with open(path, "wb") as f:
        pickle.dump(model, f)
    return SmplBody(str(folder) if request.param == "folder-pkl" else str(path), gender="male")


def test_missing_model_file_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="SMPL_FEMALE"):
        SmplBody(str(tmp_path), gender="female")


def test_zero_betas_give_template_skeleton(body):
    expected = tpose_positions(default_offsets(1.7)).double()
    joints = body.tpose_joints(torch.zeros(10))
    np.testing.assert_allclose(joints - joints[0], expected, atol=0.02)
    assert body.faces.shape == (300, 3)


def test_fit_betas_reaches_reachable_measurements(body):
    true = torch.tensor([0.8, -0.5, 0.3, 0.0, 0.2, 0.0, -0.4, 0.1, 0.0, 0.3], dtype=torch.float64)
    m = {k: float(v) for k, v in measure_offsets(body.offsets(true)).items()}
    target = dict(sex="male", **m)
    fitted = measure_offsets(body.offsets(body.fit_betas(target)))
    for key in ("height", "arm_length", "leg_length"):
        assert abs(float(fitted[key]) - m[key]) < 1e-3, key


def test_vertices_follow_forward_kinematics(body):
    gen = torch.Generator().manual_seed(1)
    local = axis_angle_to_matrix(torch.randn(5, 24, 3, generator=gen, dtype=torch.float64) * 0.4)
    tran = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    betas = torch.randn(10, generator=gen, dtype=torch.float64) * 0.5
    verts = body.vertices(local, betas, tran)
    assert verts.shape == (5, 24 * PER_JOINT, 3)
    cluster_means = verts.reshape(5, 24, PER_JOINT, 3).mean(2)
    _, joints = forward_kinematics(local, body.offsets(betas), tran)
    np.testing.assert_allclose(cluster_means, joints, atol=1e-6)  # smplx stores float32
