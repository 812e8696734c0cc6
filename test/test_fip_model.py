"""FIP network: shapes, output assembly, input normalisation, sequence continuation, component injection."""

import json
from dataclasses import replace

import pytest
import roma
import torch

from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.rotations import matrix_to_sixd, sixd_to_matrix
from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, IGNORED_JOINTS, SKELETON_JOINTS
from fip_ros.fip import DEFAULT, FIP, PAPER
from fip_ros.fip.config import get_config
from fip_ros.fip.inputs import normalize
from fip_ros.fip.layers import sixd_to_rotmat
from fip_ros.fip.tree_ik import TreeIK

torch.manual_seed(0)
BODIES = torch.tensor([[1.0, 1.80, 0.60, 0.90], [0.0, 1.62, 0.52, 0.80]])


def inputs(b=2, t=9):
    return torch.randn(b, t, 6, 3) * 3, roma.random_rotmat((b, t, 6))


@pytest.fixture(scope="module")
def model():
    return FIP("default").eval()


def test_forward_shapes_and_assembly(model):
    acc, ori = inputs()
    with torch.no_grad():
        out = model(acc, ori, BODIES)
    assert out["skeleton"].shape == (2, len(SKELETON_JOINTS), 3)
    assert out["leaf_pos"].shape == (2, 9, 5, 3)
    assert out["nodes"].shape == (2, 9, 19, 3)
    assert out["rot15"].shape == (2, 9, 15, 3, 3)
    assert out["local_rot"].shape == (2, 9, 24, 3, 3)
    assert out["joints"].shape == (2, 9, 24, 3)
    local = out["local_rot"]
    # Joint 0 is the pelvis sensor's orientation; the 9 ignored joints have identity local rotation.
    torch.testing.assert_close(local[:, :, 0], ori[:, :, 5])
    ignored = [j for j in IGNORED_JOINTS if j]
    torch.testing.assert_close(local[:, :, ignored], torch.eye(3).expand_as(local[:, :, ignored]))
    # Estimated joints: root-relative global rotations match rot15, FK matches the core implementation.
    glob, pos = forward_kinematics(local, out["offsets"][:, None])
    rel = ori[:, :, 5, None].transpose(-1, -2) @ glob[:, :, list(ESTIMATED_JOINTS)]
    torch.testing.assert_close(rel, out["rot15"], atol=1e-5, rtol=0)
    torch.testing.assert_close(out["joints"], pos, atol=1e-5, rtol=0)
    assert out["joints"][:, :, 0].abs().max() == 0
    # The regressed skeleton lands in the 24-row offsets at SKELETON_JOINTS.
    torch.testing.assert_close(out["offsets"][:, list(SKELETON_JOINTS)], out["skeleton"])


def test_rotations_are_proper(model):
    acc, ori = inputs(1, 4)
    with torch.no_grad():
        rot = model(acc, ori, BODIES[:1])["rot15"]
    torch.testing.assert_close(rot @ rot.transpose(-1, -2), torch.eye(3).expand_as(rot), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(rot.shape[:-2]), atol=1e-5, rtol=0)


def test_sixd_matches_core_convention():
    d6 = matrix_to_sixd(roma.random_rotmat(100)) * 2 + 0.2 * torch.randn(100, 6)  # well conditioned
    torch.testing.assert_close(sixd_to_rotmat(d6), sixd_to_matrix(d6), atol=1e-5, rtol=0)


def test_normalize_known_values_and_world_invariance():
    acc, ori = inputs(1, 3)
    feats, leaf_rot, root_rot = normalize(acc, ori)
    expect = ori[0, 0, 5].T @ (acc[0, 0, 1] - acc[0, 0, 5]) / 30.0
    torch.testing.assert_close(feats[0, 0, 1, :3], expect)
    torch.testing.assert_close(feats[0, 0, 3, 3:].reshape(3, 3), ori[0, 0, 5].T @ ori[0, 0, 3])
    torch.testing.assert_close(root_rot, ori[..., 5, :, :])
    # A change of world frame leaves the features unchanged (they are all root-relative).
    w = roma.random_rotmat()
    feats_w, _, _ = normalize((w @ acc[..., None])[..., 0], w @ ori)
    torch.testing.assert_close(feats_w, feats, atol=1e-5, rtol=0)


def test_state_continues_a_sequence(model):
    acc, ori = inputs(2, 10)
    init = roma.random_rotmat((2, 15))
    with torch.no_grad():
        whole = model(acc, ori, BODIES, init)
        first = model(acc[:, :4], ori[:, :4], BODIES, init)
        second = model(acc[:, 4:], ori[:, 4:], BODIES, state=first["state"])
    torch.testing.assert_close(second["local_rot"], whole["local_rot"][:, 4:], atol=1e-5, rtol=0)
    torch.testing.assert_close(second["joints"], whole["joints"][:, 4:], atol=1e-5, rtol=0)


def test_init_pose_and_body_matter(model):
    acc, ori = inputs(1, 3)
    with torch.no_grad():
        a = model(acc, ori, BODIES[:1])["leaf_pos"]
        b = model(acc, ori, BODIES[:1], roma.random_rotmat((1, 15)))["leaf_pos"]
        c = model(acc, ori, BODIES[1:])["leaf_pos"]
    assert (a - b).abs().max() > 1e-4 and (a - c).abs().max() > 1e-4


def test_configs_and_injection():
    assert PAPER.integral_lstm == 256 and PAPER.tpose_hidden == (1024, 1024) and PAPER.body_embed == 128
    assert get_config(DEFAULT.to_dict()) == DEFAULT
    with pytest.raises(ValueError):
        get_config("nope")
    as_json = json.loads(json.dumps({"ik_hidden": (8,), "lower_levels": DEFAULT.lower_levels}))
    partial = get_config(as_json)  # a partial JSON object changes the default config; arrays become tuples
    assert partial == replace(DEFAULT, ik_hidden=(8,)) and hash(partial)
    with pytest.raises(ValueError, match=r"unknown FIP config fields: \['ik'\]"):
        get_config({"ik": [8]})
    small = FIP(PAPER.__class__(**{**DEFAULT.to_dict(), "ik_hidden": (8,)}))
    custom_ik = TreeIK(small.cfg)
    assert FIP(small.cfg, ik=custom_ik).ik is custom_ik
    bad = {**DEFAULT.to_dict(), "upper_levels": ((13, 16), (14, 17, 19))}
    with pytest.raises(ValueError, match="cover exactly"):
        FIP(bad)
