"""Render predicted beside true SMPL-24 skeletons as an animated GIF and a PNG contact sheet."""

import matplotlib

matplotlib.use("Agg")  # headless: CI and embedded boards have no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.animation import FuncAnimation, PillowWriter  # noqa: E402

from fip_ros.core.smpl_tree import PARENTS  # noqa: E402

_BONES = [(j, p) for j, p in enumerate(PARENTS) if p >= 0]


def _to_plot_axes(joints: np.ndarray) -> np.ndarray:
    """SMPL (x left, y up, z forward) -> plot (x, depth, up) so the figure stands upright."""
    return np.stack([joints[..., 0], joints[..., 2], joints[..., 1]], axis=-1)


def _draw(ax, joints: np.ndarray, colour: str, label: str | None):
    for j, p in _BONES:
        seg = joints[[p, j]]
        ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=colour, lw=2, label=label if j == 1 else None)


def _setup(ax, title: str, radius: float = 1.0):
    ax.set_title(title, fontsize=9)
    ax.set_xlim(-radius, radius)
    ax.set_ylim(-radius, radius)
    ax.set_zlim(-radius, radius)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=10, azim=-60)
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.set_zticklabels([])


def render_contact_sheet(pred: np.ndarray, true: np.ndarray, path: str, frames: int = 8, fps: float = 60.0):
    """A row of evenly spaced frames, prediction (orange) over truth (blue), pelvis-centred."""
    idx = np.linspace(0, len(pred) - 1, frames).astype(int)
    fig = plt.figure(figsize=(2.2 * frames, 2.6))
    p, t = _to_plot_axes(pred), _to_plot_axes(true)
    for k, i in enumerate(idx):
        ax = fig.add_subplot(1, frames, k + 1, projection="3d")
        _setup(ax, f"t = {i / fps:.1f} s")
        _draw(ax, t[i], "tab:blue", "truth" if k == 0 else None)
        _draw(ax, p[i], "tab:orange", "estimate" if k == 0 else None)
    fig.legend(loc="lower center", ncol=2, fontsize=8)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def render_animation(pred: np.ndarray, true: np.ndarray, path: str, fps: float = 60.0, step: int = 3):
    """Animated GIF of truth (left) and estimate (right), every ``step``-th frame."""
    p, t = _to_plot_axes(pred[::step]), _to_plot_axes(true[::step])
    fig = plt.figure(figsize=(6, 3.2))
    axes = [fig.add_subplot(1, 2, k + 1, projection="3d") for k in range(2)]

    panels = ((axes[0], t, "tab:blue", "truth"), (axes[1], p, "tab:orange", "estimate"))

    def update(i):
        for ax, joints, colour, name in panels:
            ax.cla()
            _setup(ax, f"{name}  t = {i * step / fps:.1f} s")
            _draw(ax, joints[i], colour, None)
        return axes

    anim = FuncAnimation(fig, update, frames=len(p), blit=False)
    anim.save(path, writer=PillowWriter(fps=max(1, round(fps / step))))
    plt.close(fig)
