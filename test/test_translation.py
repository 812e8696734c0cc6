"""Root translation (fip_ros.core.translation): known answers of the fusion with a scripted velocity net,
the shipped net on a still body, the API's out['translation'], the held-out figures with the shipped
weights."""

from pathlib import Path

import numpy as np
import pytest

from fip_ros.core.body_model import default_offsets
from fip_ros.core.translation import (
    FLIGHT_SNAP,
    MAX_FLIGHT,
    STEP_HEIGHT,
    TranslationEstimator,
    VelocityNet,
    default_weights_path,
    estimate_translation,
    feature_windows,
    frame_features,
)

FPS = 60.0
HEIGHT = 1.75
G = 9.81


class ScriptedNet:
    """Stands in for the velocity net: per call, the next (heading-frame velocity, contact) of a script."""

    def __init__(self, vel, contact):
        self.vel, self.contact, self.i = np.asarray(vel, float), np.asarray(contact, float), 0

    def __call__(self, windows):
        i = min(self.i, len(self.vel) - 1)
        self.i += 1
        return self.vel[i][None], self.contact[i][None]


def standing_joints(frames: int) -> np.ndarray:
    """(T, 24, 3) the default T-pose skeleton's joints minus the root, SMPL axes."""
    from fip_ros.core.body_model import tpose_positions

    pos = tpose_positions(default_offsets(HEIGHT).double()).numpy()
    return np.repeat((pos - pos[0])[None], frames, 0)


def still_imus(frames: int):
    """A still body facing +z: zero free acceleration, identity orientations."""
    return np.zeros((frames, 6, 3)), np.repeat(np.eye(3)[None, None], frames, 0).repeat(6, 1)


def walking_pose(frames: int, speed: float, step_time: float = 0.5):
    """Joints of a body walking at ``speed`` along +z with alternating stance feet: in the world, the stance
    foot stays where it landed (the root passes over it), the swing foot travels two strides with zero speed
    at lift and landing, lifted 5 cm. Returns joints minus the root (T, 24, 3) and the stance schedule as
    contact (T, 2)."""
    joints = standing_joints(frames)
    t = np.arange(frames) / FPS
    step, u = np.floor(t / step_time), (t % step_time) / step_time
    stride = speed * step_time
    root_z = speed * t
    contact = np.zeros((frames, 2))
    for foot, points in ((0, (7, 10)), (1, (8, 11))):
        stance = (step % 2) == foot  # left on even steps
        world = np.where(stance, stride * (step + 0.5),
                         stride * (step - 0.5) + stride * (1 - np.cos(np.pi * u)))
        lift = np.where(stance, 0.0, 0.05 * np.sin(np.pi * u))
        for j in points:
            joints[:, j, 2] += world - root_z
            joints[:, j, 1] += lift
        contact[:, foot] = stance
    return joints, contact


def random_stream(frames: int, seed: int):
    """Random IMUs and joints, and a net that records the windows it is fed (and moves the root along x)."""
    rng = np.random.default_rng(seed)
    acc = rng.normal(size=(frames, 6, 3))
    ori = np.linalg.qr(rng.normal(size=(frames, 6, 3, 3)))[0]
    joints = rng.normal(scale=0.3, size=(frames, 24, 3))
    seen = []

    def net(window):
        seen.append(window[0])
        return np.array([[0.5, 0.0, 0.0]]), np.zeros((1, 2))

    return acc, ori, joints, net, seen


def test_streaming_window_is_the_training_window():
    """Each step feeds the net the window the net was trained on (feature_windows: every STRIDE-th frame up
    to and including the current one), from the first frame on."""
    acc, ori, joints, net, seen = random_stream(50, 3)
    estimate_translation(acc, ori, joints, HEIGHT, FPS, net)
    np.testing.assert_allclose(np.stack(seen), feature_windows(frame_features(acc, ori, joints, HEIGHT)))


