"""Validation of body parameters (sex, height, arm and leg length) against ``body_limits``, and their
network vector; torch-free. The measurement definitions are those of ``fip_ros.core.body_model``; the
runtime and the nodes check bodies here without importing torch.
"""

import math

import numpy as np

from fip_ros.core.body_limits import ARM_RANGE, ARM_RATIO_RANGE, HEIGHT_RANGE, LEG_RANGE, LEG_RATIO_RANGE
from fip_ros.core.smpl_tree import SEX_CODES


def validate_body(body: dict) -> dict:
    """Check a body dict; return it normalised (lower-case sex, float lengths). ValueError if implausible."""
    if not isinstance(body, dict):
        raise ValueError("body must be a dict with sex, height, arm_length, leg_length, "
                         f"got {type(body).__name__}")
    missing = [k for k in ("sex", "height", "arm_length", "leg_length") if k not in body]
    if missing:
        raise ValueError(f"body is missing {', '.join(missing)}")
    sex = str(body["sex"]).strip().lower()
    if sex not in SEX_CODES:
        raise ValueError(f"sex must be 'male' or 'female', got {body['sex']!r}")
    out = {"sex": sex}
    for key, (lo, hi) in (("height", HEIGHT_RANGE), ("arm_length", ARM_RANGE), ("leg_length", LEG_RANGE)):
        try:
            value = float(body[key])
        except (TypeError, ValueError):
            raise ValueError(f"{key} must be a number in metres, got {body[key]!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"{key} must be a finite number in metres, got {value}")
        if not lo <= value <= hi:
            hint = " (it looks like centimetres; give metres)" if lo * 100 <= value <= hi * 100 else ""
            raise ValueError(f"{key} {value:g} m is outside the plausible range {lo}-{hi} m{hint}")
        out[key] = value
    for key, (lo, hi) in (("arm_length", ARM_RATIO_RANGE), ("leg_length", LEG_RATIO_RANGE)):
        ratio = out[key] / out["height"]
        if not lo <= ratio <= hi:
            raise ValueError(f"{key} {out[key]:g} m is {ratio:.2f} of the height {out['height']:g} m; "
                             f"expected {lo}-{hi} of the height")
    return out


def body_array(body: dict) -> np.ndarray:
    """Body dict -> (4,) float32 ``[sex (female 0, male 1), height, arm_length, leg_length]``, validated."""
    b = validate_body(body)
    return np.array([SEX_CODES[b["sex"]], b["height"], b["arm_length"], b["leg_length"]], np.float32)
