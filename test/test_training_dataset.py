"""Training windows: augmentation, start-up from a calibration pose, IMU synthesis after augmentation."""

import pytest
import torch
from helpers import FAKE_BODY, write_fake_dataset

from fip_ros.core.body_model import DE_LEVA_LENGTHS_MM, measure_offsets, offsets_for_body
from fip_ros.core.imu_synthesis import STENCIL
from fip_ros.core.kinematics import forward_kinematics, root_relative_rot15
from fip_ros.core.resample import ease_into
from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.core.smpl_tree import MIRROR
from fip_ros.training import augment
from fip_ros.training.augment import AugmentConfig
from fip_ros.training.dataset import WindowSampler, fixed_windows, load_split


def test_resample_at_speed_one_is_identity_and_mirror_twice_is_identity(tmp_path):
    clip = load_split(write_fake_dataset(tmp_path), "train")[0]
    rot, tran = augment.at_speed(clip.local_rot, clip.tran, 1.0, 100, start=20.0)
    assert torch.allclose(rot, clip.local_rot[20:120], atol=1e-5)
    assert torch.allclose(tran, clip.tran[20:120])
    fast, _ = augment.at_speed(clip.local_rot, clip.tran, 2.0, 50)
    assert torch.allclose(fast, clip.local_rot[0:100:2], atol=1e-5)
    m = augment.mirror(*augment.mirror(rot, tran, clip.offsets))
    for a, b in zip(m, (rot, tran, clip.offsets), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    mrot, mtran, moff = augment.mirror(rot, tran, clip.offsets)
    assert torch.allclose(moff[16], clip.offsets[17] * torch.tensor([-1.0, 1, 1]))
    assert torch.allclose(mtran[:, 0], -tran[:, 0])


def test_ease_into_holds_then_eases_symmetrically_to_the_target():
    """Known answers: a quarter turn about y, held 3 frames, eased over 5 (weights 0.5 - 0.5 cos(k pi / 6),
    k = 1..5: 6.7, 25, 50, 75, 93.3 % of the turn), the frame after them being the target."""
    start = torch.eye(3, dtype=torch.float64).expand(2, 3, 3)
    target = axis_angle_to_matrix(torch.tensor([[0.0, torch.pi / 2, 0.0]] * 2, dtype=torch.float64))
    out = ease_into(start, target, 3, 5)
    assert out.shape == (8, 2, 3, 3) and torch.allclose(out[:3], start.expand(3, 2, 3, 3))
    angle = torch.atan2(out[3:, 0, 0, 2], out[3:, 0, 0, 0]) / (torch.pi / 2)
    half = 3 ** 0.5 / 4  # 0.5 cos(30 deg)
    expected = torch.tensor([0.5 - half, 0.25, 0.5, 0.75, 0.5 + half], dtype=torch.float64)
    assert torch.allclose(angle, expected, atol=1e-9)


def test_lead_in_holds_the_calibration_pose_facing_the_motion_where_it_starts():
    """A clip starting turned 90 deg about y at (1, 0.9, 2): the lead-in holds the T-pose turned the same way
    at that spot, its root rotation only the heading (the clip's pitch dropped); the clip follows unchanged.
    prepend_calibration puts the same lead-in in place of the window's first frames."""
    yaw, tilt = (axis_angle_to_matrix(torch.tensor(v, dtype=torch.float64))
                 for v in ([0.0, torch.pi / 2, 0.0], [0.3, 0.0, 0.0]))
    rot = axis_angle_to_matrix(torch.rand(20, 24, 3, dtype=torch.float64) * 0.5)
    rot[:, 0] = yaw @ tilt
    tran = torch.tensor([1.0, 0.9, 2.0], dtype=torch.float64) + torch.rand(20, 3, dtype=torch.float64) * 0.1
    tran[0] = torch.tensor([1.0, 0.9, 2.0])
    tpose = torch.eye(3, dtype=torch.float64).repeat(24, 1, 1)
    tpose[16] = axis_angle_to_matrix(torch.tensor([0.0, 0.0, 0.4], dtype=torch.float64))
    out_rot, out_tran = augment.lead_in(rot, tran, tpose, 4, 3)
    assert out_rot.shape == (27, 24, 3, 3)
    assert torch.equal(out_rot[7:], rot) and torch.equal(out_tran[7:], tran)
    assert torch.allclose(out_rot[:4, 0], yaw.expand(4, 3, 3), atol=1e-12)
    assert torch.allclose(out_rot[:4, 1:], tpose[1:].expand(4, 23, 3, 3))
    assert torch.equal(out_tran[:7], tran[:1].expand(7, 3))
    window = torch.cat([rot[:7], rot]), torch.cat([tran[:7], tran])
    in_place = augment.prepend_calibration(*window, tpose, 4, 3)
    assert torch.equal(in_place[0], out_rot) and torch.equal(in_place[1], out_tran)


def test_mirrored_left_arm_raise_is_a_right_arm_raise():
    """Left shoulder turned +90 deg about z lifts the left arm (+x) straight up; mirrored, the right arm is up
    and every joint is the original's mirror image (x -> -x, left <-> right)."""
    off = offsets_for_body(FAKE_BODY).double()
    rot = torch.eye(3, dtype=torch.float64).repeat(1, 24, 1, 1)
    rot[0, 16] = axis_angle_to_matrix(torch.tensor([0.0, 0.0, torch.pi / 2], dtype=torch.float64))
    tran = torch.tensor([[0.1, 0.9, 0.2]], dtype=torch.float64)
    pos = forward_kinematics(rot, off, tran)[1][0]
    mrot, mtran, moff = augment.mirror(rot, tran, off)
    mpos = forward_kinematics(mrot, moff, mtran)[1][0]
    arm = float(off[18].norm() + off[20].norm())
    assert float(pos[20, 1] - pos[16, 1]) == pytest.approx(arm, abs=1e-9)  # left wrist straight above
    assert float(mpos[21, 1] - mpos[17, 1]) == pytest.approx(arm, abs=1e-9)  # mirrored: the right one
    assert float(mpos[20, 1] - mpos[16, 1]) == pytest.approx(0.0, abs=1e-9)  # left arm level (T-pose)
    reflect = torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    assert torch.allclose(mpos, pos[list(MIRROR)] * reflect, atol=1e-12)


def _arm(rot, off, arm):
    """(T, 3) unit upper arm of ``arm`` (0 left, 1 right) in world coordinates by forward kinematics."""
    pos = forward_kinematics(rot, off)[1]
    d = pos[:, 18 + arm] - pos[:, 16 + arm]
    return d / d.norm(dim=-1, keepdim=True)


def _elevation(d):
    return torch.rad2deg(torch.acos(-d[:, 1]))


def test_raise_arm_known_answers():
    off = offsets_for_body(FAKE_BODY).double()
    off[18] = off[18].norm() * torch.tensor([1.0, 0, 0], dtype=torch.float64)  # upper arms exactly along x
    off[19] = off[19].norm() * torch.tensor([-1.0, 0, 0], dtype=torch.float64)
    def z(deg):
        return axis_angle_to_matrix(torch.tensor([0.0, 0.0, deg * torch.pi / 180], dtype=torch.float64))

    f64 = dict(dtype=torch.float64)
    rot = torch.eye(3, dtype=torch.float64).repeat(4, 24, 1, 1)  # frame 0: T-pose
    rot[1, 16], rot[1, 17] = z(-90), z(90)  # frame 1: both arms hanging
    rot[2, 16], rot[2, 17] = z(70), z(-70)  # frame 2: 160 deg, near straight up
    rot[3, 16] = z(-45)  # frame 3: left arm 45 deg from hanging
    raised = augment.raise_arm(rot, off, 0, 30.0, forward=0.0)
    elevation = _elevation(_arm(raised, off, 0))
    assert torch.allclose(elevation, torch.tensor([120.0, 30, 170, 75], **f64), atol=1e-6)  # +30, cap 170
    # a hanging arm goes out to the side (+x for the left arm)
    assert torch.allclose(_arm(raised, off, 0)[1], torch.tensor([0.5, -(3 ** 0.5) / 2, 0], **f64), atol=1e-9)
    others = [i for i in range(24) if i != 16]
    assert torch.equal(raised[:, others], rot[:, others])
    front = augment.raise_arm(rot, off, 0, 30.0, forward=1.0)[1:2]
    # ... or forward (+z)
    assert torch.allclose(_arm(front, off, 0)[0], torch.tensor([0, -(3 ** 0.5) / 2, 0.5], **f64), atol=1e-9)
    right = augment.raise_arm(rot, off, 1, 30.0, forward=0.0)
    d = _arm(right, off, 1)
    assert torch.allclose(_elevation(d), torch.tensor([120.0, 30, 170, 120], **f64), atol=1e-6)
    assert bool((d[:, 0] < 0).all())  # the right arm stays on its side
    # mirroring commutes with raising: the right arm raised is the mirrored left arm raised
    tran = torch.zeros(4, 3, dtype=torch.float64)
    m_rot, _, m_off = augment.mirror(rot, tran, off)
    left_then_mirror = augment.mirror(augment.raise_arm(rot, off, 0, 30.0, 0.3), tran, off)[0]
    assert torch.allclose(augment.raise_arm(m_rot, m_off, 1, 30.0, 0.3), left_then_mirror, atol=1e-9)


@pytest.mark.parametrize("female_p", [0.0, 1.0])
def test_body_augmentation_draws_the_sex_with_fitting_proportions(tmp_path, female_p):
    clip = load_split(write_fake_dataset(tmp_path), "train")[0]  # a male clip
    cfg = AugmentConfig(speed=(1, 1), mirror_p=0, calib_start_p=0, init_noise_deg=0, female_p=female_p)
    b = WindowSampler([clip], 60, cfg, None, seed=0).sample(4)
    assert torch.equal(b["body"][:, 0], torch.full((4,), 1.0 - female_p))
    thigh_shank = b["offsets"][:, 4].norm(dim=-1) / b["offsets"][:, 7].norm(dim=-1)
    expected = clip.offsets[4].norm() / clip.offsets[7].norm()
    if female_p:  # de Leva: a woman's thigh / shank is 0.876 of a man's
        t = DE_LEVA_LENGTHS_MM
        expected = expected * (t["female"]["thigh"] / t["female"]["shank"]) / (t["male"]["thigh"]
                                                                             / t["male"]["shank"])
    assert torch.allclose(thigh_shank, expected.expand(4), rtol=1e-5)


def test_body_augmentation_changes_skeleton_body_vector_and_imu(tmp_path):
    clips = load_split(write_fake_dataset(tmp_path), "train")
    heights, accs = [], []
    for seed in range(2):
        cfg = AugmentConfig(speed=(1, 1), mirror_p=0, calib_start_p=0, init_noise_deg=0)
        b = WindowSampler(clips[:1], 60, cfg, None, seed=seed).sample(4)
        measured = measure_offsets(b["offsets"])["height"]
        assert torch.allclose(b["body"][:, 1], measured, atol=1e-5)  # body vector follows the new skeleton
        assert ((measured > 1.45) & (measured < 2.0)).all()
        heights.append(measured)
        accs.append(b["acc"])
    assert (heights[0].max() - heights[0].min()) > 0.02
    assert not torch.allclose(accs[0], accs[1])


def test_calibration_start_holds_tpose_and_inits_identity(tmp_path):
    clips = load_split(write_fake_dataset(tmp_path), "train")
    cfg = AugmentConfig(calib_start_p=1.0, calib_poses=("tpose",), init_noise_deg=0.0)
    b = WindowSampler(clips, 120, cfg, None, seed=1).sample(2)
    eye = torch.eye(3)
    assert torch.allclose(b["init_pose"], eye.expand(2, 15, 3, 3))
    held = root_relative_rot15(b["local_rot"][:, : cfg.calib_hold])
    assert torch.allclose(held, eye.expand_as(held), atol=1e-5)
    # held still: no leaf acceleration while the pose is held (pelvis fixed), motion after the blend
    assert b["acc"][:, 2 : cfg.calib_hold - STENCIL].abs().max() < 1e-3
    assert b["acc"][:, cfg.calib_hold + cfg.calib_blend :].abs().max() > 0.1


def test_plain_windows_start_from_true_first_frame(tmp_path):
    clips = load_split(write_fake_dataset(tmp_path), "val")
    v = fixed_windows(clips, 60, stride=30)
    assert v["acc"].shape == (len(range(0, 240 - 68 + 1, 30)), 60, 6, 3)
    assert torch.allclose(v["init_pose"], root_relative_rot15(v["local_rot"][:, 0]))
    # orientation of the pelvis sensor is the true root rotation
    assert torch.allclose(v["ori"][:, :, 5], v["local_rot"][:, :, 0], atol=1e-5)


@pytest.mark.parametrize("mirror_p", [0.0, 1.0])
def test_sampler_shapes_with_everything_on(tmp_path, mirror_p):
    from fip_ros.training.train import TRAIN_CORRUPTION

    clips = load_split(write_fake_dataset(tmp_path), "train")
    b = WindowSampler(clips, 90, AugmentConfig(mirror_p=mirror_p), TRAIN_CORRUPTION, seed=0).sample(3)
    assert b["acc"].shape == (3, 90, 6, 3) and b["ori"].shape == (3, 90, 6, 3, 3)
    assert b["local_rot"].shape == (3, 90, 24, 3, 3) and b["init_pose"].shape == (3, 15, 3, 3)
    assert torch.isfinite(b["acc"]).all()


def test_sensor_error_severity_scales_each_window(tmp_path):
    """Severity 0 gives the clean IMUs of the same windows; twice the severity about twice the error."""
    from fip_ros.training.train import TRAIN_CORRUPTION

    clips = load_split(write_fake_dataset(tmp_path), "train")

    def sample(corruption, severity=(1.0, 1.0)):
        return WindowSampler(clips, 90, None, corruption, seed=3, severity=severity).sample(8)

    clean = sample(None)
    assert torch.equal(sample(TRAIN_CORRUPTION, (0.0, 0.0))["acc"], clean["acc"])
    err = [float((sample(TRAIN_CORRUPTION, (s, s))["acc"] - clean["acc"]).std()) for s in (1.0, 2.0)]
    assert 1.7 < err[1] / err[0] < 2.3, err


def test_severity_help_states_the_training_default():
    """The torch-free command line writes TRAIN_SEVERITY's numbers out: the ones training uses."""
    from fip_ros.cli.train import build_parser
    from fip_ros.training.train import TRAIN_SEVERITY

    (severity,) = [a for a in build_parser()._actions if "--severity" in a.option_strings]
    assert "default: TRAIN_SEVERITY, {:g} {:g};".format(*TRAIN_SEVERITY) in severity.help


def test_augment_overrides_from_the_command_line(tmp_path, capsys):
    from fip_ros.cli.train import main
    from fip_ros.training.train import augment_config

    cfg = augment_config('{"arm_raise_p": 0, "speed": [1.0, 1.0]}')
    assert cfg.arm_raise_p == 0 and cfg.speed == (1.0, 1.0) and cfg.mirror_p == AugmentConfig().mirror_p
    assert augment_config(None) == AugmentConfig()
    for bad in ('{"arm_raise": 0}', "[0]", "{oops"):
        with pytest.raises(ValueError):
            augment_config(bad)
    assert main(["--out", str(tmp_path / "run"), "--augment", '{"arm_raise": 0}']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["fip-train: error: unknown AugmentConfig fields: ['arm_raise']"]
