"""RNEA against pinocchio (same 24-body model: free-flyer root + 23 spherical joints) and known answers."""

import numpy as np
import pytest
import torch

from fip_ros.core.body_model import default_offsets
from fip_ros.core.gravity import GRAVITY
from fip_ros.core.rotations import quat_to_matrix
from fip_ros.core.smpl_tree import NUM_JOINTS, PARENTS
from fip_ros.physics.inverse_dynamics import (
    com_acceleration,
    com_acceleration_from_motion,
    kinematics_from_motion,
    newton_euler,
    propagate_kinematics,
    to_local,
)
from fip_ros.physics.segments import build_segments

pytestmark = pytest.mark.usefixtures("torch_float64")  # double precision, restored afterwards

MASS, HEIGHT = 73.0, 1.73


@pytest.fixture(scope="module")
def seg_off():
    off = default_offsets(HEIGHT).double()
    return build_segments(off, MASS, HEIGHT, "male"), off


def test_segment_masses_sum_to_body_mass(seg_off):
    seg, _ = seg_off
    assert float(seg.mass.sum()) == pytest.approx(MASS, rel=1e-9)
    assert float(seg.mass[1]) == pytest.approx(MASS * 0.1416, rel=1e-3)  # thigh row
    eig = torch.linalg.eigvalsh(seg.inertia)
    assert bool((eig >= -1e-12).all())


def _pin_model(seg, off):
    pin = pytest.importorskip("pinocchio")
    model = pin.Model()
    model.gravity.linear = np.array([0.0, -GRAVITY, 0.0])
    ids = []
    for j in range(NUM_JOINTS):
        parent = 0 if j == 0 else ids[PARENTS[j]]
        place = pin.SE3(np.eye(3), np.zeros(3) if j == 0 else off[j].numpy())
        joint = pin.JointModelFreeFlyer() if j == 0 else pin.JointModelSpherical()
        jid = model.addJoint(parent, joint, place, f"j{j}")
        inertia = pin.Inertia(float(seg.mass[j]), seg.com[j].numpy(), seg.inertia[j].numpy())
        model.appendBodyToJoint(jid, inertia, pin.SE3.Identity())
        ids.append(jid)
    return pin, model


def test_rnea_matches_pinocchio(seg_off):
    assert _max_rnea_error(*seg_off) < 1e-3


def _max_rnea_error(seg=None, off=None, trials: int = 5) -> float:
    """Max over random (q, v, a) of max |ours - pinocchio| / max |pinocchio| over all 75 torque entries."""
    if seg is None:
        off = default_offsets(HEIGHT).double()
        seg = build_segments(off, MASS, HEIGHT, "male")
    pin, model = _pin_model(seg, off)
    data = model.createData()
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(trials):
        q = pin.randomConfiguration(model, -np.ones(model.nq), np.ones(model.nq))
        v, a = rng.normal(size=model.nv) * 2.0, rng.normal(size=model.nv) * 10.0
        tau = pin.rnea(model, data, q, v, a)
        # Our inputs from pinocchio's coordinates: quaternions are (x, y, z, w) in both.
        quats = np.concatenate([q[3:7][None], q[7:].reshape(23, 4)])
        local_rot = quat_to_matrix(torch.from_numpy(quats))
        w_l = torch.from_numpy(np.concatenate([v[3:6], v[6:]]).reshape(24, 3))
        a_l = torch.from_numpy(np.concatenate([a[3:6], a[6:]]).reshape(24, 3))
        r0 = local_rot[0]
        root_vel = r0 @ torch.from_numpy(v[:3])
        root_acc = r0 @ torch.from_numpy(a[:3] + np.cross(v[3:6], v[:3]))
        kin = propagate_kinematics(local_rot, w_l, a_l, off, torch.from_numpy(q[:3]), root_vel, root_acc)
        force, moment = newton_euler(kin, seg, com_acceleration(kin, seg))
        ours = np.concatenate([(r0.T @ force[0]).numpy(), (r0.T @ moment[0]).numpy(),
                               to_local(kin["global_rot"], moment)[1:].reshape(-1).numpy()])
        worst = max(worst, float(np.abs(ours - tau).max() / np.abs(tau).max()))
    return worst


def test_static_body_moments_are_gravity_moments(seg_off):
    """Standing still in T-pose: the left shoulder carries the arm's weight times its CM lever arm."""
    seg, off = seg_off
    T = 15
    local_rot = torch.eye(3).expand(T, 24, 3, 3)
    root = torch.tensor([0.0, 1.0, 0.0]).expand(T, 3)
    kin = kinematics_from_motion(local_rot, off, root)
    force, moment = newton_euler(kin, seg, com_acceleration_from_motion(kin, seg, 60.0))
    arm = [16, 18, 20, 22]
    m_arm = seg.mass[arm].sum()
    from fip_ros.physics.segments import tpose_positions

    tp = tpose_positions(off)
    cm_x = ((tp[arm, 0] + seg.com[arm, 0]) * seg.mass[arm]).sum() / m_arm - tp[16, 0]
    # Moment parent->child must hold the arm up: about +z for a left arm lying along +x (r x F, F up).
    expected = torch.tensor([0.0, 0.0, float(cm_x * m_arm * GRAVITY)])
    assert torch.allclose(moment[7, 16], expected, atol=1e-6)
    # Root residual = weight up, no horizontal force.
    assert torch.allclose(force[7, 0], torch.tensor([0.0, MASS * GRAVITY, 0.0]), atol=1e-6)


def test_free_fall_root_residual_is_zero(seg_off):
    """A rigid body in free fall (any spin-free pose, root accelerating at g) needs no external wrench."""
    seg, off = seg_off
    T, fps = 30, 60.0
    t = torch.arange(T) / fps
    root = torch.stack([t * 0.5, 2.0 - 0.5 * GRAVITY * t**2, t * 0.0], -1)
    quats = torch.tensor(np.random.default_rng(1).normal(size=(24, 4)))
    local_rot = quat_to_matrix(quats).expand(T, 24, 3, 3)
    kin = kinematics_from_motion(local_rot, off, root)
    force, moment = newton_euler(kin, seg, com_acceleration_from_motion(kin, seg, fps))
    assert force[5:-5, 0].abs().max() < 1e-6
    assert moment[5:-5, 0].abs().max() < 1e-6


def test_gradients_flow(seg_off):
    seg, off = seg_off
    rv = (torch.randn(12, 24, 3) * 0.3).requires_grad_()
    from fip_ros.core.rotations import axis_angle_to_matrix

    kin = kinematics_from_motion(axis_angle_to_matrix(rv), off, torch.zeros(12, 3))
    _, moment = newton_euler(kin, seg, com_acceleration_from_motion(kin, seg, 60.0))
    moment.square().sum().backward()
    assert torch.isfinite(rv.grad).all() and rv.grad.abs().sum() > 0
