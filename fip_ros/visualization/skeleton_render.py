"""Render estimated beside true SMPL-24 skeletons as an animated GIF and a PNG contact sheet.

Positions are world positions (SMPL frame, y up, floor at y = 0); each skeleton is drawn centred over its own
pelvis horizontally, at its real height, above a floor grid, with axes in metres.
"""

import matplotlib

matplotlib.use("Agg")  # headless: CI and embedded boards have no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.animation import FuncAnimation, PillowWriter  # noqa: E402

from fip_ros.core.smpl_tree import PARENTS  # noqa: E402

_BONES = [(j, p) for j, p in enumerate(PARENTS) if p >= 0]
HALF_WIDTH = 0.75  # m either side of the pelvis
TOP = 2.0  # m


def _to_plot_axes(joints: np.ndarray) -> np.ndarray:
    """SMPL (x left, y up, z forward) -> plot (x, depth, up), pelvis over the origin, so the figure stands."""
    centred = joints - joints[..., :1, :] * np.array([1.0, 0.0, 1.0])
    return np.stack([centred[..., 0], centred[..., 2], centred[..., 1]], axis=-1)


def _draw(ax, joints: np.ndarray, colour: str, label: str | None):
    for j, p in _BONES:
        seg = joints[[p, j]]
        ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=colour, lw=2.5, label=label if j == 1 else None)
    ax.scatter(joints[:, 0], joints[:, 1], joints[:, 2], color=colour, s=8)


def _setup(ax, title: str):
    ax.set_title(title, fontsize=10)
    ax.set_xlim(-HALF_WIDTH, HALF_WIDTH)
    ax.set_ylim(-HALF_WIDTH, HALF_WIDTH)
    ax.set_zlim(0.0, TOP)
    ax.set_box_aspect((2 * HALF_WIDTH, 2 * HALF_WIDTH, TOP))
    ax.view_init(elev=12, azim=-60)
    ax.set_xlabel("left (m)", fontsize=7, labelpad=-4)
    ax.set_ylabel("forward (m)", fontsize=7, labelpad=-4)
    ax.set_zlabel("height (m)", fontsize=7, labelpad=-4)
    ax.tick_params(labelsize=6, pad=-2)
    ticks = (-0.5, 0.0, 0.5)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_zticks(np.arange(0.0, TOP + 0.01, 0.5))
    for t in np.arange(-0.5, HALF_WIDTH, 0.25):  # the floor: a grid at y = 0
        ax.plot([t, t], [-HALF_WIDTH, HALF_WIDTH], [0, 0], color="0.75", lw=0.6)
        ax.plot([-HALF_WIDTH, HALF_WIDTH], [t, t], [0, 0], color="0.75", lw=0.6)


def render_contact_sheet(pred: np.ndarray, true: np.ndarray, path: str, frames: int = 8, fps: float = 60.0):
    """Evenly spaced frames (two rows), estimate (orange) over truth (blue); world positions (T,24,3)."""
    idx = np.linspace(0, len(pred) - 1, frames).astype(int)
    cols = -(-frames // 2)
    fig = plt.figure(figsize=(3.6 * cols, 8.4))
    p, t = _to_plot_axes(pred), _to_plot_axes(true)
    for k, i in enumerate(idx):
        ax = fig.add_subplot(2, cols, k + 1, projection="3d")
        _setup(ax, f"t = {i / fps:.2f} s")
        _draw(ax, t[i], "tab:blue", "truth" if k == 0 else None)
        _draw(ax, p[i], "tab:orange", "estimate" if k == 0 else None)
    fig.legend(loc="upper center", ncol=2, fontsize=11)
    fig.subplots_adjust(left=0.02, right=0.97, bottom=0.04, top=0.92, wspace=0.1, hspace=0.15)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def render_animation(pred: np.ndarray, true: np.ndarray, path: str, fps: float = 60.0, step: int = 3):
    """Animated GIF of truth (left) and estimate (right), every ``step``-th frame; world positions."""
    p, t = _to_plot_axes(pred[::step]), _to_plot_axes(true[::step])
    fig = plt.figure(figsize=(9, 5.4))
    axes = [fig.add_subplot(1, 2, k + 1, projection="3d") for k in range(2)]
    fig.subplots_adjust(left=0.0, right=0.97, bottom=0.03, top=0.95, wspace=0.05)

    panels = ((axes[0], t, "tab:blue", "truth"), (axes[1], p, "tab:orange", "estimate"))

    def update(i):
        for ax, joints, colour, name in panels:
            ax.cla()
            _setup(ax, f"{name}  t = {i * step / fps:.1f} s")
            _draw(ax, joints[i], colour, None)
        return axes

    anim = FuncAnimation(fig, update, frames=len(p), blit=False)
    anim.save(path, writer=PillowWriter(fps=max(1, round(fps / step))), dpi=90)
    plt.close(fig)
