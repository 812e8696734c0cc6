"""Network sizes. ``paper`` has the published sizes; ``default`` keeps the identical structure, sized so that
one streaming step meets the speed targets on a small CPU (see bench/bench_core.py)."""

from dataclasses import asdict, dataclass, replace

from fip_ros.core.overrides import with_overrides

# Tree IK levels (SMPL joint ids). The paper gives level sizes only (lower 2, 3, 3, 1; upper 3, 3); our
# reading: hips, then spine1 + knees, then spine2/spine3/neck, then head; the arms one chain per side.
LOWER_LEVELS = ((1, 2), (3, 4, 5), (6, 9, 12), (15,))
UPPER_LEVELS = ((13, 16, 18), (14, 17, 19))


@dataclass(frozen=True)
class FIPConfig:
    sex_embed: int = 3
    tpose_hidden: tuple = (1024, 1024)
    leaf_hidden: tuple = (128, 128)
    dropout: float = 0.2
    integral_in: tuple = (72, 72)  # MLP before the LSTM; its output width is integral_lstm
    integral_lstm: int = 256
    integral_layers: int = 2
    integral_out: tuple = (72, 72)
    body_embed: int = 128
    body_in: tuple = (64,)  # upper/lower RNN MLP before the LSTM
    body_lstm: int = 128
    body_layers: int = 2
    body_out: tuple = (64,)
    ik_hidden: tuple = (128,)
    lower_levels: tuple = LOWER_LEVELS
    upper_levels: tuple = UPPER_LEVELS
    leaky_slope: float = 0.01
    # False: the paper's "without body shape" ablation; the body input is replaced by one fixed reference
    # body (REFERENCE_BODY in model.py), so the network cannot see the subject's measurements.
    shape_input: bool = True
    # At inference (eval mode) also run on the left-right mirror image of the input and average the two poses
    # (fip_ros.fip.mirror); the states then carry both, twice the LSTM width. For networks trained with
    # mirroring augmentation (fip-train always mirrors half the windows).
    mirror_average: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


PAPER = FIPConfig()
DEFAULT = replace(
    PAPER,
    tpose_hidden=(256, 256),
    integral_in=(48,),
    integral_lstm=96,
    integral_out=(48,),
    body_embed=64,
    body_in=(64,),
    body_lstm=96,
    body_out=(64,),
    ik_hidden=(96,),
)

CONFIGS = {"paper": PAPER, "default": DEFAULT}


def get_config(name_or_cfg="default") -> FIPConfig:
    if isinstance(name_or_cfg, FIPConfig):
        return name_or_cfg
    if isinstance(name_or_cfg, dict):  # full (checkpoints) or partial (overrides of the default)
        return with_overrides(DEFAULT, name_or_cfg, "FIP config")
    if name_or_cfg not in CONFIGS:
        raise ValueError(f"unknown FIP config {name_or_cfg!r}; choose from {sorted(CONFIGS)}")
    return CONFIGS[name_or_cfg]
