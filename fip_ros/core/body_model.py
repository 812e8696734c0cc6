"""Body parameters (sex, height, arm and leg length) and the licence-free parametric skeleton.

Measurement definitions (used everywhere, including the dataset builder and the ROS service):
- arm_length ("wrist to armpit"): shoulder->elbow + elbow->wrist bone lengths; the SMPL shoulder joint stands
  in for the armpit. Mean of left and right.
- leg_length ("ankle to hip"): hip->knee + knee->ankle bone lengths, mean of left and right.
- height: the vertical head-joint-to-ankle-joint distance in T-pose, plus a head-top part above the head joint
  and an ankle-height part below the ankle joint, both fixed fractions of height (those of the default table),
  i.e. ``height = (y_head - y_ankle) / (1 - HEAD_TOP_FRACTION - ANKLE_HEIGHT_FRACTION)``.
Sex: the default table is treated as the male reference; a female body changes the bones' share of their
chain by de Leva's (1996, Table 1) sex-specific mean segment lengths, each as a fraction of the reference
subjects' statures (``SEX_BONE_FACTORS``: a shorter thigh and longer shank for the same leg length, a
shorter upper and longer lower trunk, smaller hands and feet). The arm and leg lengths and the height stay
exactly those of the body; a sex code between 0 and 1 interpolates linearly.
All functions are torch, batched over leading dimensions and differentiable.
"""

import math

import torch

from fip_ros.core.body_check import body_array, validate_body  # noqa: F401  (the body model's names too)
from fip_ros.core.smpl_tree import NUM_JOINTS, PARENTS, SEX_CODES

# Joint positions in fractions of height, A-pose, y up, x left, z forward (data-formats.md, CC0 MakeHuman).
# Rows are SMPL joints; right-side joints mirror x.
_A_POSE_FRACTIONS = (
    (0.0, 0.526, 0.008), (0.061, 0.521, 0.003), (-0.061, 0.521, 0.003), (0.0, 0.574, -0.015),
    (0.086, 0.286, 0.023), (-0.086, 0.286, 0.023), (0.0, 0.614, -0.006), (0.109, 0.042, 0.014),
    (-0.109, 0.042, 0.014), (0.0, 0.659, -0.005), (0.112, 0.006, 0.084), (-0.112, 0.006, 0.084),
    (0.0, 0.850, 0.003), (0.014, 0.808, 0.013), (-0.014, 0.808, 0.013), (0.0, 0.911, 0.027),
    (0.102, 0.794, 0.012), (-0.102, 0.794, 0.012), (0.199, 0.685, 0.012), (-0.199, 0.685, 0.012),
    (0.273, 0.611, 0.110), (-0.273, 0.611, 0.110), (0.299, 0.580, 0.156), (-0.299, 0.580, 0.156),
)
HEAD_TOP_FRACTION = 1.0 - 0.911  # head joint to top of the head
ANKLE_HEIGHT_FRACTION = 0.042  # ankle joint above the floor
_HEAD_ANKLE_FRACTION = 1.0 - HEAD_TOP_FRACTION - ANKLE_HEIGHT_FRACTION

# (shoulder, elbow, wrist, hand) and (hip, knee, ankle) chains, left then right.
ARM_CHAINS = ((16, 18, 20, 22), (17, 19, 21, 23))
LEG_CHAINS = ((1, 4, 7), (2, 5, 8))
# Offsets rescaled to keep the height when the legs change (pelvis -> spine1 -> ... -> head).
_SPINE_CHAIN = (3, 6, 9, 12, 15)

