"""Parameter declarations shared by the nodes, one pattern for all: each node module states its parameters
once, as data, in a module-level ``PARAMETERS = {name: (default, descriptor(...))}``, and its node calls
:func:`declare_parameters`. test/test_ros_parameters.py checks config/*.yaml and the docs' parameter tables
against these declarations. Also the one fallback-body spec of the nodes that need a body before
body_params."""

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

from fip_msgs.msg import BodyParams
from fip_ros.core.body_limits import ARM_RANGE, HEIGHT_RANGE, LEG_RANGE


def descriptor(description: str, read_only: bool = True, lo=None, hi=None, integer: bool = False):
    """A ParameterDescriptor; ``lo``/``hi`` give an inclusive float range (an integer range with ``integer``).

    Read-only by default: most node parameters are start-up configuration.
    """
    d = ParameterDescriptor(description=description, read_only=read_only)
    if integer:
        d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]
    elif lo is not None:
        d.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]
    return d


# The body the estimator, TF broadcaster and dynamics nodes use until the latched body_params topic arrives.
# One spec so the three declare the same names, defaults and ranges (a contract: config/*.yaml set them).
FALLBACK_BODY = {
    "sex": ("male", descriptor("Fallback body until body_params arrives: male|female", read_only=False)),
    "height": (1.75, descriptor("Fallback height, m", False, *HEIGHT_RANGE)),
    "arm_length": (0.51, descriptor("Fallback arm length (wrist to armpit), m", False, *ARM_RANGE)),
    "leg_length": (0.84, descriptor("Fallback leg length (ankle to hip), m", False, *LEG_RANGE)),
}


def declare_parameters(node, specs: dict) -> dict:
    """Declare every ``{name: (default, descriptor)}`` of ``specs`` on ``node``; -> {name: value}."""
    for name, (default, desc) in specs.items():
        node.declare_parameter(name, default, desc)
    return {name: node.get_parameter(name).value for name in specs}


def fallback_body(node) -> dict:
    """The FALLBACK_BODY parameters of ``node`` (declared from that spec) as a body dict."""
    return {name: node.get_parameter(name).value for name in FALLBACK_BODY}


def body_from_msg(msg) -> dict:
    """The body dict of a ``fip_msgs/BodyParams`` message (the four measurements, as FALLBACK_BODY)."""
    return {"sex": "male" if msg.sex == BodyParams.SEX_MALE else "female", "height": msg.height,
            "arm_length": msg.arm_length, "leg_length": msg.leg_length}