def test_restart_window_is_the_training_window():
    """After ``restart()`` (an input gap) the history starts again: each step feeds the net the window that
    training builds for a stream started at that frame (``feature_windows`` with ``start``: older frames
    repeat the first one after the gap), and the position is kept."""
    frames, gap = 60, 23
    acc, ori, joints, net, seen = random_stream(frames, 4)
    est = TranslationEstimator(HEIGHT, FPS, net)
    roots = [est.step(a, o, j)[0] for a, o, j in zip(acc[:gap], ori[:gap], joints[:gap], strict=True)]
    est.restart()
    roots += [est.step(a, o, j)[0] for a, o, j in zip(acc[gap:], ori[gap:], joints[gap:], strict=True)]
    start = np.where(np.arange(frames) < gap, 0, gap)
    features = frame_features(acc, ori, joints, HEIGHT)
    np.testing.assert_allclose(np.stack(seen), feature_windows(features, np.arange(frames), start))
    assert np.linalg.norm(roots[gap - 1]) > 0.05  # the net's velocity moved it before the gap ...
    assert np.linalg.norm(roots[gap] - roots[gap - 1]) == 0.0  # ... and the first frame after it stays put


def test_planted_feet_keep_their_anchor():
    """Both feet planted (contact >= 0.9) while the estimated pose sways them 1 cm back and forth in
    antiphase, and the net's contacts flicker towards whichever foot moves back: the stance foot that is
    still firmly in contact stays the anchor, so over a minute the root only sways (within 2 cm) instead of
    walking away (a switch on every flicker would carry it 1.2 m)."""
    frames, amp, hz = 3600, 0.01, 0.5
    t = np.arange(frames) / FPS
    sway = amp * np.sin(2 * np.pi * hz * t)
    joints = standing_joints(frames)
    joints[:, [7, 10], 2] += sway[:, None]
    joints[:, [8, 11], 2] -= sway[:, None]
    left_back = np.cos(2 * np.pi * hz * t) < 0
    contact = np.where(left_back[:, None], [0.99, 0.95], [0.95, 0.99])
    acc, ori = still_imus(frames)
    root, _ = estimate_translation(acc, ori, joints, HEIGHT, FPS, ScriptedNet(np.zeros((frames, 3)), contact))
    assert np.abs(root[:, 2]).max() <= 2 * amp + 1e-9 and np.abs(root[:, [0, 1]]).max() < 1e-9


def test_constant_velocity_alternating_stance_feet():
    """The stance foot anchors: the root travels at the speed the stance feet slide back, even when the net's
    velocity is wrong (zero); swing feet never pull it."""
    frames, speed = 240, 1.2
    joints, contact = walking_pose(frames, speed)
    acc, ori = still_imus(frames)
    net = ScriptedNet(np.zeros((frames, 3)), contact)
    root, _ = estimate_translation(acc, ori, joints, HEIGHT, FPS, net)
    t = np.arange(frames) / FPS
    # Each foot switch takes one frame of the landing foot's last (slow) swing motion: < 1 cm per switch.
    np.testing.assert_allclose(root[:, 2], speed * t, atol=0.05)
    np.testing.assert_allclose(root[-1, 2], speed * t[-1], rtol=0.02)
    assert np.abs(root[:, 0]).max() < 1e-9 and np.abs(root[:, 1]).max() < 1e-9


def test_flight_follows_the_learned_velocity():
    """No foot in contact: the root moves with the net's velocity, rotated by the pelvis heading (+x)."""
    frames = 60
    joints = standing_joints(frames)
    acc, ori = still_imus(frames)
    yaw90 = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # pelvis z axis -> world +x
    ori[:, 5] = yaw90
    vel = np.tile([0.0, 0.0, 2.0], (frames, 1))  # 2 m/s forward in the heading frame
    root, _ = estimate_translation(acc, ori, joints, HEIGHT, FPS, ScriptedNet(vel, np.zeros((frames, 2))))
    np.testing.assert_allclose(root[-1], [2.0 * (frames - 1) / FPS, 0.0, 0.0], atol=1e-9)


TAKEOFF, FLIGHT = 30, 24  # frames: a 0.4 s flight
V0 = G * FLIGHT / FPS / 2  # m/s: the take-off speed of a ballistic flight that long


