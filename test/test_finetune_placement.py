"""The fine-tuning machinery: sensor placement from the kinematic chain, one fine-tuning step."""

import math

import torch
from helpers import spinning_pelvis

from fip_ros.core.body_model import default_offsets
from fip_ros.core.imu_synthesis import synthesize
from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.finetune.config import FinetuneConfig
from fip_ros.finetune.placement import fit_placement
from fip_ros.finetune.self_supervised import SelfSupervised, demo_shift, finetune, imu_from_clip
from fip_ros.physics.virtual_imu import VirtualIMU

OFF = default_offsets(1.75)


def test_finetune_step_moves_placement_and_weights():
    from fip_ros.fip.model import FIP

    torch.manual_seed(0)
    local, tran = spinning_pelvis(T=30)
    acc, ori = imu_from_clip(local, OFF, tran, demo_shift(OFF))
    model = FIP("default").eval()
    body = torch.tensor([1.0, 1.75, 0.55, 0.82])
    ss = SelfSupervised(model, body, FinetuneConfig(steps=1, placement_steps=5))
    before = [p.detach().clone() for p in model.parameters()]
    out = finetune(ss, [(acc, ori, None)], log=None)
    assert len(out["history"]) == 1 and math.isfinite(out["history"][0]["total"])
    assert ss.vimu.offset.detach()[:4].abs().sum() > 0 and not ss.vimu.offset.detach()[4:].any()
    assert any((p - b).abs().sum() > 0 for p, b in zip(model.parameters(), before, strict=True))


def _gait(T=90, swing_amplitude=0.6, lag=0.0):
    """Limbs swinging at 1 Hz like a gait (thighs / upper arms delayed by ``lag`` s), knees and elbows bending
    once per swing; the pelvis walks forward at 1.2 m/s, bobbing."""
    t = torch.arange(T) / 60.0
    local = torch.eye(3).repeat(T, 24, 1, 1)
    swing = swing_amplitude * torch.sin(2 * math.pi * 1.0 * (t - lag))
    knee = 0.4 * (1 - torch.cos(2 * math.pi * 1.0 * t))
    elbow = 0.6 * torch.sin(2 * math.pi * 1.0 * t)
    for joint, axis, angle in ((1, 0, swing), (2, 0, -swing), (4, 0, knee), (5, 0, knee.flip(0)),
                               (16, 2, swing), (17, 2, swing), (18, 1, elbow), (19, 1, -elbow)):
        rotvec = torch.zeros(T, 3)
        rotvec[:, axis] = angle
        local[:, joint] = axis_angle_to_matrix(rotvec)
    return local, torch.stack([0 * t, 0.9 + 0.02 * torch.sin(4 * math.pi * t), 1.2 * t], -1)


def test_chain_fit_recovers_shift_from_a_wrong_pose():
    """The placement fit starts from a pose whose thighs and upper arms swing 1/3 less and 0.1 s late (as a
    network's might) and still recovers the lower-leg shifts (the forearms', in this short motion, halfway
    against the prior); held at that pose, the same fit is centimetres off."""
    local, tran = _gait()
    shift = demo_shift(OFF)
    acc, ori = imu_from_clip(local, OFF, tran, shift)
    wrong, _ = _gait(swing_amplitude=0.4, lag=0.1)
    fit = fit_placement([(acc, ori, wrong)], OFF)
    held = fit_placement([(acc, ori, wrong)], OFF, pull=1e6)  # directions pinned to the wrong pose
    err = (fit["offset"] - shift)[:4].norm(dim=-1)
    err_held = (held["offset"] - shift)[:4].norm(dim=-1)
    assert float(err[2:].max()) < 0.01 < 0.03 < float(err_held[2:].min()), (err, err_held)
    assert float(err[:2].max()) < 0.5 * 0.08 < float(err_held[:2].min()), (err, err_held)
    assert not fit["offset"][4:].any()  # head and pelvis stay at their nominal sites
    assert max(fit["rms_after"]) < 0.1 * min(fit["rms_before"])


def test_placement_recovered_from_true_pose():
    """With the right pose, fitting the virtual accelerations recovers a known sensor shift (to < 1 cm)."""
    local, tran = _gait()
    shift = demo_shift(OFF)
    acc, ori = imu_from_clip(local, OFF, tran, shift)
    imu = synthesize(local, OFF, torch.zeros_like(tran))
    vimu = VirtualIMU(OFF)
    opt = torch.optim.Adam([vimu.offset], lr=0.01)
    for _ in range(300):
        virt = vimu(imu["global_rot"], imu["joints"])
        root = acc[:, 5] - virt["acc"][:, 5]  # the pelvis sensor is not shifted: it gives the root
        loss = (virt["acc"][:, :5] + root[:, None] - acc[:, :5]).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    err = (vimu.offset.detach() - shift)[:4].norm(dim=-1)
    assert float(err.max()) < 0.01, err
