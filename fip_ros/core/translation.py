"""Global root translation, causal and streaming (NumPy only: no torch at inference).

FIP estimates the pose, not where the body is. Following TransPose and PIP (Yi et al. 2021, 2022), the root
velocity fuses two estimates, weighted by the foot-contact probability:

- **stance anchoring**: a foot in contact does not move in the world, so the root moves opposite to the
  stance sole's motion relative to the root (from the estimated pose's joint positions);
- **a learned root velocity** (:class:`VelocityNet`, a small MLP over the last 0.6 s of the six IMUs and
  the four sole points of the estimated pose, expressed in the pelvis's heading frame), which also gives the
  foot-contact probabilities; it carries the body through flight phases (running, jumps) and sliding, where
  no foot anchors.

Vertical: while a foot is in contact the root stands on that foot's floor level; in flight it follows the
learned vertical velocity. The floor is not a fixed height: a foot that touches down more than
``STEP_HEIGHT`` above or below the current level starts a new level (stairs, a platform); within it, the
touch-down snaps to the current level, so a jump comes back to the floor it left, and so does a body that had
no foot in contact for longer than any jump flies (``MAX_FLIGHT``: lying down). Fails on ramps and slopes
(a continuous rise below ``STEP_HEIGHT`` per step is snapped flat) and where the estimated leg pose is off by
more than ``STEP_HEIGHT`` at touch-down (a false step).

Frames: SMPL global frame (y up), metres, the first frame's root at the origin.
"""

from pathlib import Path

import numpy as np

from fip_ros.core.smpl_tree import ROOT_SENSOR

# Sole points: SMPL joints carrying them (left ankle, left foot, right ankle, right foot) and the height of
# those joints above the sole in a standing T-pose, as fractions of body height (default skeleton).
CONTACT_JOINTS = (7, 10, 8, 11)
SOLE_DEPTH = (0.042, 0.006, 0.042, 0.006)
WINDOW = 36  # frames of history the velocity net sees (0.6 s at 60 Hz) ...
STRIDE = 4  # ... every STRIDE-th of them, up to the current frame
SPAN = WINDOW - STRIDE + 1  # frames kept to build one window
ACC_SCALE = 0.1  # m/s^2 -> network units
STEP_HEIGHT = 0.10  # m: a touch-down this far from the current floor level starts a new level ...
FLIGHT_SNAP = 0.30  # m: ... or this far after a flight phase (no foot in contact)
CONTACT_ON = 0.5  # foot-contact probability at which a foot touches down
ANCHOR_WEIGHT = 1.0  # share of stance anchoring at full contact (the rest is the learned velocity)
CONTACT_LOW, CONTACT_HIGH = 0.5, 0.8  # stance anchoring fades in between these contact probabilities
# s: no foot in contact for longer than an everyday jump's flight (0.6 s: a 0.44 m rise) is no flight but a
# body supported otherwise (lying, kneeling, held by a partner): its landing is on the take-off floor
MAX_FLIGHT = 0.6


def default_weights_path() -> Path:
    return Path(__file__).resolve().parents[1] / "weights" / "translation_default.npz"


def sole_points(rel_joints: np.ndarray, height: float) -> np.ndarray:
    """(..., 24, 3) joint positions -> (..., 4, 3) points under the ankles and balls of the feet (y up)."""
    pts = np.array(rel_joints[..., list(CONTACT_JOINTS), :], dtype=np.float64)
    pts[..., 1] -= np.asarray(SOLE_DEPTH) * height
    return pts


def heading_rotation(pelvis_rot: np.ndarray) -> np.ndarray:
    """(..., 3, 3) pelvis rotation -> (..., 3, 3) rotation about y by the pelvis's heading (yaw of its z
    axis)."""
    fwd = pelvis_rot[..., :, 2]
    yaw = np.arctan2(fwd[..., 0], fwd[..., 2])
    c, s = np.cos(yaw), np.sin(yaw)
    out = np.zeros(yaw.shape + (3, 3))
    out[..., 0, 0], out[..., 0, 2], out[..., 1, 1], out[..., 2, 0], out[..., 2, 2] = c, s, 1.0, -s, c
    return out


