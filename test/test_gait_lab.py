"""OpenSim readers, the gait2354 <-> SMPL-24 mapping, and the dynamics against a gait lab with force plates
(OpenSim's gait2354 walking example in ../shared/data/gait: plates, OpenSim's inverse dynamics)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from fip_ros.core.body_model import default_offsets, tpose_positions
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.data import gait2354
from fip_ros.data.opensim import read_osim, read_table, read_trc

GAIT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "gait"
WALK = GAIT / "Gait2354_Simbody"
MODEL = WALK / "OutputReference" / "subject01_simbody.osim"
needs_gait = pytest.mark.skipif(not MODEL.exists(), reason="shared gait-lab data not available")


def test_read_table_converts_degrees(tmp_path):
    path = tmp_path / "a.mot"
    path.write_text("Coordinates\nversion=1\ninDegrees=yes\nendheader\ntime\tknee_angle_r\tpelvis_tx\n"
                    "0\t90\t1.5\n0.01\t-45\t1.6\n")
    t = read_table(path)
    assert np.allclose(t.time, [0, 0.01])
    assert np.allclose(t["knee_angle_r"], [np.pi / 2, -np.pi / 4]) and np.allclose(t["pelvis_tx"], [1.5, 1.6])
    with pytest.raises(KeyError):
        t["nope"]


@pytest.mark.parametrize("body", ["no header\n1 2\n", "endheader\ntime a\n0 1\n0 2\n",
                                  "endheader\ntime a\n0 nan\n", "endheader\ntime a\n0 1 2\n", "endheader\n"])
def test_read_table_refuses_bad_files(tmp_path, body):
    path = tmp_path / "bad.sto"
    path.write_text(body)
    with pytest.raises(ValueError, match="bad.sto"):
        read_table(path)


@pytest.mark.parametrize("name, text", [
    ("m.trc", "PathFileType\t4\nDataRate\tUnits\n60\tmm\nFrame#\tTime\tA\n\n\n1\t0\tx\t2\t3\n"),
    ("m.osim", "<OpenSimDocument><Model><BodySet><objects><Body name='b'><mass>1</mass></Body>"),
    ("m.osim", "<OpenSimDocument><Model><BodySet><objects><Body name='b'><mass>1</mass></Body></objects>"
               "</BodySet></Model></OpenSimDocument>"),
    ("m.xml", "<OpenSimDocument><ExternalLoads><objects><ExternalForce name='r'><applied_to_body>calcn_r"
              "</applied_to_body><force_identifier>f_v</force_identifier><point_identifier>f_p"
              "</point_identifier><torque_identifier>t_</torque_identifier></ExternalForce></objects>"
              "<datafile>g.mot</datafile></ExternalLoads></OpenSimDocument>"),
])
def test_readers_refuse_bad_files_naming_them(tmp_path, name, text):
    from fip_ros.data.opensim import read_external_loads

    (tmp_path / "g.mot").write_text("endheader\ntime\tf_vx\n0\t1\n0.1\t2\n")  # no f_vy, f_p*, t_*
    path = tmp_path / name
    path.write_text(text)
    reader = {".trc": read_trc, ".osim": read_osim, ".xml": read_external_loads}[path.suffix]
    with pytest.raises(ValueError, match=name):
        reader(path)


def test_read_trc_in_metres(tmp_path):
    path = tmp_path / "m.trc"
    path.write_text("PathFileType\t4\t(X/Y/Z)\tm.trc\nDataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\n"
                    "60\t60\t2\t2\tmm\nFrame#\tTime\tA\t\t\tB\t\t\n\tX1\tY1\tZ1\tX2\tY2\tZ2\n\n"
                    "1\t0\t1000\t2000\t3000\t1\t2\t3\n2\t0.0167\t1000\t2000\t3000\t\t\t\n")
    m = read_trc(path)
    assert m.rate == 60 and np.allclose(m.positions["A"], [[1, 2, 3]] * 2)
    assert np.allclose(m.positions["B"][0], [1e-3, 2e-3, 3e-3]) and np.isnan(m.positions["B"][1]).all()


@needs_gait
def test_model_kinematics_meet_the_markers():
    """The parsed model posed by OpenSim's IK puts its markers where the cameras saw them (IK residual:
    < 2.5 cm for every marker of the legs, pelvis and torso; the acromion markers fit worse in IK too)."""
    model = read_osim(MODEL)
    ik = read_table(WALK / "subject01_walk1_ik.mot")
    markers = read_trc(WALK / "subject01_walk1.trc")
    frames = [int(np.argmin(abs(markers.time - t))) for t in ik.time]
    est = model.marker_positions(model.forward_kinematics({c: ik[c] for c in ik.columns}))
    err = {n: np.nanmean(np.linalg.norm(p - markers.positions[n][frames], axis=-1)) for n, p in est.items()
           if n in markers.positions and "Acromium" not in n}
    assert len(err) > 25 and max(err.values()) < 0.025, err


@needs_gait
def test_known_poses_map_to_smpl():
    """Hip flexed 90 deg: the knee is a thigh length ahead of the hip (SMPL +z); knee flexed 90 deg with
    the hip straight: the ankle is a shank length behind the knee (worked out from the model's numbers)."""
    model = read_osim(MODEL)
    knee = model.joint_to("tibia_r")
    tx, ty = (ta.value({"knee_angle_r": np.zeros(1)}, 1)[0] for ta in knee.translations[:2])
    shank = -model.joint_to("talus_r").parent_offset[0][1]
    pose = gait2354.to_smpl(model, {"hip_flexion_r": np.radians([90.0, 0.0]),
                                    "knee_angle_r": np.radians([0.0, -90.0])}, 1.8)
    _, pos = forward_kinematics(pose["local_rot"], pose["offsets"], pose["root"])
    assert torch.allclose(pos, pose["joint_pos"], atol=1e-12)
    assert np.allclose((pos[0, 5] - pos[0, 2]).numpy(), [0.0, tx, -ty], atol=1e-9)
    t2 = [ta.value({"knee_angle_r": np.radians([-90.0])}, 1)[0] for ta in knee.translations[:2]]
    assert np.allclose((pos[1, 5] - pos[1, 2]).numpy(), [0.0, t2[1], t2[0]], atol=1e-9)
    assert np.allclose((pos[1, 8] - pos[1, 5]).numpy(), [0.0, 0.0, -shank], atol=1e-9)
    # Identity local rotations are SMPL's T-pose: the model's bones then point along the default skeleton's
    # T-pose bones (legs slightly apart), though its default pose stands straight.
    tpose = torch.eye(3, dtype=torch.float64).expand(24, 3, 3)
    _, rest = forward_kinematics(tpose, pose["offsets"][0])
    default = tpose_positions(default_offsets(1.8).double())
    for parent, child in ((1, 4), (2, 5), (4, 7), (5, 8), (7, 10), (8, 11)):
        bone, ref = rest[child] - rest[parent], default[child] - default[parent]
        assert torch.allclose(bone / bone.norm(), ref / ref.norm(), atol=1e-9), (parent, child)


@needs_gait
def test_coordinates_round_trip_through_smpl():
    model = read_osim(MODEL)
    rng = np.random.default_rng(0)
    names = [c for j in model.joints for c in j.coordinates if not c.startswith("mtp")]
    coords = {c: (rng.uniform(-0.3, 0.3, 4) if not c.endswith(("_tx", "_ty", "_tz")) else rng.normal(0, 1, 4))
              for c in names}
    coords.update(knee_angle_l=-rng.uniform(0.1, 1.5, 4), knee_angle_r=-rng.uniform(0.1, 1.5, 4))
    pose = gait2354.to_smpl(model, coords, 1.8)
    back = gait2354.from_smpl(model, pose["local_rot"], pose["root"])
    for c in names:
        assert np.allclose(back[c], coords[c], atol=1e-6), c


@needs_gait
def test_inertial_parameters_keep_the_model_mass():
    model = read_osim(MODEL)
    ik = read_table(WALK / "subject01_walk1_ik.mot")
    inert = gait2354.inertial_parameters(model, {c: ik[c] for c in ik.columns})
    total = sum(b.mass for b in model.bodies.values())
    assert float(inert["mass"].sum()) == pytest.approx(total)
    assert torch.allclose(inert["inertia"], inert["inertia"].transpose(-1, -2))


@pytest.fixture(scope="module")
def walk():
    from fip_ros.physics.gait_lab import load_walk

    return load_walk(GAIT)


def _sagittal(out):
    from fip_ros.physics.gait_lab import SAGITTAL

    return [out["rmsd"][n][1] for n in SAGITTAL]


@needs_gait
def test_bottom_up_matches_opensim_inverse_dynamics(walk):
    """Measured plates at the measured CoP, the scaled model's segments, this package's Newton-Euler: hip,
    knee, ankle sagittal RMSD against OpenSim's moments (BWBH%; measured 0.10 / 0.48 / 0.03)."""
    from fip_ros.physics.gait_lab import bottom_up

    out = bottom_up(walk)
    assert np.all(np.array(_sagittal(out)) < [0.15, 0.55, 0.05]), out["rmsd"]
    assert out["rmsd"]["hip frontal"][1] < 0.2


@needs_gait
def test_top_down_from_true_kinematics_matches_the_plates(walk):
    """As the dynamics node runs (no plates: anchored root, estimated contacts, GRF split and CoP, de Leva
    body), fed the trial's pose and its pelvis acceleration: moments vs OpenSim (measured 1.55 / 0.82 / 1.07
    BWBH%), vertical GRF vs the plates (measured 0.075 BW, peaks 1.06 / 1.05 of the plates')."""
    from fip_ros.physics.gait_lab import top_down

    out = top_down(walk)
    assert np.all(np.array(_sagittal(out)) < [1.65, 0.9, 1.15]), out["rmsd"]
    assert out["grf_rmsd"]["vertical"] < 0.08 and out["grf_rmsd"]["anterior"] < 0.035
    assert all(1.0 < r < 1.1 for r in out["peak_ratio"]), out["peak_ratio"]
    # What the node publishes (lower_limb_moments: child-segment axes) against OpenSim's moments
    # (measured: hip extension 1.39, abduction 2.39, knee extension 0.76, ankle plantarflexion 0.93 BWBH%).
    limits = dict(hip_extension=1.45, hip_abduction=2.5, knee_extension=0.85, ankle_plantarflexion=1.0)
    assert all(out["published"][k] < v for k, v in limits.items()), out["published"]


@needs_gait
def test_top_down_from_fip_with_the_shipped_weights(walk):
    """The same from FIP's pose (shipped weights, IMUs synthesised from the trial): measured 2.22 / 3.20 /
    4.65 BWBH%, vertical GRF 0.206 BW (FIP's pose, not the dynamics, limits these; a tenth of margin)."""
    from fip_ros.api import load_model
    from fip_ros.physics.gait_lab import fip_pose, top_down

    out = top_down(walk, local_rot=fip_pose(walk, load_model()))
    assert np.all(np.array(_sagittal(out)) < [2.45, 3.52, 5.12]), out["rmsd"]
    assert out["grf_rmsd"]["vertical"] < 0.23


@needs_gait
def test_running_ground_reactions_match_the_plates():
    """Treadmill running (Hamner subject02, 10 s, peaks 2.4-2.5 BW) through the node's pipeline from the
    trial's pose: vertical GRF RMSD (measured 0.152 BW) and peaks (0.93 of the plates')."""
    from fip_ros.physics.gait_lab import load_run, top_down

    out = top_down(load_run(GAIT))
    assert out["grf_rmsd"]["vertical"] < 0.16 and out["grf_rmsd"]["anterior"] < 0.055
    assert all(0.9 < r < 1.0 for r in out["peak_ratio"]), out["peak_ratio"]


@needs_gait
def test_cop_range_is_the_measured_one():
    """The feet's CoP travel (ground_reaction.COP_RANGE) is where the running trial's plates put it along
    the heel -> toe-tip markers (2nd-98th percentile, mean of both feet)."""
    from fip_ros.physics.gait_lab import cop_travel, load_run
    from fip_ros.physics.ground_reaction import COP_RANGE

    assert np.allclose(cop_travel(load_run(GAIT)).mean(0), COP_RANGE, atol=0.01)
