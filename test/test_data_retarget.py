"""Known-answer retargeting: BVH and ASF/AMC files generated from SMPL FK with a non-T rest pose, other axes
and units, then parsed and retargeted back to SMPL-24."""

import numpy as np
import pytest
import roma
import torch

from fip_ros.core.body_model import default_offsets
from fip_ros.core.kinematics import forward_kinematics, local_to_global
from fip_ros.core.resample import resample
from fip_ros.core.rotations import angle_between, axis_angle_to_matrix
from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, JOINT_NAMES, PARENTS
from fip_ros.data.asf_amc import read_asf_amc
from fip_ros.data.bvh import read_bvh
from fip_ros.data.retarget import flatten_feet, load_joint_maps, retarget

CHILDREN = [[c for c, p in enumerate(PARENTS) if p == j] for j in range(24)]
# SMPL frame -> file frame: z up (SMPL y -> file z, SMPL z -> file x, SMPL x -> file y).
B = np.array([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]])


def _rot(axis, deg):
    axis = np.asarray(axis, float)
    return axis_angle_to_matrix(torch.tensor(axis / np.linalg.norm(axis) * np.radians(deg))).numpy()


def _rest_locals(off):
    """A non-T rest pose: every bone swung about an axis normal to it (arms down, legs apart, bent elbows)."""
    L = np.tile(np.eye(3), (24, 1, 1))
    L[0] = _rot([0, 0, 1], 8)  # pelvis rolled: only about an axis normal to the hip line
    for j, deg, v in ((16, -60, [0, 0, 1]), (17, 60, [0, 0, 1]), (18, 35, [0, 1, 0]), (19, -35, [0, 1, 0]),
                      (1, 12, [0, 0, 1]), (2, -12, [0, 0, 1]), (4, 20, [1, 0, 0]), (5, 15, [1, 0, 0]),
                      (3, 10, [1, 0, 0]), (13, 15, [0, 0, 1]), (14, -15, [0, 0, 1]), (7, -20, [1, 0, 0])):
        t = off[CHILDREN[j][0]] / np.linalg.norm(off[CHILDREN[j][0]])
        L[j] = _rot(np.cross(t, np.cross(np.asarray(v, float), t)), deg)  # axis normal to the bone
    return L


def _ground_truth(T=40, seed=0):
    rng = np.random.default_rng(seed)
    off = default_offsets(1.72).double().numpy()
    local = axis_angle_to_matrix(torch.tensor(rng.normal(scale=0.35, size=(T, 24, 3)))).numpy()
    local[:, 0] = axis_angle_to_matrix(torch.tensor(rng.normal(scale=0.5, size=(T, 3)))).numpy()
    tran = np.cumsum(rng.normal(scale=0.01, size=(T, 3)), 0) + [0, 1.0, 0]
    glob = local_to_global(torch.tensor(local)).numpy()
    rest_local = torch.tensor(_rest_locals(off))
    rest_glob = local_to_global(rest_local).numpy()
    rest_pos = forward_kinematics(rest_local, torch.tensor(off))[1].numpy()
    src_glob = B @ glob @ rest_glob.transpose(0, 2, 1) @ B.T  # identity at the rest pose
    return off, local, tran, rest_pos, src_glob


def _src_locals(src_glob):
    parent = src_glob[:, [max(p, 0) for p in PARENTS]]
    loc = parent.transpose(0, 1, 3, 2) @ src_glob
    loc[:, 0] = src_glob[:, 0]
    return loc


def _write_bvh(path, names, rest_pos, src_glob, tran, scale=100.0):
    """BVH in cm, z up, ZXY channels, CRLF line ends."""
    loc = _src_locals(src_glob)
    eul = roma.rotmat_to_euler("ZXY", torch.tensor(loc), degrees=True).numpy()
    lines = ["HIERARCHY"]

    def emit(j, depth):
        ind = "\t" * depth
        off = np.zeros(3) if j == 0 else scale * B @ (rest_pos[j] - rest_pos[PARENTS[j]])
        lines.append(f"{ind}{'ROOT' if j == 0 else 'JOINT'} {names[j]}")
        lines.append(ind + "{")
        lines.append(f"{ind}\tOFFSET {off[0]:.6f} {off[1]:.6f} {off[2]:.6f}")
        chans = "6 Xposition Yposition Zposition" if j == 0 else "3"
        lines.append(f"{ind}\tCHANNELS {chans} Zrotation Xrotation Yrotation")
        for c in CHILDREN[j]:
            emit(c, depth + 1)
        if not CHILDREN[j]:
            lines.extend([f"{ind}\tEnd Site", ind + "\t{", f"{ind}\t\tOFFSET 0 0 5", ind + "\t}"])
        lines.append(ind + "}")

    emit(0, 0)
    order = []
    stack = [0]
    while stack:  # channel order = depth-first order of the hierarchy
        j = stack.pop()
        order.append(j)
        stack += CHILDREN[j][::-1]
    lines += ["MOTION", f"Frames: {len(loc)}", "Frame Time: 0.008333"]
    root = scale * tran @ B.T
    for t in range(len(loc)):
        vals = list(root[t]) + [v for j in order for v in eul[t, j]]
        lines.append(" ".join(f"{v:.6f}" for v in vals))
    path.write_bytes("\r\n".join(lines).encode("latin-1"))