def frame_features(acc: np.ndarray, ori: np.ndarray, rel_joints: np.ndarray, height: float) -> np.ndarray:
    """acc (..., 6, 3), ori (..., 6, 3, 3) calibrated IMUs, rel_joints (..., 24, 3) the root-relative joints
    -> (..., 84) features in the heading frame: the six orientations and free accelerations, and the four
    sole points relative to the root (what says which foot is down and how the legs swing)."""
    head_t = np.swapaxes(heading_rotation(ori[..., ROOT_SENSOR, :, :]), -1, -2)[..., None, :, :]
    rot = head_t @ ori
    a = (head_t @ acc[..., None])[..., 0] * ACC_SCALE
    pts = (head_t @ sole_points(rel_joints, height)[..., None])[..., 0]
    return np.concatenate([rot.reshape(*rot.shape[:-3], -1), a.reshape(*a.shape[:-2], -1),
                           pts.reshape(*pts.shape[:-2], -1)], -1)


def feature_windows(features: np.ndarray, frames=None, start=None) -> np.ndarray:
    """(N, F) per-frame features -> (len(frames), WINDOW // STRIDE * F) causal windows ending at ``frames``
    (default: every frame), oldest first, the newest being the frame itself. ``start`` (per window, default
    0) is where the stream started: older frames repeat that one, as :class:`TranslationEstimator` does
    after ``reset`` or ``restart``."""
    frames = np.arange(len(features)) if frames is None else np.asarray(frames)
    start = np.zeros_like(frames) if start is None else np.asarray(start)
    lags = np.arange(WINDOW - STRIDE, -1, -STRIDE)
    idx = np.maximum(frames[:, None] - lags[None], start[:, None])
    return features[idx].reshape(len(frames), -1)