def jump(vertical, flight=FLIGHT):
    """A still standing body whose feet leave the floor for ``flight`` frames, the net's vertical velocity
    ``vertical(t)`` meanwhile (t: s from take-off) -> root (T, 3), the scripted velocities (T, 3)."""
    frames = 150
    acc, ori = still_imus(frames)
    vel = np.zeros((frames, 3))
    contact = np.ones((frames, 2))
    vel[TAKEOFF:TAKEOFF + flight, 1] = vertical(np.arange(flight) / FPS)
    contact[TAKEOFF:TAKEOFF + flight] = 0.0
    root, _ = estimate_translation(acc, ori, standing_joints(frames), HEIGHT, FPS, ScriptedNet(vel, contact))
    return root, vel


def test_jump_comes_back_to_the_floor():
    """Both feet leave the floor for 0.4 s (ballistic vertical velocity, the net's, 10 % too strong): the root
    rises about v0^2 / 2g and lands back on the floor level it left, exactly."""
    root, _ = jump(lambda t: 1.1 * (V0 - G * t))
    assert root[:, 1].max() == pytest.approx(1.1 * V0 ** 2 / (2 * G), rel=0.1)
    assert np.abs(root[TAKEOFF + FLIGHT + 2:, 1]).max() < 1e-9


@pytest.mark.parametrize("drop, snapped", [(0.2, True), (0.4, False)])
def test_a_landing_after_a_flight_snaps_to_the_take_off_floor(drop, snapped):
    """The net's vertical velocity in a 0.4 s flight ends ``drop`` lower than it started (a drifting
    integral): within FLIGHT_SNAP (0.3 m) the landing is on the floor the jump left; further down it is a new,
    lower floor (a jump down from a platform)."""
    assert 0.2 < FLIGHT_SNAP < 0.4
    root, vel = jump(lambda t: V0 - G * t - drop * FPS / FLIGHT)
    integral = vel[:, 1].sum() / FPS  # where the flight ends: about -drop
    np.testing.assert_allclose(root[TAKEOFF + FLIGHT + 2:, 1], 0.0 if snapped else integral, atol=1e-9)


def test_no_foot_in_contact_for_longer_than_a_jump_lands_on_the_take_off_floor():
    """No foot in contact for 1 s (longer than MAX_FLIGHT: a body lying down, or held) while the net's
    vertical velocity sinks it 0.4 m (a drift beyond FLIGHT_SNAP that after a 0.4 s jump makes a new floor):
    the feet come down on the floor the body left."""
    assert FLIGHT / FPS < MAX_FLIGHT < 1.0
    flight = int(FPS)
    root, _ = jump(lambda t: np.full_like(t, -0.4), flight)
    assert root[TAKEOFF + flight - 1, 1] < -0.35  # in the air it followed the net ...
    np.testing.assert_allclose(root[TAKEOFF + flight + 2:, 1], 0.0, atol=1e-9)  # ... and landed on the floor


def test_a_step_up_starts_a_new_floor_level():
    """Stairs: the swing foot touches down 17 cm higher and the body's weight moves onto it; the root rises
    with it and stays there (a level change above STEP_HEIGHT is not snapped back)."""
    frames = 90
    joints = standing_joints(frames)
    acc, ori = still_imus(frames)
    rise = 0.17
    assert rise > STEP_HEIGHT
    left, right = [7, 10], [8, 11]
    contact = np.ones((frames, 2))
    contact[20:40, 1] = 0.0  # the right foot swings up onto the step ...
    joints[20:40, right, 1] += np.linspace(0.0, rise, 20)[:, None]
    joints[40:60, right, 1] += np.linspace(rise, 0.0, 20)[:, None]  # ... and the body rises over it
    contact[40:60, 0] = 0.0  # the left foot, lifted, follows
    joints[40:60, left, 1] += 0.05
    root, _ = estimate_translation(acc, ori, joints, HEIGHT, FPS, ScriptedNet(np.zeros((frames, 3)), contact))
    assert root[-1, 1] == pytest.approx(rise, abs=0.01)


@pytest.fixture(scope="module")
def shipped_net():
    if not default_weights_path().is_file():
        pytest.fail(f"the shipped translation weights {default_weights_path()} are missing")
    return VelocityNet()


def test_still_body_stays_put(shipped_net):
    """The shipped net on a still T-pose for one minute: drift <= 1 cm."""
    frames = int(60 * FPS)
    acc, ori = still_imus(frames)
    est = TranslationEstimator(HEIGHT, FPS, shipped_net)
    joints = standing_joints(1)[0]
    for a, o in zip(acc, ori, strict=True):
        root, contact = est.step(a, o, joints)
    assert np.linalg.norm(root) <= 0.01, root
    assert (contact > 0.5).all()