# de Leva (1996) Table 1: mean segment lengths (mm) of the reference subjects, stature first. Trunk: upper
# (suprasternale-xiphion), mid (xiphion-omphalion), lower (omphalion-mid-hip); each set sums to the whole
# trunk (531.9 / 529.3 mm).
DE_LEVA_LENGTHS_MM = {
    "male": {"stature": 1741.0, "head": 203.3, "upper_trunk": 170.7, "mid_trunk": 215.5,
             "lower_trunk": 145.7, "upper_arm": 281.7, "forearm": 268.9, "hand": 86.2, "thigh": 422.2,
             "shank": 434.0, "foot": 258.1},
    "female": {"stature": 1735.0, "head": 200.2, "upper_trunk": 142.5, "mid_trunk": 205.3,
               "lower_trunk": 181.5, "upper_arm": 275.1, "forearm": 264.3, "hand": 78.0, "thigh": 368.5,
               "shank": 432.3, "foot": 228.3},
}
# The de Leva segment each SMPL bone (by child joint) follows: lower trunk = pelvis -> spine1, mid trunk =
# spine1 -> spine3, upper trunk = spine3 -> neck.
_BONE_SEGMENTS = {3: "lower_trunk", 6: "mid_trunk", 9: "mid_trunk", 12: "upper_trunk", 15: "head",
                  4: "thigh", 5: "thigh", 7: "shank", 8: "shank", 10: "foot", 11: "foot",
                  18: "upper_arm", 19: "upper_arm", 20: "forearm", 21: "forearm", 22: "hand", 23: "hand"}


def _female_factors() -> torch.Tensor:
    """(24,) female / male bone length, each per stature (1 for bones de Leva does not measure)."""
    f, m = DE_LEVA_LENGTHS_MM["female"], DE_LEVA_LENGTHS_MM["male"]
    out = torch.ones(NUM_JOINTS, dtype=torch.float64)
    for joint, seg in _BONE_SEGMENTS.items():
        out[joint] = (f[seg] / f["stature"]) / (m[seg] / m["stature"])
    return out


SEX_BONE_FACTORS = {"male": torch.ones(NUM_JOINTS, dtype=torch.float64), "female": _female_factors()}


def _a_pose_to_t_pose(pos: list[list[float]]) -> list[list[float]]:
    """Lay each arm chain along +-x at shoulder height, keeping the segment lengths."""
    pos = [list(p) for p in pos]
    for chain in ARM_CHAINS:
        side = 1.0 if pos[chain[0]][0] > 0 else -1.0
        for parent, child in zip(chain[:-1], chain[1:], strict=True):
            length = math.dist(_A_POSE_FRACTIONS[parent], _A_POSE_FRACTIONS[child])
            pos[child] = [pos[parent][0] + side * length, pos[parent][1], pos[parent][2]]
    return pos


def _default_offset_fractions() -> torch.Tensor:
    pos = torch.tensor(_a_pose_to_t_pose(_A_POSE_FRACTIONS), dtype=torch.float64)
    off = pos - pos[[max(p, 0) for p in PARENTS]]
    off[0] = 0.0
    return off


DEFAULT_OFFSET_FRACTIONS = _default_offset_fractions()  # (24, 3) float64, T-pose offsets / height


def body_vector(body: dict) -> torch.Tensor:
    """Body dict -> (4,) float32 ``[sex (female 0, male 1), height, arm_length, leg_length]``."""
    return torch.from_numpy(body_array(body))


def body_dict(vec) -> dict:
    """Inverse of :func:`body_vector` for one body (sex code >= 0.5 reads as male)."""
    v = [float(x) for x in torch.as_tensor(vec).reshape(4)]
    sex = "male" if v[0] >= 0.5 else "female"
    return {"sex": sex, "height": v[1], "arm_length": v[2], "leg_length": v[3]}


def sex_bone_factors(code: torch.Tensor) -> torch.Tensor:
    """Sex code (...) (female 0, male 1) -> (..., 24) bone factors, linear between the two sexes."""
    female, male = (SEX_BONE_FACTORS[s].to(code.dtype) for s in ("female", "male"))
    return female + code[..., None] * (male - female)


def default_offsets(height=1.75, sex="male") -> torch.Tensor:
    """T-pose offsets (..., 24, 3) of the default skeleton scaled to ``height`` (float or tensor (...)), with
    the bone proportions of ``sex`` ('male'/'female' or a code tensor (...)). The female skeleton's height is
    the male's as measured (``measure_offsets``): the spine chain absorbs the difference."""
    if isinstance(sex, str):
        if sex not in SEX_CODES:
            raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
        sex = SEX_CODES[sex]
    h = torch.as_tensor(height, dtype=torch.get_default_dtype())
    code = torch.as_tensor(sex, dtype=h.dtype).expand(h.shape)
    off = DEFAULT_OFFSET_FRACTIONS.to(h.dtype) * h[..., None, None] * sex_bone_factors(code)[..., None]
    return _fit_height(off, h)


