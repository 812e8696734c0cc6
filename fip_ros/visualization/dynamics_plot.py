"""Joint moments, foot contacts and vertical ground reaction over time: the estimate beside the truth."""

import matplotlib

matplotlib.use("Agg")  # headless

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fip_ros.core.gravity import GRAVITY  # noqa: E402

# Joint, SMPL child bodies (left, right), sign that turns the child-frame x moment into the named moment.
SAGITTAL = (("hip extension", (1, 2), 1.0), ("knee extension", (4, 5), -1.0),
            ("ankle plantarflexion", (7, 8), 1.0))


def sagittal_moments(moments: np.ndarray, global_rot: np.ndarray) -> np.ndarray:
    """World moments (T,24,3) and global rotations (T,24,3,3) -> (T, joint, side) named sagittal moments."""
    local = np.einsum("tjba,tjb->tja", global_rot, moments)  # R^T m: in each child segment's frame
    return np.stack([sign * local[:, list(bodies), 0] for _, bodies, sign in SAGITTAL], 1)


def render_dynamics(path, fps: float, mass: float, estimate: dict, truth: dict | None = None):
    """A PNG of the sagittal hip, knee and ankle moments (N m/kg), the contact probabilities and the vertical
    ground reaction (body weights), left and right, over time. ``estimate``/``truth``: dicts of (T, ...)
    arrays: moments (world), global_rot, contact, grf (NaN where a frame has none)."""
    fig, axes = plt.subplots(5, 1, figsize=(11, 12), sharex=True)
    series = [("estimate (dynamics node)", estimate, "-")] + ([("truth (clip kinematics)", truth, "--")]
                                                            if truth is not None else [])
    for label, d, style in series:
        t = np.arange(len(d["contact"])) / fps
        sag = sagittal_moments(d["moments"], d["global_rot"]) / mass
        for k, (name, _, _) in enumerate(SAGITTAL):
            for side, colour in ((0, "tab:green"), (1, "tab:red")):
                axes[k].plot(t, sag[:, k, side], style, color=colour, lw=1.4,
                             label=f"{'left' if side == 0 else 'right'}, {label}")
            axes[k].set_ylabel(f"{name}\n(N m/kg)")
        for side, colour in ((0, "tab:green"), (1, "tab:red")):
            axes[3].plot(t, d["contact"][:, side], style, color=colour, lw=1.4)
        axes[4].plot(t, d["grf"][..., 1].sum(1) / (mass * GRAVITY), style, color="k", lw=1.4, label=label)
    axes[3].set_ylabel("foot contact\nprobability")
    axes[3].set_ylim(-0.05, 1.05)
    axes[4].set_ylabel("vertical GRF,\nboth feet (BW)")
    axes[4].set_xlabel("time (s)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.axhline(0, color="0.5", lw=0.6)
    axes[0].legend(fontsize=8, ncol=2, loc="upper right")
    axes[4].legend(fontsize=8, loc="upper right")
    fig.suptitle("Joint moments (positive: extension / plantarflexion), contacts, ground reaction")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
