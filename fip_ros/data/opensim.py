"""OpenSim files: storage tables (.mot/.sto), marker files (.trc), external loads (force plates) and models
(.osim, parsed as data with xml.etree: bodies, CustomJoint kinematics, markers; nothing in a file runs).

Tables and markers come back as numpy arrays in SI units (angles in radians when the file says degrees,
markers in metres). :class:`OsimModel.forward_kinematics` poses every body from joint coordinates, the way
OpenSim's CustomJoint does: parent offset frame, then the three rotations about their axes in sequence
(each axis in the frame rotated by the ones before), then the three translations in the parent offset
frame, then the inverse of the child offset frame.
"""

import functools
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from scipy.interpolate import CubicSpline

ROTATIONS = ("rotation1", "rotation2", "rotation3")


def _names_the_file(reader):
    """Any parse failure of ``reader(path, ...)`` becomes one ValueError that names the file."""

    @functools.wraps(reader)
    def wrapped(path, *args, **kwargs):
        try:
            return reader(path, *args, **kwargs)
        except (ValueError, KeyError, IndexError, ElementTree.ParseError) as err:
            message = str(err).strip("'\"")
            raise ValueError(message if str(path) in message else f"{path}: {message}") from None

    return wrapped
TRANSLATIONS = ("translation1", "translation2", "translation3")


@dataclass
class Table:
    """A storage table: ``time`` (T,), ``columns`` (names without time), ``data`` (T, C)."""

    time: np.ndarray
    columns: list
    data: np.ndarray
    in_degrees: bool = False

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.data[:, self.columns.index(name)]
        except ValueError:
            raise KeyError(f"no column {name!r} in the table") from None

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def vector(self, prefix: str) -> np.ndarray:
        """Columns prefix+x, +y, +z as (T, 3)."""
        return np.stack([self[prefix + a] for a in "xyz"], -1)


def _numbers(lines: list, path) -> np.ndarray:
    rows = [ln.split() for ln in lines if ln.strip()]
    if not rows:
        raise ValueError(f"{path}: no data rows")
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise ValueError(f"{path}: rows of unequal length")
    try:
        data = np.array(rows, dtype=np.float64)
    except ValueError as err:
        raise ValueError(f"{path}: non-numeric data ({err})") from None
    if not np.isfinite(data).all():
        raise ValueError(f"{path}: non-finite values in the data")
    return data


@_names_the_file
def read_table(path, to_radians: bool = True) -> Table:
    """Read an OpenSim .mot / .sto (header ending in 'endheader', then a row of column names). Angles in a
    table marked inDegrees=yes are converted to radians (every column whose name does not end in
    _tx/_ty/_tz, force, point or torque components: the coordinate convention of OpenSim's files)."""
    path = Path(path)
    lines = path.read_text(errors="replace").splitlines()
    try:
        end = next(i for i, ln in enumerate(lines) if ln.strip().lower() == "endheader")
    except StopIteration:
        raise ValueError(f"{path}: not an OpenSim storage file (no 'endheader')") from None
    header = {k.strip().lower(): v.strip() for k, _, v in (ln.partition("=") for ln in lines[:end])}
    in_degrees = header.get("indegrees", "no").lower() == "yes"
    names = next((ln.split() for ln in lines[end + 1:] if ln.strip()), None)
    if not names or names[0].lower() != "time":
        raise ValueError(f"{path}: the column row must start with 'time'")
    start = lines.index(next(ln for ln in lines[end + 1:] if ln.strip()), end + 1) + 1
    data = _numbers(lines[start:], path)
    if data.shape[1] != len(names):
        raise ValueError(f"{path}: {len(names)} column names but {data.shape[1]} values per row")
    if np.any(np.diff(data[:, 0]) <= 0):
        raise ValueError(f"{path}: time does not increase")
    table = Table(data[:, 0], names[1:], data[:, 1:].copy(), in_degrees)
    if in_degrees and to_radians:
        for k, name in enumerate(table.columns):
            if _is_angle(name):
                table.data[:, k] = np.radians(table.data[:, k])
        table.in_degrees = False
    return table


def _is_angle(name: str) -> bool:
    """Coordinates are angles unless they are translations; force-plate columns are never angles."""
    return not (name.endswith(("_tx", "_ty", "_tz")) or "force" in name or "torque" in name)


@dataclass
class Markers:
    time: np.ndarray  # (T,)
    positions: dict  # name -> (T, 3) m; frames where the marker is missing are NaN
    rate: float


