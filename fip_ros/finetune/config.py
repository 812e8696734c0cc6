"""The fine-tuning's settings (standard library only: ``fip-finetune`` shows them as its defaults)."""

from dataclasses import dataclass


@dataclass
class FinetuneConfig:
    steps: int = 80  # network steps, one recording each (in turn)
    placement_steps: int = 800  # iterations of the placement fit, first (network frozen)
    placement_prior: float = 1e-2  # per (5 cm)^2 of sensor shift: holds what the chain cannot observe
    lr: float = 3e-5  # network weights: small steps, the pre-trained model is the starting point
    placement_lr: float = 3e-3  # mounting rotations (rad)
    w_acc: float = 0.1
    w_ori: float = 10.0  # the sensor bones must turn as the sensors say: the best-observed signal
    w_residual: float = 0.05
    w_contact: float = 0.05
    w_smooth: float = 0.1  # per cm^2 of jitter
    w_prior: float = 10.0  # per unit squared parameter change, summed over the network
    # The mounting rotation is weakly observable and, left loose, rotates the network's input: held near
    # identity unless a recording is known to have misaligned sensors.
    w_mount: float = 100.0
    mass: float | None = None  # kg; None: BMI 22 from the height
