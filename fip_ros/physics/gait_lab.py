"""Validation against a gait lab: OpenSim's gait2354 walking example (markers, joint coordinates, force
plates, OpenSim's inverse-dynamics moments, the scaled model) and a running trial with force plates.

- :func:`bottom_up`: this package's Newton-Euler backward pass on the trial's kinematics (coordinates low-pass
  filtered as OpenSim's inverse-dynamics tool did), the model's segment parameters on the SMPL bodies and the
  measured plates (force at the measured CoP plus the free moment) on the feet; the joint wrenches are
  projected on OpenSim's coordinate axes (its generalized forces) and compared with OpenSim's moments.
- :func:`top_down`: what the ``dynamics`` node computes with no plates (estimated contacts, GRF split, CoP,
  the de Leva body of the subject's measurements), from the trial's pose, against the plates and OpenSim.
Units: N m, BWBH% = 100 M / (m g H), forces in body weights.
"""

from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import torch
from scipy.interpolate import make_interp_spline
from scipy.signal import butter, filtfilt

from fip_ros.core.body_model import default_offsets, measure_offsets
from fip_ros.core.gravity import GRAVITY
from fip_ros.core.imu_synthesis import synthesize
from fip_ros.core.kinematics import local_to_global
from fip_ros.core.rotations import matrix_to_axis_angle
from fip_ros.core.smpl_tree import ROOT_SENSOR
from fip_ros.data import gait2354
from fip_ros.data.opensim import Table, read_external_loads, read_osim, read_table, read_trc
from fip_ros.physics.dynamics_estimator import DynamicsEstimator, offsets_for
from fip_ros.physics.inverse_dynamics import newton_euler
from fip_ros.physics.joint_moments import NAMES, anatomical_moments
from fip_ros.physics.segments import Segments, build_segments

WALK, RUN = "Gait2354_Simbody", "Hamner"
# OpenSim joint -> SMPL joint whose wrench it transmits (the ankle: tibia on talus + calcn).
JOINT_WRENCH = {"hip_l": 1, "hip_r": 2, "back": 3, "knee_l": 4, "knee_r": 5, "ankle_l": 7, "ankle_r": 8,
                "subtalar_l": 7, "subtalar_r": 8}
# Reported moments: name -> (left coordinate, right coordinate).
REPORTED = {"hip sagittal": ("hip_flexion_l", "hip_flexion_r"),
            "hip frontal": ("hip_adduction_l", "hip_adduction_r"),
            "knee sagittal": ("knee_angle_l", "knee_angle_r"),
            "ankle sagittal": ("ankle_angle_l", "ankle_angle_r"),
            "ankle frontal": ("subtalar_angle_l", "subtalar_angle_r")}
SAGITTAL = ("hip sagittal", "knee sagittal", "ankle sagittal")
# The node's anatomical moments (fip_ros.physics.joint_moments) -> (OpenSim coordinate, sign).
PUBLISHED = {"hip_extension": ("hip_flexion", -1.0), "hip_abduction": ("hip_adduction", -1.0),
             "knee_extension": ("knee_angle", 1.0), "ankle_plantarflexion": ("ankle_angle", -1.0)}
FOOT = {"calcn_l": 7, "calcn_r": 8}  # force-plate bodies -> SMPL bodies
DIFF_STEP = 1.0 / 600.0  # s, central differences on the filtered coordinates' splines


@dataclass
class GaitTrial:
    name: str
    model: object  # OsimModel: the joint axes (and, for the walk, the subject's scaled segments)
    coords: Table  # joint coordinates (radians / m)
    load_time: np.ndarray
    loads: list  # ExternalForce, ground frame
    body: dict  # the subject's measurements as BodyParams carries them (sex, height, mass[, limb lengths])
    cutoff: float  # Hz, OpenSim's low-pass for the coordinates (<= 0: none)
    reference: Table | None  # OpenSim's inverse-dynamics generalized forces
    markers: object = None  # Markers of the trial (.trc)

    @property
    def mass(self) -> float:
        return float(self.body["mass"])

    @property
    def height(self) -> float:
        return float(self.body["height"])


def _setting(path: Path, tag: str) -> float:
    text = ElementTree.parse(path).getroot().findtext(f".//{tag}")
    if text is None:
        raise ValueError(f"{path}: no <{tag}>")
    return float(text)