def _check(motion, off, local, tran, pos_tol=0.01, rot_tol_deg=3.0):
    gt_local, gt_tran = resample(local, tran, 120.0)
    assert motion.local_rot.shape == gt_local.shape
    np.testing.assert_allclose(motion.offsets, off, atol=2e-3)
    est = forward_kinematics(torch.tensor(motion.local_rot, dtype=torch.float64),
                             torch.tensor(motion.offsets, dtype=torch.float64),
                             torch.tensor(motion.tran, dtype=torch.float64))[1].numpy()
    gt = forward_kinematics(torch.tensor(gt_local), torch.tensor(off), torch.tensor(gt_tran))[1].numpy()
    shift = (est - gt)[..., 1].mean()  # the builder puts the floor at y = 0
    gt[..., 1] += shift
    assert np.abs(est - gt).max() < pos_tol
    assert est[..., [7, 8, 10, 11], 1].min() == pytest.approx(0.0, abs=1e-4)
    err = angle_between(torch.tensor(motion.local_rot, dtype=torch.float64), torch.tensor(gt_local))
    assert np.degrees(err[:, list(ESTIMATED_JOINTS)].max().item()) < rot_tol_deg
    assert np.degrees(err[:, 0].max().item()) < rot_tol_deg


def test_bvh_known_answer(tmp_path):
    off, local, tran, rest_pos, src_glob = _ground_truth()
    names = [load_joint_maps()["cmu_bvh"]["joints"][n] for n in JOINT_NAMES]
    _write_bvh(tmp_path / "gen.bvh", names, rest_pos, src_glob, tran)
    clip = read_bvh(tmp_path / "gen.bvh")
    assert clip.fps == pytest.approx(120.0, rel=1e-4)
    _check(retarget(clip), off, local, tran)


def test_bvh_rest_pose_matters(tmp_path):
    """Ignoring the rest pose (a T-pose rest with the same motion) must give a clearly different answer."""
    off, local, tran, rest_pos, src_glob = _ground_truth()
    names = [load_joint_maps()["cmu_bvh"]["joints"][n] for n in JOINT_NAMES]
    tpose_pos = forward_kinematics(torch.eye(3, dtype=torch.float64).expand(24, 3, 3), torch.tensor(off))[1]
    _write_bvh(tmp_path / "wrong.bvh", names, tpose_pos.numpy(), src_glob, tran)
    with pytest.raises(AssertionError):
        _check(retarget(read_bvh(tmp_path / "wrong.bvh")), off, local, tran)