@_names_the_file
def read_trc(path) -> Markers:
    """Read a .trc marker file (tab separated, units from the header: mm or m)."""
    path = Path(path)
    lines = path.read_text(errors="replace").splitlines()
    if len(lines) < 6 or not lines[0].startswith("PathFileType"):
        raise ValueError(f"{path}: not a .trc file")
    keys, values = lines[1].split("\t"), lines[2].split("\t")
    meta = {k.strip(): v.strip() for k, v in zip(keys, values, strict=False)}
    scale = {"mm": 1e-3, "m": 1.0, "cm": 1e-2}.get(meta.get("Units", "").lower())
    if scale is None:
        raise ValueError(f"{path}: unknown units {meta.get('Units')!r}")
    names = [n.strip() for n in lines[3].split("\t")[2:] if n.strip()]
    rows = []
    for ln in lines[5:]:
        cells = ln.split("\t")
        if not ln.strip():
            continue
        cells = (cells + [""] * (2 + 3 * len(names)))[:2 + 3 * len(names)]
        rows.append([float(c) if c.strip() else np.nan for c in cells])
    data = np.array(rows, dtype=np.float64)
    pos = {n: data[:, 2 + 3 * k: 5 + 3 * k] * scale for k, n in enumerate(names)}
    return Markers(data[:, 1], pos, float(meta.get("DataRate", 0) or 0))


@dataclass
class ExternalForce:
    """One force plate's load: force, centre of pressure and free torque in the ground frame, (T, 3)."""

    name: str
    body: str
    force: np.ndarray
    point: np.ndarray
    torque: np.ndarray


@_names_the_file
def read_external_loads(xml_path, data_path=None) -> tuple:
    """An ExternalLoads .xml and its data file (the xml's <datafile> beside it, unless given) ->
    (time (T,), [ExternalForce]). Only ground-expressed forces and points are supported."""
    xml_path = Path(xml_path)
    root = ElementTree.parse(xml_path).getroot()
    loads = root.find(".//ExternalLoads")
    if loads is None:
        raise ValueError(f"{xml_path}: no ExternalLoads")
    if data_path is None:
        data_path = xml_path.parent / _text(loads, "datafile")
    table = read_table(data_path)
    forces = []
    for ef in loads.iter("ExternalForce"):
        if _text(ef, "isDisabled", "false").lower() == "true":
            continue
        for tag in ("force_expressed_in_body", "point_expressed_in_body"):
            if _text(ef, tag, "ground") != "ground":
                raise ValueError(f"{xml_path}: {ef.get('name')}: {tag} must be ground")
        forces.append(ExternalForce(ef.get("name"), _text(ef, "applied_to_body"),
                                    table.vector(_text(ef, "force_identifier")),
                                    table.vector(_text(ef, "point_identifier")),
                                    table.vector(_text(ef, "torque_identifier"))))
    return table.time, forces


def _text(elem, tag: str, default=None) -> str:
    child = elem.find(tag)
    if child is None or child.text is None or not child.text.strip():
        if default is None:
            raise ValueError(f"<{elem.tag} name={elem.get('name')!r}> has no <{tag}>")
        return default
    return child.text.strip()


def _floats(elem, tag: str, n: int | None = None) -> np.ndarray:
    vals = np.array(_text(elem, tag).split(), dtype=np.float64)
    if n is not None and vals.shape != (n,):
        raise ValueError(f"<{tag}> of {elem.get('name')!r}: expected {n} numbers")
    return vals