class VelocityNet:
    """The learned part: an MLP (ReLU) from a causal window of IMU and sole-point features
    (:func:`frame_features`) to the root velocity in the heading frame (m/s, 3) and the left/right
    foot-contact probabilities. Weights: an ``.npz`` of arrays only (read with ``allow_pickle=False``: no
    code runs from the file)."""

    def __init__(self, path=None):
        path = Path(path or default_weights_path())
        try:
            # float64, as the features are (the heading frame is float64): float32 weights would be converted
            # on every call, half of the net's time in a streaming step; the results are the same.
            with np.load(path, allow_pickle=False) as z:
                self.mean, self.std = z["mean"].astype(np.float64), z["std"].astype(np.float64)
                n = int(z["layers"])
                self.layers = [(z[f"w{i}"].astype(np.float64), z[f"b{i}"].astype(np.float64))
                               for i in range(n)]
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"cannot read translation weights {path}: {type(e).__name__}: {e}") from e
        if self.layers[0][0].shape[0] != self.mean.shape[-1] or self.layers[-1][0].shape[1] != 5:
            raise ValueError(f"translation weights {path} do not fit the feature window")

    def __call__(self, windows: np.ndarray):
        """(..., D) feature windows -> velocity (..., 3), contact probability (..., 2)."""
        x = (windows - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return x[..., :3], 1.0 / (1.0 + np.exp(-x[..., 3:5]))


class TranslationEstimator:
    """Streaming root translation of one body; :meth:`step` once per frame (state: the IMU history, the
    previous sole points, the root, the floor levels under each foot)."""

    def __init__(self, height: float, fps: float = 60.0, net: VelocityNet | None = None):
        self.height, self.fps = float(height), float(fps)
        self.net = net or VelocityNet()
        self.reset()

    def reset(self):
        """Start over at the origin (e.g. after a calibration, which sets a new world heading)."""
        self.root = np.zeros(3)
        self.restart()

    def restart(self):
        """Forget the history but stay where the body is (e.g. after an input gap)."""
        self.history = None  # (SPAN, 84) the latest features, oldest first
        self.prev_pts = None
        self.floor = 0.0  # current floor level, y, set at the first frame under the lowest sole point
        self.foot_floor = np.full(2, np.nan)  # floor level under each foot while it is in contact
        self.contact = np.zeros(2)
        self.stance = 0  # the anchoring foot (left 0, right 1)
        self.flight = 0.0  # s without a foot in contact
        self.started = False

    def step(self, acc, ori, rel_joints):
        """acc (6, 3), ori (6, 3, 3) the calibrated IMUs; rel_joints (24, 3) the estimated joints minus the
        root, global axes. Returns root (3,) and foot contact (2,) (left, right)."""
        acc, ori = np.asarray(acc, np.float64), np.asarray(ori, np.float64)
        rel_joints = np.asarray(rel_joints, np.float64)
        feat = frame_features(acc, ori, rel_joints, self.height)
        self.history = (np.repeat(feat[None], SPAN, 0) if self.history is None
                        else np.concatenate([self.history[1:], feat[None]]))
        vel_h, contact = self.net(self.history[::STRIDE].reshape(-1)[None])
        vel = heading_rotation(ori[ROOT_SENSOR]) @ vel_h[0]
        contact = contact[0]
        pts = sole_points(rel_joints, self.height)
        if not self.started:  # the first frame: the lowest sole point defines the floor
            self.started = True
            self.floor = float(self.root[1] + pts[:, 1].min())
            self.prev_pts, self.contact = pts, contact
            self.foot_floor[contact >= CONTACT_ON] = self.floor
            return self.root.copy(), contact
        self.root = self._advance(pts, vel, contact)
        self.prev_pts, self.contact = pts, contact
        return self.root.copy(), contact

    def _advance(self, pts, vel, contact):
        dt = 1.0 / self.fps
        rel_vel = (pts - self.prev_pts) * self.fps
        # Stance anchoring (TransPose): the foot more likely in contact, but a foot still firmly in contact
        # stays the anchor (switching between two planted feet on every flicker of their probabilities turns
        # the estimated pose's sway into drift); of its two points the lower one (the heel at heel strike,
        # the ball at push-off) stays put.
        if contact[self.stance] < CONTACT_HIGH:
            self.stance = int(np.argmax(contact))
        foot = self.stance
        point = 2 * foot + int(np.argmin(pts[2 * foot:2 * foot + 2, 1]))
        anchored = -rel_vel[point]
        ramp = (contact[foot] - CONTACT_LOW) / (CONTACT_HIGH - CONTACT_LOW)
        share = ANCHOR_WEIGHT * float(np.clip(ramp, 0.0, 1.0))
        root = self.root.copy()
        predicted = root + vel * dt
        root[[0, 2]] += (share * anchored[[0, 2]] + (1 - share) * vel[[0, 2]]) * dt
        weight = np.clip(contact, 0.0, 1.0)
        trust = min(1.0, float(weight.sum()))
        stance = pts.reshape(2, 2, 3)[[0, 1], np.argmin(pts.reshape(2, 2, 3)[:, :, 1], axis=1)]
        # Floor levels: a foot touching down snaps to the current level, or starts a new one (stairs). After
        # a flight phase the height is the learned velocity's integral, which drifts: a landing snaps back to
        # the take-off level within FLIGHT_SNAP, and at any distance after a "flight" longer than MAX_FLIGHT.
        flying = np.isnan(self.foot_floor).all()
        self.flight = self.flight + dt if flying else 0.0
        snap = (np.inf if self.flight > MAX_FLIGHT else FLIGHT_SNAP) if flying else STEP_HEIGHT
        for k in range(2):
            if contact[k] >= CONTACT_ON and np.isnan(self.foot_floor[k]):
                level = predicted[1] + stance[k, 1]
                if abs(level - self.floor) > snap:
                    self.floor = level
                self.foot_floor[k] = self.floor
            elif contact[k] < CONTACT_ON:
                self.foot_floor[k] = np.nan
        on = ~np.isnan(self.foot_floor)
        if on.any():
            w = weight[on] + 1e-6
            standing = float((w * (self.foot_floor[on] - stance[on, 1])).sum() / w.sum())
            root[1] = trust * standing + (1 - trust) * predicted[1]
        else:
            root[1] = predicted[1]
        return root


def estimate_translation(acc, ori, rel_joints, height: float, fps: float = 60.0,
                         net: VelocityNet | None = None):
    """Offline convenience over :class:`TranslationEstimator`: (T, 6, 3), (T, 6, 3, 3), (T, 24, 3) ->
    root (T, 3), foot contact (T, 2)."""
    est = TranslationEstimator(height, fps, net)
    out = [est.step(a, o, j) for a, o, j in zip(acc, ori, rel_joints, strict=True)]
    return np.stack([o[0] for o in out]), np.stack([o[1] for o in out])