def load_walk(root) -> GaitTrial:
    """OpenSim's gait2354 example walk (subject01) from ``root`` = the shared gait folder."""
    d = Path(root) / WALK
    model = read_osim(d / "OutputReference" / "subject01_simbody.osim")
    time, loads = read_external_loads(d / "subject01_walk1_grf.xml")
    scale = d / "subject01_Setup_Scale.xml"
    cutoff = _setting(d / "subject01_Setup_InverseDynamics.xml", "lowpass_cutoff_frequency_for_coordinates")
    body = model_body(model, _setting(scale, "mass"), _setting(scale, "height") / 1000.0)
    return GaitTrial("walk", model, read_table(d / "subject01_walk1_ik.mot"), time, loads, body, cutoff,
                     read_table(d / "OutputReference" / "ResultsInverseDynamics" / "inverse_dynamics.sto"),
                     read_trc(d / "subject01_walk1.trc"))


def load_run(root) -> GaitTrial:
    """Hamner's treadmill running trial (subject02): its IK coordinates on the walk's model axes (the same
    lower-limb joints; its arms are not mapped), its plates. Its model and measurements are not in the data:
    body mass = the plates' mean vertical force over the trial / g, height = the highest head-top marker."""
    d = Path(root) / RUN
    time, loads = read_external_loads(d / "External_Loads.xml")
    markers = read_trc(d / "subject02_running.trc")
    head = markers.positions["Top.Head"][:, 1]
    weight = float(np.mean(sum(load.force[:, 1] for load in loads)))
    body = dict(sex="male", height=float(np.nanmax(head)), mass=weight / GRAVITY)
    coords = read_table(d / "outputReference" / "ResultsIK" / "subject02_running_ik.mot")
    return GaitTrial("run", load_walk(root).model, coords, time, loads, body, -1.0, None, markers)


