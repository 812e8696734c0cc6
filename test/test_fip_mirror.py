"""Mirror averaging: the left-right maps, the mean rotation, and a network that, averaged with its mirror
image, moves exactly as a mirror image when its input is mirrored (the plain network does not)."""

import math
from dataclasses import replace

import roma
import torch

from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, SKELETON_JOINTS
from fip_ros.fip import FIP, mirror
from fip_ros.fip.layers import sixd_to_rotmat

torch.manual_seed(3)
BODY = torch.tensor([[0.0, 1.68, 0.55, 0.82]])


def _about(axis, degrees):
    return axis_angle_to_matrix(torch.tensor(axis, dtype=torch.float32) * math.radians(degrees))


def test_partners_swap_left_and_right():
    assert mirror.SENSOR_PARTNERS == [1, 0, 3, 2, 4, 5]  # forearms, lower legs; head and pelvis stay
    assert mirror.LEAF_PARTNERS == [1, 0, 3, 2, 4]
    tables = ((SKELETON_JOINTS, mirror.NODE_PARTNERS), (ESTIMATED_JOINTS, mirror.ROTATION_PARTNERS))
    for joints, partners in tables:
        pairs = {joints[i]: joints[k] for i, k in enumerate(partners)}
        assert pairs[16] == 17 and pairs[1] == 2 and pairs[15] == 15  # shoulders, hips swap; the head stays
        assert all(partners[k] == i for i, k in enumerate(partners))  # mirroring twice is the identity


def test_mirror_image_of_known_rotations_and_accelerations():
    # A left forearm rolled 30 deg about z (its hand up) is, in the mirror, the right forearm rolled -30 deg;
    # a yaw turns the other way; a pitch (about x, across the body) stays.
    ori = torch.eye(3).repeat(6, 1, 1)
    ori[0], ori[5] = _about([0, 0, 1], 30), _about([1, 0, 0], 20) @ _about([0, 1, 0], 40)
    acc = torch.zeros(6, 3)
    acc[2] = torch.tensor([1.0, 2.0, 3.0])  # left lower leg
    acc_m, ori_m = mirror.mirror_imu(acc, ori)
    assert torch.allclose(ori_m[1], _about([0, 0, 1], -30), atol=1e-6)
    assert torch.allclose(ori_m[0], torch.eye(3))
    assert torch.allclose(ori_m[5], _about([1, 0, 0], 20) @ _about([0, 1, 0], -40), atol=1e-6)
    assert torch.equal(acc_m[3], torch.tensor([-1.0, 2.0, 3.0])) and not acc_m[2].any()
    twice = mirror.mirror_imu(*mirror.mirror_imu(acc, ori))
    assert torch.equal(twice[0], acc) and torch.equal(twice[1], ori)


def test_mean_rotation_is_halfway():
    axis = torch.nn.functional.normalize(torch.randn(3), dim=0).tolist()
    start = roma.random_rotmat()
    for gap in (4.0, 40.0, 150.0):
        mean = mirror.mean_rotation(start, start @ _about(axis, gap), sixd_to_rotmat)
        assert torch.allclose(mean, start @ _about(axis, gap / 2), atol=1e-5), gap
    r = roma.random_rotmat(2)
    assert torch.equal(mirror.mean_rotation(r[0], r[1], sixd_to_rotmat),
                       mirror.mean_rotation(r[1], r[0], sixd_to_rotmat))


def _rot15(model, acc, ori, leaf0):
    """rot15 of a sequence through ``frames`` from a given initial leaf layout, from zero state."""
    skeleton, offsets, _, emb_up, emb_lo = model.startup(BODY)
    state = model.zero_state(1)
    with torch.no_grad():
        return model.frames(acc, ori, skeleton, offsets, leaf0, emb_up, emb_lo, *state.values())[2]


def test_averaged_network_is_mirror_equivariant_and_the_plain_one_is_not():
    averaged = FIP("default").eval()
    plain = FIP(replace(averaged.cfg, mirror_average=False)).eval()
    plain.load_state_dict(averaged.state_dict())
    acc, ori = torch.randn(1, 30, 6, 3) * 3, roma.random_rotmat((1, 30, 6))
    acc_m, ori_m = mirror.mirror_imu(acc, ori)
    with torch.no_grad():
        leaf0 = averaged.startup(BODY)[2]
    leaf0 = (leaf0 + mirror.mirror_points(leaf0, mirror.LEAF_PARTNERS)) / 2  # a symmetric start
    gaps = {}
    for name, model in (("averaged", averaged), ("plain", plain)):
        seen = mirror.mirror_rotations(_rot15(model, acc_m, ori_m, leaf0), mirror.ROTATION_PARTNERS)
        gaps[name] = (seen - _rot15(model, acc, ori, leaf0)).abs().max()
    assert gaps["averaged"] <= 1e-5 and gaps["plain"] >= 1e-2, gaps


def test_averaging_is_for_inference_only():
    model = FIP("default")
    width = model.zero_state(2)["h_up"].shape[-1]
    assert width == model.cfg.body_lstm  # training: the plain network
    assert model.eval().zero_state(2)["h_up"].shape[-1] == 2 * width  # the mirror image's state beside it
    assert model.eval().zero_state(2)["h_int"].shape[1] == 10  # still 5 rows per body
