"""PNG figures of an evaluation: error over time and per-joint errors (matplotlib, headless)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend first)
import numpy as np  # noqa: E402

from fip_ros.core.smpl_tree import JOINT_NAMES  # noqa: E402


def error_over_time(series: dict, path, title: str, fps: float = 60.0, ylabel: str = "position error (cm)"):
    """series: label -> per-frame errors (T,)."""
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for label, err in series.items():
        err = np.asarray(err)
        ax.plot(np.arange(len(err)) / fps, err, label=label, lw=1)
    ax.set(xlabel="time (s)", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def per_joint_bars(per_joint: dict, path, title: str, ylabel: str):
    """per_joint: label -> (24,) mean errors; one bar group per SMPL joint."""
    fig, ax = plt.subplots(figsize=(12, 4))
    width = 0.8 / max(len(per_joint), 1)
    x = np.arange(len(JOINT_NAMES))
    for i, (label, values) in enumerate(per_joint.items()):
        ax.bar(x + i * width, np.asarray(values), width, label=label)
    ax.set_xticks(x + 0.4 - width / 2, JOINT_NAMES, rotation=60, ha="right", fontsize=8)
    ax.set(ylabel=ylabel, title=title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