def _at(time: np.ndarray, source_time: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(N,3) samples at ``source_time`` linearly interpolated at ``time`` -> (T,3)."""
    return np.stack([np.interp(time, source_time, v[:, a]) for a in range(3)], -1)


def cop_travel(trial: GaitTrial, load_fraction: float = 0.2, percentiles=(2, 98)) -> np.ndarray:
    """Where the plates' CoP lies along each foot, as fractions of the heel -> toe-tip marker distance
    (horizontal), over the frames with more than ``load_fraction`` body weights on that foot: the given
    percentiles, (2 feet, len(percentiles)), in the order the plates are listed."""
    out = []
    for load in trial.loads:
        side = "L" if FOOT[load.body] == 7 else "R"
        heel = _at(trial.load_time, trial.markers.time, trial.markers.positions[f"{side}.Heel"])
        toe = _at(trial.load_time, trial.markers.time, trial.markers.positions[f"{side}.Toe.Tip"])
        axis = (toe - heel) * np.array([1.0, 0.0, 1.0])
        length = np.linalg.norm(axis, axis=-1)
        frac = ((load.point - heel) * axis).sum(-1) / length**2
        loaded = load.force[:, 1] > load_fraction * trial.mass * GRAVITY
        loaded &= (trial.load_time >= trial.markers.time[0]) & (trial.load_time <= trial.markers.time[-1])
        out.append(np.percentile(frac[loaded], percentiles))
    return np.array(out)


def lowpass(time: np.ndarray, x: np.ndarray, cutoff: float) -> np.ndarray:
    """OpenSim's coordinate filter: pad each end by reflecting half the signal (odd reflection), 3rd-order
    Butterworth forwards and backwards (zero lag)."""
    if cutoff <= 0:
        return x
    fs = 1.0 / float(np.mean(np.diff(time)))
    pad = len(x) // 2
    padded = np.concatenate([2 * x[0] - x[pad:0:-1], x, 2 * x[-1] - x[-2:-pad - 2:-1]])
    b, a = butter(3, cutoff / (0.5 * fs))
    return filtfilt(b, a, padded, axis=0, padlen=0)[pad:pad + len(x)]


def coordinate_splines(trial: GaitTrial) -> dict:
    """Filtered coordinates as quintic splines of time (OpenSim differentiates splines too)."""
    t = trial.coords.time
    return {c: make_interp_spline(t, lowpass(t, trial.coords[c], trial.cutoff), k=5)
            for c in trial.coords.columns}


def _so3_rate(r_a, r_b, dt):
    """World angular velocity taking r_a to r_b over dt."""
    return matrix_to_axis_angle(r_b @ r_a.transpose(-1, -2)) / dt


def smpl_kinematics(model, splines: dict, time: np.ndarray, height: float) -> dict:
    """Mapped SMPL pose at ``time`` with world rates and accelerations by central differences of the splines,
    plus the model's inertial parameters. Keys: kin (global_rot, omega, alpha, joint_pos), com_acc,
    inertial (mass, com, inertia), pose (to_smpl at ``time``), poses (OpenSim bodies), coords."""
    h = DIFF_STEP
    grids = []
    for k in (-2, -1, 0, 1, 2):
        coords = {c: s(time + k * h) for c, s in splines.items()}
        pose = gait2354.to_smpl(model, coords, height)
        inertial = gait2354.inertial_parameters(model, coords, height)
        rot = local_to_global(pose["local_rot"])
        com = pose["joint_pos"] + (rot @ inertial["com"][..., None])[..., 0]
        grids.append(dict(coords=coords, pose=pose, inertial=inertial, rot=rot, com=com))
    m2, m1, c0, p1, p2 = grids
    omega = _so3_rate(m1["rot"], p1["rot"], 2 * h)
    alpha = (_so3_rate(c0["rot"], p2["rot"], 2 * h) - _so3_rate(m2["rot"], c0["rot"], 2 * h)) / (2 * h)
    kin = dict(global_rot=c0["rot"], omega=omega, alpha=alpha, joint_pos=c0["pose"]["joint_pos"])
    com_acc = (p1["com"] - 2 * c0["com"] + m1["com"]) / h**2
    return dict(kin=kin, com_acc=com_acc, inertial=c0["inertial"], pose=c0["pose"], coords=c0["coords"],
                poses=model.forward_kinematics(c0["coords"]))


def model_segments(pose: dict, inertial: dict, mass: float, height: float) -> Segments:
    """Segments carrying the OpenSim model's masses, centres of mass and inertias (per frame); the sole
    geometry (unused with measured plates) from the de Leva model on the first frame's skeleton."""
    base = build_segments(pose["offsets"][0], mass, height)
    return Segments(mass=inertial["mass"], com=inertial["com"], inertia=inertial["inertia"],
                    foot_heel=base.foot_heel, foot_axis=base.foot_axis, foot_length=base.foot_length,
                    foot_width=base.foot_width, total_mass=inertial["mass"].sum(), height=base.height)


def plate_loads(trial: GaitTrial, time: np.ndarray) -> tuple:
    """The plates at ``time`` (linear interpolation) as external force, point and free moment on the SMPL
    bodies (T,24,3 each, SMPL axes)."""
    n = len(time)
    f, p, m = (torch.zeros(n, 24, 3, dtype=torch.float64) for _ in range(3))
    for load in trial.loads:
        if load.body not in FOOT:
            raise ValueError(f"external load on {load.body!r}: only the feet are mapped")
        j = FOOT[load.body]
        smpl = lambda v: torch.as_tensor(gait2354.to_smpl_axes(_at(time, trial.load_time, v)))  # noqa: E731
        f[:, j] += smpl(load.force)
        p[:, j] = smpl(load.point)
        m[:, j] += smpl(load.torque)
    return f, p, m


def generalized_forces(model, coords: dict, poses: dict, force, moment, joint_pos) -> dict:
    """OpenSim generalized forces (coordinate -> (T,) N m) from this package's joint wrenches (parent on
    child, SMPL axes, moment about the SMPL joint; :func:`newton_euler`'s output)."""
    out = {}
    for joint in model.joints:
        if joint.name not in JOINT_WRENCH:
            continue
        j = JOINT_WRENCH[joint.name]
        f = gait2354.to_opensim_axes(force[:, j].numpy())
        origin = poses[joint.child][1]  # the joint's child-frame origin (child offsets are zero in gait2354)
        lever = gait2354.to_opensim_axes(joint_pos[:, j].numpy()) - origin
        m = gait2354.to_opensim_axes(moment[:, j].numpy()) + np.cross(lever, f)
        for c, (ang, lin) in model.coordinate_axes(joint, coords, poses).items():
            out[c] = (m * ang).sum(-1) + (f * lin).sum(-1)
    return out


def rmsd_table(ours: dict, ref: dict, mass: float, height: float) -> dict:
    """name -> (RMSD N m, RMSD BWBH%) over both sides and all frames, for :data:`REPORTED`."""
    out = {}
    for name, sides in REPORTED.items():
        err = np.concatenate([ours[c] - ref[c] for c in sides])
        r = float(np.sqrt(np.mean(err**2)))
        out[name] = (r, 100 * r / (mass * GRAVITY * height))
    return out


def reference_moments(trial: GaitTrial) -> dict:
    return {c: trial.reference[f"{c}_moment"] for sides in REPORTED.values() for c in sides}


def bottom_up(trial: GaitTrial) -> dict:
    """Measured plates + the model's segments + this package's inverse dynamics vs OpenSim's moments.

    Returns time, ours / reference (coordinate -> (T,) N m), rmsd (name -> (N m, BWBH%)), residual (the root
    wrench the plates leave, (T,3) N)."""
    time = trial.coords.time
    k = smpl_kinematics(trial.model, coordinate_splines(trial), time, trial.height)
    seg = model_segments(k["pose"], k["inertial"], trial.mass, trial.height)
    ext = plate_loads(trial, time)
    force, moment = newton_euler(k["kin"], seg, k["com_acc"], *ext)
    ours = generalized_forces(trial.model, k["coords"], k["poses"], force, moment, k["kin"]["joint_pos"])
    ref = reference_moments(trial)
    return dict(time=time, ours=ours, reference=ref, rmsd=rmsd_table(ours, ref, trial.mass, trial.height),
                residual=force[:, 0].numpy())


def model_body(model, mass: float, height: float) -> dict:
    """The subject's measurements as the node takes them (BodyParams): sex, height, mass, leg length (hip ->
    knee -> ankle of the scaled model in its default pose); arm length from the default skeleton of that
    height (the gait models have no arms)."""
    zero = {c: np.zeros(1) for j in model.joints for c in j.coordinates}
    poses = model.forward_kinematics(zero)
    legs = [np.linalg.norm(poses[f"femur_{s}"][1] - poses[f"tibia_{s}"][1])
            + np.linalg.norm(poses[f"tibia_{s}"][1] - poses[f"talus_{s}"][1]) for s in "lr"]
    arm = float(measure_offsets(default_offsets(height))["arm_length"])
    return dict(sex="male", height=height, mass=mass, leg_length=float(np.mean(legs)), arm_length=arm)


def project_pose(trial: GaitTrial, offsets: torch.Tensor, coords: dict | None = None) -> tuple:
    """The trial's pose on the project's skeleton ``offsets`` (24,3): SMPL local rotations (T,24,3,3) and
    the root path (T,3) that puts the skeleton's mid-hip on the model's hip centres."""
    coords = coords or {c: trial.coords[c] for c in trial.coords.columns}
    pose = gait2354.to_smpl(trial.model, coords, trial.height)
    mid_model = 0.5 * (pose["joint_pos"][:, 1] + pose["joint_pos"][:, 2])
    rot0 = pose["local_rot"][:, 0]
    mid_offset = 0.5 * (offsets[1] + offsets[2])
    root = mid_model - (rot0 @ mid_offset)
    return pose["local_rot"], root


def top_down(trial: GaitTrial, pelvis_acc: bool = True, local_rot=None, window: int = 11) -> dict:
    """The ``dynamics`` node on the trial: streaming :class:`DynamicsEstimator` (stance-anchored root,
    estimated contacts, CoM-directed GRF split, de Leva body of ``trial.body``) fed the trial's pose
    (or ``local_rot``, e.g. FIP's) and, with ``pelvis_acc``, the pelvis sensor's free acceleration
    synthesised from the true kinematics. Returns time, ours / reference moments (coordinate -> (T',)),
    rmsd, grf / plates (T',2,3) N in OpenSim axes (left, right), grf_rmsd (BW: vertical, anterior),
    peak ratios (vertical, per foot: ours / plate)."""
    est = DynamicsEstimator(trial.body, fps=60.0, window=window)
    true_rot, root = project_pose(trial, est.offsets)
    rot = true_rot if local_rot is None else torch.as_tensor(local_rot, dtype=torch.float64)
    acc = synthesize(true_rot, est.offsets, root, fps=60)["acc"][:, ROOT_SENSOR] if pelvis_acc else None
    outs = []
    for k in range(len(rot)):
        o = est.step(rot[k], None if acc is None else acc[k])
        outs.append(o)
    valid = [k - est.delay for k, o in enumerate(outs) if o is not None]
    outs = [o for o in outs if o is not None]
    stack = lambda key: torch.stack([o[key] for o in outs])  # noqa: E731
    out = _compare(trial, valid, stack("moments"), stack("grf"))
    if trial.reference is not None:
        out["published"] = published_rmsd(trial, valid, anatomical_moments(stack("moments_local")))
    return out


def published_rmsd(trial: GaitTrial, frames: list, anatomical: torch.Tensor) -> dict:
    """RMSD (BWBH%, both legs) of the node's anatomical moments (T', len(NAMES)) against OpenSim's moments
    of the matching coordinates (their axes differ a little: child segment axes vs OpenSim's joint axes)."""
    out = {}
    for name, (coord, sign) in PUBLISHED.items():
        err = np.concatenate([anatomical[:, NAMES.index(f"{side}_{name}")].numpy()
                              - sign * trial.reference[f"{coord}_{s}_moment"][frames]
                              for side, s in (("left", "l"), ("right", "r"))])
        out[name] = 100 * float(np.sqrt(np.mean(err**2))) / (trial.mass * GRAVITY * trial.height)
    return out


def fip_pose(trial: GaitTrial, model) -> torch.Tensor:
    """FIP's pose of the trial (T,24,3,3): clean IMUs synthesised from the true kinematics on the subject's
    skeleton, the first true frame as the initial pose (fip-eval's gt_init); ``model`` from
    :func:`fip_ros.api.load_model`. FIP leaves the ankles and toes at identity."""
    body = trial.body
    offsets = offsets_for(body)
    rot, root = project_pose(trial, offsets)
    imu = synthesize(rot, offsets, root, fps=60)
    f32 = lambda x: x.numpy().astype(np.float32)  # noqa: E731
    out = model.predict(f32(imu["acc"]), f32(imu["ori"]), body, init_pose=f32(rot[0]))
    return torch.as_tensor(out["rotations"], dtype=torch.float64)


def _compare(trial: GaitTrial, frames: list, moments: torch.Tensor, grf: torch.Tensor) -> dict:
    """Project moments (T',24,3, SMPL world) on the model's coordinate axes at the same frames and compare
    them and the feet's forces with OpenSim and the plates."""
    time = trial.coords.time[frames]
    coords = {c: trial.coords[c][frames] for c in trial.coords.columns}
    poses = trial.model.forward_kinematics(coords)
    ours = {}
    for joint in trial.model.joints:
        if joint.name in JOINT_WRENCH:
            m = gait2354.to_opensim_axes(moments[:, JOINT_WRENCH[joint.name]].numpy())
            for c, (ang, _) in trial.model.coordinate_axes(joint, coords, poses).items():
                ours[c] = (m * ang).sum(-1)
    out = dict(time=time, ours=ours, **grf_figures(trial, time, grf))
    if trial.reference is not None:
        out["reference"] = {c: v[frames] for c, v in reference_moments(trial).items()}
        out["rmsd"] = rmsd_table(ours, out["reference"], trial.mass, trial.height)
    return out


def grf_figures(trial: GaitTrial, time: np.ndarray, grf: torch.Tensor) -> dict:
    """Feet forces (T,2,3, SMPL axes, left / right) against the plates: grf and plates (T,2,3) N in OpenSim
    axes, grf_rmsd (BW, vertical and anterior, both feet), peak_ratio (vertical, per foot, ours / plate's)."""
    plates = np.zeros((len(time), 2, 3))
    for load in trial.loads:
        side = FOOT[load.body] - 7  # 0 left, 1 right
        plates[:, side] = _at(time, trial.load_time, load.force)
    ours_grf = gait2354.to_opensim_axes(grf.numpy())
    err = (ours_grf - plates) / (trial.mass * GRAVITY)
    grf_rmsd = {"vertical": float(np.sqrt(np.mean(err[..., 1] ** 2))),
                "anterior": float(np.sqrt(np.mean(err[..., 0] ** 2)))}
    peaks = (ours_grf[..., 1].max(0) / plates[..., 1].max(0)).tolist()
    return dict(grf=ours_grf, plates=plates, grf_rmsd=grf_rmsd, peak_ratio=peaks, weight=trial.mass * GRAVITY)
