"""TF frame names for SMPL bodies, REP 155 style.

A tracked body ``<id>`` is rooted at its mid-hip frame ``body_<id>`` (= the SMPL pelvis joint); every other
joint is ``<joint name>_<id>``; ``origin_<id>`` is the fixed point on the floor-referenced world frame the
body hangs from. ``prefix``/``suffix`` wrap every name so several people or systems can share one TF tree.
"""

from fip_ros.core.smpl_tree import JOINT_NAMES, PARENTS


def _check(name: str) -> str:
    # tf2 rejects empty ids and ids with a leading slash (REP 105).
    if not name or name.startswith("/") or any(c.isspace() for c in name):
        raise ValueError(f"invalid frame id {name!r}")
    return name


def frame(base: str, body_id: str, prefix: str = "", suffix: str = "") -> str:
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
