"""``body_params``: holds the subject's body parameters, serves get/set, persists them, latches them.

One node per person: it holds the body of its ``subject_id`` (the launch's ``body_id``) only. Precedence
of the start-up values: the persisted file (``storage_path``; by default one file per namespace and subject,
``$ROS_HOME/fip_ros/<namespace>/body_params_<subject_id>.yaml``) when it exists, is valid and holds this
subject, else the node parameters (config/body_params.yaml), else the built-in defaults of the parameter
declarations. A set request is validated by ``fip_ros.core.body_model.validate_body``; it is written to disk
(atomically: a temporary file renamed over the old one, removed on any failure and swept at start-up after a
kill) before it becomes the state, so a rejected or unwritable request leaves the state unchanged.
"""

import math
import os
import tempfile
from pathlib import Path

import yaml
from rclpy.node import Node

from fip_msgs.msg import BodyParams
from fip_msgs.srv import GetBodyParams, SetBodyParams
from fip_ros.core.body_limits import ARM_RANGE, HEIGHT_RANGE, LEG_RANGE, MASS_RANGE
from fip_ros.core.body_model import validate_body
from fip_ros.ros import qos
from fip_ros.ros.nodes import run_node
from fip_ros.ros.params import declare_parameters, descriptor
from fip_ros.ros.smpl_frames import DEFAULT_SUBJECT_ID, check_id

SEX_NAMES = {BodyParams.SEX_FEMALE: "female", BodyParams.SEX_MALE: "male"}
FIELDS = ("subject_id", "sex", "height", "arm_length", "leg_length", "mass")
PARAMETERS = {
    "subject_id": (DEFAULT_SUBJECT_ID, descriptor("Subject id (suffix of its TF frames, REP 155): the one "
                                                  "person this node holds")),
    "sex": ("male", descriptor("'male' or 'female' (start-up value)")),
    "height": (1.75, descriptor("Standing height, m (start-up value)", True, *HEIGHT_RANGE)),
    "arm_length": (0.51, descriptor("Wrist to armpit, m (start-up value)", True, *ARM_RANGE)),
    "leg_length": (0.84, descriptor("Ankle to hip, m (start-up value)", True, *LEG_RANGE)),
    "mass": (70.0, descriptor("Body mass, kg (start-up value)", True, *MASS_RANGE)),
    "storage_path": ("", descriptor("YAML file the parameters persist to; empty = $ROS_HOME/fip_ros/"
                                    "<namespace>/body_params_<subject_id>.yaml (~/.ros/...). When it exists "
                                    "and holds this subject it overrides the start-up parameters.")),
}


TMP_SUFFIX = ".tmp"


def default_storage_path(namespace: str, subject_id: str) -> Path:
    """``$ROS_HOME/fip_ros/<namespace>/body_params_<subject_id>.yaml``: one file per person, so two
    namespaced graphs never share a body (namespace tokens and subject ids are valid file names)."""
    root = Path(os.environ.get("ROS_HOME", Path.home() / ".ros")) / "fip_ros"
    return root.joinpath(*[t for t in namespace.split("/") if t], f"body_params_{subject_id}.yaml")


def validate(values: dict) -> dict:
    """Normalised copy of ``values`` (keys FIELDS, sex as 'male'/'female'); ValueError with the reason."""
    body = validate_body({k: values.get(k) for k in ("sex", "height", "arm_length", "leg_length")})
    try:
        mass = float(values.get("mass"))
    except (TypeError, ValueError):
        raise ValueError(f"mass must be a number in kg, got {values.get('mass')!r}") from None
    if not (math.isfinite(mass) and MASS_RANGE[0] <= mass <= MASS_RANGE[1]):
        lo, hi = MASS_RANGE
        raise ValueError(f"mass {mass:g} kg is outside the plausible range {lo:g}-{hi:g} kg")
    subject = str(values.get("subject_id") or "")
    if subject:
        check_id(subject, "subject_id")
    return dict(body, mass=mass, subject_id=subject)