def test_still_body_through_fip_stays_put():
    """A still T-pose through the shipped FIP and translation weights (``predict``, ideal IMUs): after FIP's
    start-up settling (its legs settle for about 8 s, the root following by about 2 cm) the root moves
    <= 1 cm in the following minute (measured 0.3 cm; 2.3 cm with earlier FIP weights when the anchor
    switched between the planted feet on every flicker)."""
    from fip_ros.api import load_model
    from fip_ros.core.body_model import validate_body

    frames = int(68 * FPS)
    acc, ori = still_imus(frames)
    body = validate_body(dict(sex="male", height=HEIGHT, arm_length=0.51, leg_length=0.84))
    root = load_model().predict(acc.astype(np.float32), ori.astype(np.float32), body)["translation"]
    settled = root[int(8 * FPS):]
    assert np.linalg.norm(settled - settled[0], axis=-1).max() <= 0.01


def test_weights_file_with_code_or_wrong_shape_is_refused(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, mean=np.zeros(3), std=np.ones(3), layers=np.array(1), w0=np.zeros((4, 5)), b0=np.zeros(5))
    with pytest.raises(ValueError, match="do not fit"):
        VelocityNet(bad)
    obj = tmp_path / "obj.npz"
    np.savez(obj, mean=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="cannot read"):
        VelocityNet(obj)
    with pytest.raises(ValueError, match="cannot read"):
        VelocityNet(Path(tmp_path / "missing.npz"))


MOCAP = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mocap"


@pytest.fixture(scope="module")
def held_out():
    """The held-out split's figures through fip_ros.api with the shipped FIP and translation weights."""
    if not MOCAP.is_dir():
        pytest.skip("shared mocap (../shared/data/mocap) absent")
    from fip_ros.api import load_model
    from fip_ros.evaluation.translation import evaluate

    return evaluate(load_model(), mocap=MOCAP)


def test_api_returns_translation_from_the_origin(held_out):
    _, runs = held_out
    for items in runs.values():
        for _, r in items:
            assert r["est"].shape == r["true"].shape and r["contact"].shape == (len(r["true"]), 2)
            assert np.isfinite(r["est"]).all() and np.abs(r["est"][0]).max() == 0.0


def test_held_out_translation_figures(held_out):
    """The figures docs/translation.md states with the shipped FIP weights (measured 7.5 % and 1.05 m per
    10 s walking, 14.2 % running, jumps ending 3.8 cm off the floor), with a margin of about a tenth: a
    regression fails."""
    summary, _ = held_out
    assert summary["walking"]["end_pct"] <= 8.2
    assert summary["walking"]["drift_10s"] <= 1.15
    assert summary["running"]["end_pct"] <= 15.6
    assert summary["jumping"]["vertical_end"] <= 0.042


def test_held_out_translation_figures_on_the_true_pose():
    """The method apart from FIP's pose errors (the clips' own joints): measured 5.8 % and 0.86 m per 10 s
    walking, 10.1 % running, 6.8 % on jumps ending 0.4 cm off the floor; about a tenth of margin (a few mm on
    the jumps' height)."""
    if not MOCAP.is_dir():
        pytest.skip("shared mocap (../shared/data/mocap) absent")
    from fip_ros.api import load_model
    from fip_ros.evaluation.translation import evaluate

    summary, _ = evaluate(load_model(), mocap=MOCAP, use_fip=False)
    assert summary["walking"]["end_pct"] <= 6.4
    assert summary["walking"]["drift_10s"] <= 0.95
    assert summary["running"]["end_pct"] <= 11.1
    assert summary["jumping"]["end_pct"] <= 7.5
    assert summary["jumping"]["vertical_end"] <= 0.008


