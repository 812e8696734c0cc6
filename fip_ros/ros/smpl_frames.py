"""TF frame names for SMPL bodies, REP 155 style.

A tracked body ``<id>`` is rooted at its mid-hip frame ``body_<id>`` (= the SMPL pelvis joint); every other
joint is ``<joint name>_<id>``; ``origin_<id>`` is the fixed point on the floor-referenced world frame the
body hangs from. ``prefix``/``suffix`` wrap every name so several people or systems can share one TF tree.
"""

import re

from fip_ros.core.smpl_tree import JOINT_NAMES, PARENTS

# The one default subject / body id of every node and graph (pose, TF frames, body_params, joint_moments).
DEFAULT_SUBJECT_ID = "0"
_ID = re.compile(r"[A-Za-z0-9_]{1,64}")


def check_id(value: str, name: str = "body_id") -> str:
    """``value`` if it is a valid subject / body id (1-64 letters, digits, '_'), else ValueError naming
    ``name``: ids become TF frame names (``body_<id>``), file names and diagnostics names."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        shown = value if len(str(value)) <= 40 else f"{str(value)[:40]}... ({len(value)} characters)"
        raise ValueError(f"{name} {shown!r} must be 1-64 letters, digits or '_' (it names TF frames)")
    return value


def _check(name: str) -> str:
    # tf2 rejects empty ids and ids with a leading slash (REP 105).
    if not name or name.startswith("/") or any(c.isspace() for c in name):
        raise ValueError(f"invalid frame id {name!r}")
    return name


def frame(base: str, body_id: str, prefix: str = "", suffix: str = "") -> str:
    if body_id != "":
        check_id(body_id)
    return _check(f"{prefix}{base}_{body_id}{suffix}" if body_id != "" else f"{prefix}{base}{suffix}")


def joint_frames(body_id: str, prefix: str = "", suffix: str = "") -> list[str]:
    """24 frame ids in SMPL joint order; joint 0 (pelvis, at mid-hip) is the body frame."""
    return [frame("body" if j == 0 else name, body_id, prefix, suffix) for j, name in enumerate(JOINT_NAMES)]


def parent_frames(body_id: str, prefix: str = "", suffix: str = "") -> list[str]:
    """Parent frame of each joint frame; the body frame's parent is the origin frame."""
    names = joint_frames(body_id, prefix, suffix)
    origin = origin_frame(body_id, prefix, suffix)
    return [origin if p < 0 else names[p] for p in PARENTS]


def origin_frame(body_id: str, prefix: str = "", suffix: str = "") -> str:
    return frame("origin", body_id, prefix, suffix)


def world_frame(name: str) -> str:
    return _check(name)