def write_atomic(path: Path, values: dict) -> None:
    """Write YAML to a temporary file in the same folder, fsync, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump({k: values[k] for k in FIELDS}, f, sort_keys=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sweep_temporaries(path: Path) -> list[Path]:
    """Remove the temporary files a killed writer of ``path`` left (``<name>*.tmp`` beside it)."""
    left = list(path.parent.glob(f"{path.name}*{TMP_SUFFIX}")) if path.parent.is_dir() else []
    for tmp in left:
        tmp.unlink(missing_ok=True)
    return left


def to_msg(values: dict) -> BodyParams:
    return BodyParams(subject_id=values["subject_id"], sex=BodyParams.SEX_MALE if values["sex"] == "male"
                      else BodyParams.SEX_FEMALE, height=values["height"], arm_length=values["arm_length"],
                      leg_length=values["leg_length"], mass=values["mass"])


def from_msg(msg: BodyParams) -> dict:
    # The message carries float32: keep its 6 significant digits, not the float64 expansion (1.6200000047).
    def f32(x):
        return float(f"{x:.6g}")
    return dict(subject_id=msg.subject_id, sex=SEX_NAMES.get(msg.sex, f"code {msg.sex}"),
                height=f32(msg.height), arm_length=f32(msg.arm_length), leg_length=f32(msg.leg_length),
                mass=f32(msg.mass))


class BodyParamsNode(Node):
    """The subject's body parameters: start-up values, get/set services, persisted atomically, latched on
    ``body_params``."""

    def __init__(self, **kwargs):
        super().__init__("body_params", **kwargs)
        declare_parameters(self, PARAMETERS)
        self.subject_id = check_id(self.get_parameter("subject_id").value, "subject_id")
        path = self.get_parameter("storage_path").value
        self.storage_path = (Path(path).expanduser() if path else
                             default_storage_path(self.get_namespace(), self.subject_id))
        for tmp in sweep_temporaries(self.storage_path):
            self.get_logger().warning(f"removed {tmp}, left by an interrupted write")

        self.values = self._initial_values()
        self.pub = self.create_publisher(BodyParams, "body_params", qos.LATCHED)
        self.create_service(SetBodyParams, "set_body_params", self._on_set)
        self.create_service(GetBodyParams, "get_body_params", self._on_get)
        self.pub.publish(to_msg(self.values))
        self.get_logger().info(f"body parameters {self.values} (persisted to {self.storage_path})")

    def _initial_values(self) -> dict:
        params = {k: self.get_parameter(k).value for k in FIELDS}
        if self.storage_path.exists():
            try:
                stored = validate({**params, **(yaml.safe_load(self.storage_path.read_text()) or {})})
                if stored["subject_id"] == self.subject_id:
                    return stored
                self.get_logger().warning(f"ignoring {self.storage_path}: it holds subject "
                                          f"{stored['subject_id']!r}, this node {self.subject_id!r}")
            except (OSError, yaml.YAMLError, ValueError, TypeError, AttributeError) as exc:
                self.get_logger().error(f"ignoring persisted body parameters {self.storage_path}: {exc}")
        try:
            return validate(params)
        except ValueError as exc:
            # Invalid start-up parameters are reported and replaced, never fatal.
            self.get_logger().error(f"invalid body parameters {params}: {exc}; using the defaults")
            return validate(dict(subject_id=params["subject_id"], sex="male", height=1.75, arm_length=0.51,
                                 leg_length=0.84, mass=70.0))

    def _on_set(self, request, response):
        try:
            values = validate(from_msg(request.params))
            if values["subject_id"] not in ("", self.subject_id):
                raise ValueError(f"subject {values['subject_id']!r}: this node holds {self.subject_id!r} "
                                 "(one body_params node per person, in its own namespace)")
            values["subject_id"] = self.subject_id
            write_atomic(self.storage_path, values)
        except (ValueError, OSError) as exc:
            response.success, response.message = False, f"rejected: {exc}"
            self.get_logger().warning(f"set_body_params {response.message}")
            return response
        self.values = values
        self.pub.publish(to_msg(values))
        response.success, response.message = True, f"applied and saved to {self.storage_path}: {values}"
        self.get_logger().info(response.message)
        return response

    def _on_get(self, request, response):
        if request.subject_id and request.subject_id != self.values["subject_id"]:
            response.success = False
            response.message = (f"unknown subject {request.subject_id!r}; "
                                f"this node holds {self.values['subject_id']!r}")
        else:
            response.success, response.message = True, "ok"
        response.params = to_msg(self.values)
        return response


def main(args=None):
    return run_node(BodyParamsNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