def test_held_out_translation_figures_with_sensor_errors():
    """The same clips with fip-eval's sensor errors (TEST_CORRUPTION: heading offsets and drift, biases,
    mounting and calibration errors) through FIP and the translation: measured 13.4 % walking, 20.7 % running
    (15.6 / 30.9 % with a net trained on clean IMUs and full anchoring from a contact probability of 0.9);
    about a tenth of margin."""
    if not MOCAP.is_dir():
        pytest.skip("shared mocap (../shared/data/mocap) absent")
    from fip_ros.api import load_model
    from fip_ros.evaluation.translation import evaluate

    summary, _ = evaluate(load_model(), mocap=MOCAP, corrupted=True)
    assert summary["walking"]["end_pct"] <= 14.7
    assert summary["running"]["end_pct"] <= 22.8


def test_split_figures_cover_every_clip_of_the_split(tmp_path):
    """evaluate_split reads the built dataset's index: the test split's two clips (a still T-pose and a
    body drifting at 0.3, 0.4 m/s: 0.5 m/s over 239 frames) and not the others; mean distance by hand."""
    import json

    from helpers import fake_motion, standing_clip

    from fip_ros.api import load_model
    from fip_ros.evaluation.translation import evaluate_split

    standing_clip(tmp_path / "still.npz")
    fake_motion(240, 0, "drift").save_npz(tmp_path / "drift.npz")
    fake_motion(120, 1, "other").save_npz(tmp_path / "other.npz")
    (tmp_path / "index.json").write_text(json.dumps(
        {"splits": {"train": ["other.npz"], "val": ["other.npz"], "test": ["still.npz", "drift.npz"]}}))
    summary = evaluate_split(load_model(), tmp_path, "test", use_fip=False)
    assert summary["clips"] == 2
    assert summary["dist"] == pytest.approx((0.0 + 0.5 * 239 / 60) / 2, rel=1e-4)
    assert np.isfinite(summary["end_pct"]) and np.isfinite(summary["vertical_end"])


def test_training_targets_are_the_clips_own_whatever_the_sensor_errors():
    """The velocity net's training data (fip_ros.training.translation.clip_arrays): a body walking off at
    (0.3, 0.4) m/s while turning at 0.5 rad/s. With sensor errors drawn (heading offsets and drift, biases,
    mounting), the features change but the targets do not: the velocity in the true pelvis's heading frame,
    which turned back by that heading is the clip's own velocity."""
    from helpers import fake_motion

    from fip_ros.training.translation import clip_arrays

    motion = fake_motion(240)
    clean = clip_arrays(motion)
    noisy = clip_arrays(motion, np.random.default_rng(3))
    np.testing.assert_array_equal(noisy["vel"], clean["vel"])
    np.testing.assert_array_equal(noisy["contact"], clean["contact"])
    assert np.abs(noisy["f"] - clean["f"]).mean() > 0.01
    yaw = 0.5 * np.arange(240) / FPS
    world_x = np.cos(yaw) * clean["vel"][:, 0] + np.sin(yaw) * clean["vel"][:, 2]
    world_z = -np.sin(yaw) * clean["vel"][:, 0] + np.cos(yaw) * clean["vel"][:, 2]
    np.testing.assert_allclose(world_x[1:-1], 0.3, atol=1e-3)
    np.testing.assert_allclose(world_z[1:-1], 0.4, atol=1e-3)


def test_dynamics_uses_the_published_root_and_finds_contacts_on_it():
    """DynamicsEstimator given the estimator's root: a body standing still anywhere in the room has both feet
    in contact and carries its weight; the same body carried along at 1.5 m/s (sliding feet) has none."""
    import torch

    from fip_ros.physics.dynamics_estimator import DynamicsEstimator

    body = dict(sex="male", height=HEIGHT, mass=70.0)
    rot = torch.eye(3, dtype=torch.float64).expand(24, 3, 3)
    for speed, feet in ((0.0, 1.0), (1.5, 0.0)):
        est = DynamicsEstimator(body)
        for i in range(30):
            out = est.step(rot, root=[0.5, -0.2, 2.0 + speed * i / FPS])
        np.testing.assert_allclose(out["contact"].numpy(), [feet, feet], atol=0.02)
        expected = [0.5, -0.2, 2.0 + speed * (29 - est.delay) / FPS]
        np.testing.assert_allclose(out["translation"].numpy(), expected, atol=1e-9)
        if feet:
            assert float(out["grf"][..., 1].sum()) == pytest.approx(70.0 * G, rel=0.02)