def _write_asf_amc(asf_path, amc_path, rest_pos, src_glob, tran, seed=1):
    """CMU-style ASF/AMC: units length 0.45, random bone axes, connector bones without dofs, CRLF, Latin-1."""
    unit = 0.0254 / 0.45
    rng = np.random.default_rng(seed)
    names = load_joint_maps()["cmu_asf"]["joints"]
    name = [names[n] for n in JOINT_NAMES]
    end = {j: rest_pos[CHILDREN[j][0]] if CHILDREN[j] else rest_pos[j] + [0, 0.05, 0.02] for j in range(24)}
    end[0] = rest_pos[0]
    bones, hier = [], {}  # bones: (name, start, end, axis degrees or None for a connector)
    for j in range(1, 24):
        p, parent_bone = PARENTS[j], name[PARENTS[j]]
        if np.linalg.norm(end[p] - rest_pos[j]) > 1e-9:  # connector from the parent's end to this joint
            bones.append((f"c_{name[j]}", end[p], rest_pos[j], None))
            hier.setdefault(parent_bone, []).append(f"c_{name[j]}")
            parent_bone = f"c_{name[j]}"
        bones.append((name[j], rest_pos[j], end[j], rng.uniform(-90, 90, 3)))
        hier.setdefault(parent_bone, []).append(name[j])
    asf = ["# g\xe9n\xe9r\xe9 (Latin-1)", ":version 1.10", ":name gen", ":units", "  mass 1.0",
           "  length 0.45", "  angle deg", ":root", "   order TX TY TZ RX RY RZ", "   axis XYZ",
           "   position 0 0 0", "   orientation 0 0 0", ":bonedata"]
    for k, (n, a, b, ax) in enumerate(bones):
        d = B @ (b - a)
        asf += ["  begin", f"     id {k + 1}", f"     name {n}",
                "     direction {:.9f} {:.9f} {:.9f}".format(*(d / np.linalg.norm(d))),
                f"     length {np.linalg.norm(d) / unit:.9f}"]
        asf.append("     axis 0 0 0 XYZ" if ax is None else "     axis {:.9f} {:.9f} {:.9f} XYZ".format(*ax))
        if ax is not None:
            asf.append("    dof rx ry rz")
        asf.append("  end")
    asf += [":hierarchy", "  begin"] + [f"    {p} {' '.join(c)}" for p, c in hier.items()] + ["  end"]
    asf_path.write_bytes("\r\n".join(asf).encode("latin-1"))

    loc = _src_locals(src_glob)
    amc = [":FULLY-SPECIFIED", ":DEGREES"]
    root_t = tran @ B.T / unit
    for t in range(len(loc)):
        amc.append(str(t + 1))
        zyx = roma.rotmat_to_euler("ZYX", torch.tensor(loc[t, 0]), degrees=True).numpy()
        amc.append("root " + " ".join(f"{v:.9f}" for v in (*root_t[t], *zyx[::-1])))
        for n, _, _, ax in bones:
            if ax is None:
                continue
            C = roma.euler_to_rotmat("ZYX", torch.tensor(ax[::-1].copy()), degrees=True).numpy()
            M = C.T @ loc[t, name.index(n)] @ C
            zyx = roma.rotmat_to_euler("ZYX", torch.tensor(M), degrees=True).numpy()
            amc.append(f"{n} " + " ".join(f"{v:.9f}" for v in zyx[::-1]))
    amc_path.write_bytes("\r\n".join(amc).encode("latin-1"))


def test_asf_amc_known_answer(tmp_path):
    off, local, tran, rest_pos, src_glob = _ground_truth(seed=3)
    _write_asf_amc(tmp_path / "gen.asf", tmp_path / "gen.amc", rest_pos, src_glob, tran)
    clip = read_asf_amc(tmp_path / "gen.asf", tmp_path / "gen.amc", fps=120.0)
    assert clip.scale == 1.0  # metres, from :units
    _check(retarget(clip), off, local, tran)


def _ball_elevation_deg(local, off, tran):
    pos = forward_kinematics(torch.tensor(local), torch.tensor(off), torch.tensor(tran))[1].numpy()
    bone = pos[:, [10, 11]] - pos[:, [7, 8]]
    return np.degrees(np.arcsin(bone[..., 1] / np.linalg.norm(bone, axis=-1))), pos


def test_flatten_feet_levels_a_toes_up_stance():
    """A still stance with both feet pitched 15 deg toes-up (a rig whose ball joint sits high) comes out with
    the T-pose's ankle -> ball elevation; nothing but the ball joints moves."""
    off = default_offsets(1.75).double().numpy()
    T = 60
    local = np.tile(np.eye(3), (T, 24, 1, 1))
    local[:, 0] = _rot([0, 1, 0], 30)  # facing does not matter
    for ankle in (7, 8):
        local[:, ankle] = _rot([1, 0, 0], -15)  # about the lateral axis: toes up
    tran = np.tile([0.0, 0.95, 0.0], (T, 1))
    tpose = np.degrees(np.arcsin(off[[10, 11], 1] / np.linalg.norm(off[[10, 11]], axis=-1)))
    before, pos_before = _ball_elevation_deg(local, off, tran)
    assert np.all(before - tpose > 14.0)
    after, pos_after = _ball_elevation_deg(flatten_feet(local, off, tran, 60.0), off, tran)
    np.testing.assert_allclose(after, np.broadcast_to(tpose, after.shape), atol=0.1)
    moved = np.linalg.norm(pos_after - pos_before, axis=-1).max(0)
    assert moved[[10, 11]].min() > 0.02 and np.delete(moved, [10, 11]).max() < 1e-9


def test_flatten_feet_leaves_clips_without_stance():
    """Feet that never stand still (the random known-answer motion) give no pitch to calibrate."""
    off, local, tran, _, _ = _ground_truth()
    np.testing.assert_array_equal(flatten_feet(local, off, tran, 120.0), local)
