"""Render estimated beside true SMPL-24 skeletons as an animated GIF and a PNG contact sheet.

Positions are world positions (SMPL frame, y up, floor at y = 0), axes in metres. The contact sheet compares
poses: each skeleton is drawn centred over its own pelvis horizontally, at its real height, above a floor
grid. The animation shows where the body goes: both skeletons walk through one room, its floor drawn as a
grid under the whole of both pelvis paths, which are traced on it.
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


def _to_plot_axes(joints: np.ndarray, centre: bool = True) -> np.ndarray:
    """SMPL (x left, y up, z forward) -> plot (x, depth, up); with ``centre`` the pelvis over the origin, so
    the figure stands in place."""
    if centre:
        joints = joints - joints[..., :1, :] * np.array([1.0, 0.0, 1.0])
    return np.stack([joints[..., 0], joints[..., 2], joints[..., 1]], axis=-1)


def _draw(ax, joints: np.ndarray, colour: str, label: str | None):
    for j, p in _BONES:
        seg = joints[[p, j]]
        ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=colour, lw=2.5, label=label if j == 1 else None)
    ax.scatter(joints[:, 0], joints[:, 1], joints[:, 2], color=colour, s=8)


def _setup(ax, title: str, lo=(-HALF_WIDTH, -HALF_WIDTH), hi=(HALF_WIDTH, HALF_WIDTH)):
    """Axes over the floor rectangle lo..hi (plot x, depth), a floor grid every 0.25 m (0.5 m in a room wider
    than 4 m)."""
    ax.set_title(title, fontsize=10)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_zlim(0.0, TOP)
    in_place = hi[0] - lo[0] <= 2 * HALF_WIDTH + 1e-6
    ax.set_box_aspect((hi[0] - lo[0], hi[1] - lo[1], TOP), zoom=1.0 if in_place else 1.4)
    ax.view_init(elev=12 if in_place else 25, azim=-60)
    ax.set_xlabel("left (m)", fontsize=7, labelpad=-4)
    ax.set_ylabel("forward (m)", fontsize=7, labelpad=-4)
    ax.set_zlabel("height (m)", fontsize=7, labelpad=-4)
    ax.tick_params(labelsize=6, pad=-2)
    cell = 0.25 if max(hi[0] - lo[0], hi[1] - lo[1]) <= 4.0 else 0.5
    tick = 2 * cell
    ax.set_xticks(np.arange(np.ceil(lo[0] / tick) * tick, hi[0] + 1e-6, tick))
    ax.set_yticks(np.arange(np.ceil(lo[1] / tick) * tick, hi[1] + 1e-6, tick))
    ax.set_zticks(np.arange(0.0, TOP + 0.01, 0.5))
    for t in np.arange(np.ceil(lo[0] / cell) * cell, hi[0] + 1e-6, cell):  # the floor: a grid at y = 0
        ax.plot([t, t], [lo[1], hi[1]], [0, 0], color="0.6", lw=0.6)
    for t in np.arange(np.ceil(lo[1] / cell) * cell, hi[1] + 1e-6, cell):
        ax.plot([lo[0], hi[0]], [t, t], [0, 0], color="0.6", lw=0.6)


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


def room(*paths: np.ndarray, margin: float = HALF_WIDTH) -> tuple[np.ndarray, np.ndarray]:
    """The floor rectangle (lo, hi in plot x, depth) ``margin`` beyond the pelvis paths ((T,3) plot axes)."""
    xy = np.concatenate([p[:, :2] for p in paths])
    xy = xy[np.isfinite(xy).all(1)]
    return xy.min(0) - margin, xy.max(0) + margin


def render_animation(pred: np.ndarray, true: np.ndarray, path: str, fps: float = 60.0, step: int = 3):
    """Animated GIF, every ``step``-th frame, of the truth (blue) and the estimate (orange) moving through the
    room: world positions, the floor drawn under both pelvis paths, each path traced on it up to the frame."""
    p, t = _to_plot_axes(pred, centre=False), _to_plot_axes(true, centre=False)
    lo, hi = room(p[:, 0], t[:, 0])
    span = hi - lo
    fig = plt.figure(figsize=(min(12.0, max(5.0, 6.0 * max(span) / TOP)), 6.0))
    ax = fig.add_subplot(1, 1, 1, projection="3d")
    fig.subplots_adjust(left=0.0, right=1.0, bottom=0.02, top=0.95)
    frames = range(0, len(p), step)

    def update(i):
        ax.cla()
        _setup(ax, f"truth (blue) and estimate (orange) in the room  t = {i / fps:.1f} s", lo, hi)
        for joints, colour, ls in ((t, "tab:blue", "-"), (p, "tab:orange", "--")):
            ax.plot(joints[: i + 1, 0, 0], joints[: i + 1, 0, 1], 0.0, color=colour, lw=1.2, ls=ls)
            _draw(ax, joints[i], colour, None)
        return [ax]

    anim = FuncAnimation(fig, update, frames=frames, blit=False)
    anim.save(path, writer=PillowWriter(fps=max(1, round(fps / step))), dpi=80)
    plt.close(fig)
