"""Contacts, stance-foot translation and ground reactions on constructed motions with known answers."""

import pytest
import torch

from fip_ros.core.body_model import default_offsets
from fip_ros.core.gravity import GRAVITY
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.physics.contact import contact_from_trajectory
from fip_ros.physics.dynamics_estimator import DynamicsEstimator, analyse
from fip_ros.physics.segments import build_segments
from fip_ros.physics.translation import estimate_translation

pytestmark = pytest.mark.usefixtures("torch_float64")  # double precision, restored afterwards

MASS, HEIGHT = 73.0, 1.73
BODY = dict(sex="male", height=HEIGHT, mass=MASS)


@pytest.fixture(scope="module")
def model():
    off = default_offsets(HEIGHT).double()
    return off, build_segments(off, MASS, HEIGHT, "male")


def _standing(off, T=40):
    local_rot = torch.eye(3).expand(T, 24, 3, 3).clone()
    _, pos = forward_kinematics(local_rot[0], off)
    root_y = -(pos[7, 1] - 0.042 * HEIGHT)  # ankle sole on the floor
    return local_rot, torch.tensor([0.0, float(root_y), 0.0]).expand(T, 3).clone()


def test_standing_contacts_and_weight(model):
    off, seg = model
    local_rot, root = _standing(off)
    _, pos = forward_kinematics(local_rot, off, root)
    _, foot, floor = contact_from_trajectory(pos, HEIGHT)
    assert float(floor.abs().max()) < 1e-3
    assert bool((foot > 0.95).all())
    out = analyse(local_rot, root, foot, off, seg)
    grf = out["grf"][20]
    assert torch.allclose(grf.sum(0), torch.tensor([0.0, MASS * GRAVITY, 0.0]), rtol=0.01)
    # Symmetric stance: mirror-image forces, each leaning in from its foot towards the centre of mass.
    assert torch.allclose(grf[0] * torch.tensor([-1.0, 1.0, 1.0]), grf[1], atol=1e-6)
    assert float(grf[0, 0]) < 0.0
    # Symmetric T-pose: the clamped CoPs explain the moment up to the soles' toe-out (< 0.5 BWBH%).
    assert out["residual_moment"][20].abs().max() < 0.005 * MASS * GRAVITY * HEIGHT
    assert out["residual_force"][20].abs().max() < 0.02 * MASS * GRAVITY


def test_single_support_known_answer(model):
    """One foot down, other lifted (p = 0): it carries the whole weight and the knee moment is the lever
    arm of the CoP-ankle offset times the weight minus what the foot and shank hold (checked by hand)."""
    off, seg = model
    local_rot, root = _standing(off)
    contact = torch.tensor([1.0, 0.0]).expand(len(root), 2)
    out = analyse(local_rot, root, contact, off, seg)
    assert torch.allclose(out["grf"][20, 0], torch.tensor([0.0, MASS * GRAVITY, 0.0]), atol=1e-6)
    assert out["grf"][20, 1].abs().max() < 1e-9
    # Left ankle: moment from the GRF at the CoP about the ankle plus the foot's weight.
    cop = out["cop"][20, 0]
    _, pos = forward_kinematics(local_rot[20], off, root[20])
    r = cop - pos[7]
    f = torch.tensor([0.0, MASS * GRAVITY, 0.0])
    foot_com = pos[7] + seg.com[7]
    w = torch.tensor([0.0, -seg.mass[7] * GRAVITY, 0.0])
    expected = -(torch.linalg.cross(r, f) + torch.linalg.cross(foot_com - pos[7], w))
    assert torch.allclose(out["moments"][20, 7], expected, atol=1e-6)


def test_translation_follows_planted_foot():
    """Left leg planted while the rest of the body glides forward at 1.2 m/s: the root follows."""
    off = default_offsets(HEIGHT).double()
    T, fps, v = 120, 60.0, 1.2
    _, tp = forward_kinematics(torch.eye(3).expand(24, 3, 3), off)
    rel = tp.expand(T, 24, 3).clone()
    t = torch.arange(T) / fps
    rel[:, [1, 4, 7, 10], 2] -= v * t[:, None]  # planted foot moves back relative to the root
    rel[:, [2, 5, 8, 11], 1] += 0.15  # the other foot is in the air
    root, foot = estimate_translation(rel, HEIGHT, fps)
    assert float(root[-1, 2]) == pytest.approx(v * float(t[-1]), rel=0.02)
    assert float(root[-1, 1]) == pytest.approx(-float(tp[7, 1]) + 0.042 * HEIGHT, abs=0.005)
    assert bool((foot[5:, 0] > 0.9).all()) and bool((foot[5:, 1] < 0.1).all())