def _as_body_tensor(body) -> torch.Tensor:
    return body_vector(body) if isinstance(body, dict) else torch.as_tensor(body)


def _chain_length(offsets: torch.Tensor, chains) -> torch.Tensor:
    """Mean over the chains of the summed bone lengths (each chain excludes its first joint's own offset)."""
    lengths = [offsets[..., list(c[1:]), :].norm(dim=-1).sum(-1) for c in chains]
    return torch.stack(lengths, -1).mean(-1)


def _scale_joints(offsets: torch.Tensor, joints, scale: torch.Tensor) -> torch.Tensor:
    factor = torch.ones_like(offsets[..., 0])
    factor[..., list(joints)] = scale[..., None]
    return offsets * factor[..., None]


def offsets_for_body(body) -> torch.Tensor:
    """Body dict or vector (..., 4) -> T-pose offsets (..., 24, 3) whose measurements equal the body.

    The default skeleton of the body's sex is scaled to the height, then the upper and lower arm bones to the
    arm length and the thigh and shank to the leg length; the spine chain then absorbs the height the leg
    change added.
    """
    vec = _as_body_tensor(body)
    height, arm, leg = vec[..., 1], vec[..., 2], vec[..., 3]
    off = default_offsets(height, vec[..., 0]).to(vec.dtype)
    arm_joints = [j for c in ARM_CHAINS for j in c[1:3]]
    off = _scale_joints(off, arm_joints, arm / _chain_length(off, [c[:3] for c in ARM_CHAINS]))
    off = _scale_joints(off, [j for c in LEG_CHAINS for j in c[1:]], leg / _chain_length(off, LEG_CHAINS))
    return _fit_height(off, height)


def _fit_height(off: torch.Tensor, height: torch.Tensor) -> torch.Tensor:
    """Scale the spine chain so that the measured height is ``height``."""
    spine_y = off[..., list(_SPINE_CHAIN), 1].sum(-1)
    other_y = _head_ankle_height(off) - spine_y
    return _scale_joints(off, _SPINE_CHAIN, (height * _HEAD_ANKLE_FRACTION - other_y) / spine_y)


def tpose_positions(offsets: torch.Tensor) -> torch.Tensor:
    """(..., 24, 3) offsets -> (..., 24, 3) T-pose joint positions with the pelvis at the origin."""
    pos = [torch.zeros_like(offsets[..., 0, :])]
    for j in range(1, NUM_JOINTS):
        pos.append(pos[PARENTS[j]] + offsets[..., j, :])
    return torch.stack(pos, -2)


def _head_ankle_height(offsets: torch.Tensor) -> torch.Tensor:
    pos = tpose_positions(offsets)
    return pos[..., 15, 1] - pos[..., [7, 8], 1].mean(-1)


def measure_offsets(offsets: torch.Tensor) -> dict:
    """(..., 24, 3) T-pose offsets -> dict(height, arm_length, leg_length) of tensors (...)."""
    return {
        "height": _head_ankle_height(offsets) / _HEAD_ANKLE_FRACTION,
        "arm_length": _chain_length(offsets, [c[:3] for c in ARM_CHAINS]),
        "leg_length": _chain_length(offsets, LEG_CHAINS),
    }


def body_vector_from_offsets(offsets: torch.Tensor, sex) -> torch.Tensor:
    """Measured body vector (..., 4) of a skeleton; ``sex`` is 'male'/'female' or a code tensor (...)."""
    m = measure_offsets(offsets)
    code = torch.as_tensor(SEX_CODES[sex] if isinstance(sex, str) else sex, dtype=offsets.dtype)
    return torch.stack([code.expand_as(m["height"]), m["height"], m["arm_length"], m["leg_length"]], -1)