def rotation_about(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about a unit axis (3,) by angles (...) (Rodrigues)."""
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    s, c = np.sin(angle)[..., None, None], np.cos(angle)[..., None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def body_fixed_xyz(angles: np.ndarray) -> np.ndarray:
    """OpenSim's offset-frame orientation: body-fixed X-Y-Z rotations (radians, (3,))."""
    r = np.eye(3)
    for axis, a in zip(np.eye(3), angles, strict=True):
        r = r @ rotation_about(axis, np.asarray(a))
    return r


class Function:
    """The OpenSim functions a TransformAxis uses: Constant, LinearFunction, SimmSpline /
    NaturalCubicSpline (natural cubic spline), PiecewiseLinearFunction, MultiplierFunction."""

    def __init__(self, elem):
        tag = elem.tag
        if tag == "MultiplierFunction":
            self.scale = float(_text(elem, "scale", "1"))
            inner = elem.find("function")
            inner = inner[0] if inner is not None and len(inner) else None
            if inner is None:
                raise ValueError("MultiplierFunction without a function")
            self.inner = Function(inner)
            self.kind = "multiplier"
        elif tag == "Constant":
            self.kind, self.value = "constant", float(_text(elem, "value"))
        elif tag == "LinearFunction":
            self.kind, self.coef = "linear", _floats(elem, "coefficients", 2)
        elif tag in ("SimmSpline", "NaturalCubicSpline", "PiecewiseLinearFunction"):
            x, y = _floats(elem, "x"), _floats(elem, "y")
            if len(x) != len(y) or len(x) < 2 or np.any(np.diff(x) <= 0):
                raise ValueError(f"{tag}: x must increase and match y")
            self.kind = "linear_interp" if tag == "PiecewiseLinearFunction" else "spline"
            self.x, self.y = x, y
            if self.kind == "spline":
                self.spline = CubicSpline(x, y, bc_type="natural")
        else:
            raise ValueError(f"unsupported OpenSim function {tag}")

    def __call__(self, q: np.ndarray, deriv: int = 0) -> np.ndarray:
        q = np.asarray(q, dtype=np.float64)
        if self.kind == "multiplier":
            return self.scale * self.inner(q, deriv)
        if self.kind == "constant":
            return np.full_like(q, self.value if deriv == 0 else 0.0)
        if self.kind == "linear":
            return self.coef[0] * q + self.coef[1] if deriv == 0 else np.full_like(q, self.coef[0])
        if self.kind == "linear_interp":
            if deriv:
                return np.interp(q, 0.5 * (self.x[1:] + self.x[:-1]), np.diff(self.y) / np.diff(self.x))
            return np.interp(q, self.x, self.y)
        return self.spline(q, deriv)


@dataclass
class TransformAxis:
    coordinate: str | None  # None: a constant function of nothing
    axis: np.ndarray
    function: Function

    def value(self, coords: dict, n: int, deriv: int = 0) -> np.ndarray:
        q = coords[self.coordinate] if self.coordinate else np.zeros(n)
        return self.function(q, deriv)


@dataclass
class Joint:
    name: str
    parent: str  # body names ('ground' for the root)
    child: str
    parent_offset: tuple  # (translation (3,), rotation (3,3)) of the joint frame in the parent body
    child_offset: tuple
    rotations: list  # three TransformAxis
    translations: list

    @property
    def coordinates(self) -> list:
        seen = []
        for ta in self.rotations + self.translations:
            if ta.coordinate and ta.coordinate not in seen:
                seen.append(ta.coordinate)
        return seen


@dataclass
class Body:
    name: str
    mass: float
    com: np.ndarray  # (3,) in the body frame
    inertia: np.ndarray  # (3, 3) about the centre of mass, body axes


@dataclass
class OsimModel:
    bodies: dict
    joints: list  # parents before children
    markers: dict = field(default_factory=dict)  # name -> (body, location (3,))
    gravity: np.ndarray = field(default_factory=lambda: np.array([0.0, -9.80665, 0.0]))

    def joint_to(self, child: str) -> Joint:
        return next(j for j in self.joints if j.child == child)

    def joint_transform(self, joint: Joint, coords: dict, n: int):
        """Child body pose in the parent body: (rotation (n,3,3), translation (n,3))."""
        r = np.broadcast_to(np.eye(3), (n, 3, 3))
        for ta in joint.rotations:
            r = r @ rotation_about(ta.axis, ta.value(coords, n))
        t = sum(ta.value(coords, n)[:, None] * ta.axis for ta in joint.translations)
        p_pos, p_rot = joint.parent_offset
        c_pos, c_rot = joint.child_offset
        rot = p_rot @ r @ c_rot.T
        pos = p_pos + t @ p_rot.T - (rot @ c_pos[:, None])[..., 0]
        return rot, pos

    def forward_kinematics(self, coords: dict) -> dict:
        """coords: name -> (T,) (radians / metres; missing coordinates are 0). Returns body name ->
        (rotation (T,3,3) body-to-ground, origin (T,3) in ground)."""
        n = len(next(iter(coords.values())))
        coords = {c: np.asarray(coords.get(c, np.zeros(n)), dtype=np.float64)
                  for j in self.joints for c in j.coordinates}
        poses = {"ground": (np.broadcast_to(np.eye(3), (n, 3, 3)), np.zeros((n, 3)))}
        for joint in self.joints:
            rot, pos = self.joint_transform(joint, coords, n)
            p_rot, p_pos = poses[joint.parent]
            poses[joint.child] = (p_rot @ rot, p_pos + (p_rot @ pos[..., None])[..., 0])
        return poses

    def coordinate_axes(self, joint: Joint, coords: dict, poses: dict) -> dict:
        """For each coordinate of ``joint``: (angular (T,3), linear (T,3)) in ground, the child's angular
        velocity and the velocity of the joint's child-frame origin per unit coordinate rate (relative to the
        parent). Its generalized force is ``moment . angular + force . linear`` for the parent-on-child wrench
        (moment about that origin)."""
        n = len(poses["ground"][1])
        coords = {c: np.asarray(coords.get(c, np.zeros(n)), dtype=np.float64) for c in joint.coordinates}
        base = poses[joint.parent][0] @ joint.parent_offset[1]
        out = {c: (np.zeros((n, 3)), np.zeros((n, 3))) for c in joint.coordinates}
        r = base
        for ta in joint.rotations:
            if ta.coordinate:
                out[ta.coordinate][0][:] += ta.value(coords, n, deriv=1)[:, None] * (r @ ta.axis)
            r = r @ rotation_about(ta.axis, ta.value(coords, n))
        for ta in joint.translations:
            if ta.coordinate:
                out[ta.coordinate][1][:] += ta.value(coords, n, deriv=1)[:, None] * (base @ ta.axis)
        return out

    def marker_positions(self, poses: dict) -> dict:
        return {name: poses[body][1] + poses[body][0] @ loc for name, (body, loc) in self.markers.items()}


def _axis(elem, name: str) -> TransformAxis:
    ta = next((t for t in elem.iter("TransformAxis") if t.get("name") == name), None)
    if ta is None:
        raise ValueError(f"joint {elem.get('name')!r}: no TransformAxis {name}")
    func = next((c for c in ta if c.tag not in ("coordinates", "axis")), None)
    if func is None:
        raise ValueError(f"joint {elem.get('name')!r}: {name} has no function")
    coord = (ta.findtext("coordinates") or "").split()
    axis = _floats(ta, "axis", 3)
    if np.linalg.norm(axis) < 1e-9:
        raise ValueError(f"joint {elem.get('name')!r}: {name} has a zero axis")
    return TransformAxis(coord[0] if coord else None, axis / np.linalg.norm(axis), Function(func))


@_names_the_file
def read_osim(path) -> OsimModel:
    """Parse an OpenSim 4 model (.osim, format 40000+): bodies, CustomJoints (with offset frames), markers."""
    path = Path(path)
    model = ElementTree.parse(path).getroot().find("Model")
    if model is None:
        raise ValueError(f"{path}: no <Model>")
    bodies = {}
    for b in model.iter("Body"):
        inertia = _floats(b, "inertia", 6)
        xx, yy, zz, xy, xz, yz = inertia
        mat = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
        name = b.get("name")
        bodies[name] = Body(name, float(_text(b, "mass")), _floats(b, "mass_center", 3), mat)
    joints = []
    jointset = model.find("JointSet")
    for j in (jointset.find("objects") if jointset is not None else []):
        if j.tag not in ("CustomJoint", "WeldJoint"):
            raise ValueError(f"{path}: joint type {j.tag} ({j.get('name')}) is not supported")
        frames = {}
        for f in j.iter("PhysicalOffsetFrame"):
            parent = _text(f, "socket_parent").rsplit("/", 1)[-1]
            frames[f.get("name")] = (parent, _floats(f, "translation", 3),
                                     body_fixed_xyz(_floats(f, "orientation", 3)))
        pf, cf = frames[_text(j, "socket_parent_frame")], frames[_text(j, "socket_child_frame")]
        if j.tag == "WeldJoint":
            zero = TransformAxis(None, np.eye(3)[0], Function(ElementTree.fromstring(
                "<Constant><value>0</value></Constant>")))
            rots, trans = [zero] * 3, [zero] * 3
        else:
            rots = [_axis(j, n) for n in ROTATIONS]
            trans = [_axis(j, n) for n in TRANSLATIONS]
        joints.append(Joint(j.get("name"), pf[0], cf[0], pf[1:], cf[1:], rots, trans))
    ordered, placed = [], {"ground"}
    while len(ordered) < len(joints):
        ready = [j for j in joints if j not in ordered and j.parent in placed]
        if not ready:
            raise ValueError(f"{path}: joints do not form a tree from ground")
        ordered += ready
        placed |= {j.child for j in ready}
    markers = {}
    for m in model.iter("Marker"):
        body = _text(m, "socket_parent_frame").rsplit("/", 1)[-1]
        markers[m.get("name")] = (body, _floats(m, "location", 3))
    gravity = _floats(model, "gravity", 3) if model.find("gravity") is not None else None
    out = OsimModel(bodies, ordered, markers)
    if gravity is not None:
        out.gravity = gravity
    return out