def test_gliding_heel_strike_not_anchored():
    """Left foot planted, body at 1.2 m/s; the right foot lands still gliding forward at 1 m/s in the world
    (as mocap heel strikes do): over the next 0.2 s the root keeps within 10 % of the planted foot's speed.
    Speeds relative to the lowest point alone shared the anchor with the gliding foot (root at 0.70 m/s)."""
    off = default_offsets(HEIGHT).double()
    T, fps, v, glide = 60, 60.0, 1.2, 1.0
    _, tp = forward_kinematics(torch.eye(3).expand(24, 3, 3), off)
    rel = tp.expand(T, 24, 3).clone()
    t = torch.arange(T) / fps
    rel[:, [1, 4, 7, 10], 2] -= v * t[:, None]  # planted left foot moves back relative to the root
    air = (t < 0.5).double()  # right foot in the air, then down on the floor, gliding
    rel[:, [2, 5, 8, 11], 1] += 0.15 * air[:, None]
    rel[:, [2, 5, 8, 11], 2] += ((glide - v) * (t - 0.5).clamp(min=0))[:, None]
    root, _ = estimate_translation(rel, HEIGHT, fps)
    down = slice(32, 42)  # 1/30 s after touch-down to 0.2 s later
    speed = (root[down.stop, 2] - root[down.start, 2]) * fps / (down.stop - down.start)
    assert float(speed) == pytest.approx(v, rel=0.1)


def test_com_directed_grf_in_single_support(model):
    """grf_direction='com': the foot force points from its CoP at the centre of mass, with the vertical part
    of the momentum change; 'momentum': the feet carry the whole momentum change (body pushed sideways)."""
    off, seg = model
    local_rot, root = _standing(off)
    root = root.clone()
    root[:, 0] += 0.5 * (torch.arange(len(root)) / 60.0) ** 2  # 1 m/s^2 sideways
    contact = torch.tensor([1.0, 0.0]).expand(len(root), 2)
    com_out = analyse(local_rot, root, contact, off, seg, grf_direction="com")
    mom_out = analyse(local_rot, root, contact, off, seg, grf_direction="momentum")
    f, cop = com_out["grf"][20, 0], com_out["cop"][20, 0]
    from fip_ros.physics.ground_reaction import centre_of_mass
    from fip_ros.physics.inverse_dynamics import kinematics_from_motion

    kin = kinematics_from_motion(local_rot, off, root, 60.0, 9)
    to_com = centre_of_mass({k: v[20] for k, v in kin.items()}, seg) - cop
    assert torch.allclose(f / f[1], to_com / to_com[1], atol=1e-9)
    assert float(f[1]) == pytest.approx(float(mom_out["grf"][20, 0, 1]), rel=1e-9)
    assert float(mom_out["grf"][20, 0, 0]) == pytest.approx(MASS * 1.0, rel=0.02)
    # What the foot no longer explains stays at the root.
    assert float(com_out["residual_force"][20, 0]) == pytest.approx(MASS * 1.0 - float(f[0]), rel=1e-6)


def test_streaming_matches_offline(model):
    """The streaming estimator's output for frame t equals the offline analysis of the whole sequence."""
    off, seg = model
    T = 24
    local_rot, _ = _standing(off, T=T)
    wiggle = 0.3 * torch.sin(torch.arange(T) / 5.0)[:, None]
    local_rot[:, 1] = torch.linalg.matrix_exp(wiggle[:, :, None] * torch.tensor(
        [[0.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]))  # left hip swings
    est = DynamicsEstimator(BODY)
    outs = [est.step(r) for r in local_rot]
    assert outs[est.window] is None and outs[-1] is not None
    _, rel = forward_kinematics(local_rot, off)
    root, contact = estimate_translation(rel, HEIGHT)
    offline = analyse(local_rot, root, contact, off, seg, window=est.window, grf_direction=est.grf_direction)
    frame = T - 1 - est.delay
    assert torch.allclose(outs[-1]["moments"], offline["moments"][frame], atol=1e-6)
    assert torch.allclose(outs[-1]["translation"], root[frame])


def test_measured_root_acceleration_sets_the_vertical_force(model):
    """A body bobbing up and down while its root path stays flat (as stance anchoring would give it): with
    the measured root acceleration the feet carry m (g + a_y); from the path alone, only m g. The streaming
    estimator does the same from pelvis sensor readings."""
    off, seg = model
    T = 60
    local_rot, root = _standing(off, T=T)
    t = torch.arange(T) / 60.0
    a_y = -0.05 * 36.0 * torch.sin(6.0 * t)  # root height 0.05 sin(6 t)
    measured = torch.stack([0 * t, a_y, 0 * t], -1)
    contact = torch.ones(T, 2)
    with_acc = analyse(local_rot, root, contact, off, seg, root_acc=measured)
    path_only = analyse(local_rot, root, contact, off, seg)
    inner = slice(10, -10)
    assert torch.allclose(with_acc["grf"][inner, :, 1].sum(-1), MASS * (GRAVITY + a_y[inner]), rtol=2e-3)
    weight = torch.full((T - 20,), MASS * GRAVITY)
    assert torch.allclose(path_only["grf"][inner, :, 1].sum(-1), weight, rtol=1e-6)
    est = DynamicsEstimator(BODY)
    pelvis = [est.step(r, a) for r, a in zip(local_rot, measured, strict=True)][-1]
    frame = T - 1 - est.delay
    assert float(pelvis["grf"][..., 1].sum()) == pytest.approx(MASS * (GRAVITY + float(a_y[frame])), rel=5e-3)
