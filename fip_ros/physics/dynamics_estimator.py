"""Streaming body dynamics: one pose in, translation / contacts / ground reactions / joint moments out.

Translation and contacts are causal (no delay). Rates and accelerations come from a Savitzky-Golay window
centred on a past frame, so dynamics outputs lag the input by ``delay`` frames (window // 2 + 1).
"""

from collections import deque

import torch

from fip_ros.core.imu_synthesis import sensor_local_offsets
from fip_ros.core.kinematics import forward_kinematics
from fip_ros.core.smpl_tree import ROOT_SENSOR
from fip_ros.physics.contact import foot_probability, lowest_sole, point_probability, sole_points
from fip_ros.physics.ground_reaction import bwbh_percent, ground_reaction
from fip_ros.physics.inverse_dynamics import (
    com_acceleration_from_motion,
    kinematics_from_motion,
    savgol_filter,
)
from fip_ros.physics.segments import build_segments
from fip_ros.physics.translation import StanceTranslation
from fip_ros.physics.virtual_imu import carrier_acceleration


def offsets_for(body: dict) -> torch.Tensor:
    """T-pose skeleton of a body dict: the parametric skeleton given limb lengths, else scaled by height."""
    from fip_ros.core.body_model import default_offsets, offsets_for_body

    if "arm_length" in body and "leg_length" in body:
        return offsets_for_body(body).double()
    return default_offsets(float(body["height"])).double()


class DynamicsEstimator:
    """Per-frame dynamics for one subject. ``body``: dict(sex, height, mass[, arm_length, leg_length]).

    The root path is estimated (stance anchoring), so the ground reactions point from the CoPs at the centre
    of mass by default (``grf_direction='com'``, see :mod:`fip_ros.physics.ground_reaction`)."""

    def __init__(self, body: dict, fps: float = 60.0, window: int = 11, grf_direction: str = "com"):
        self.fps, self.window, self.grf_direction = float(fps), int(window), grf_direction
        self.delay = self.window // 2 + 1
        self.set_body(body)

    def set_body(self, body: dict):
        self.body = dict(body)
        self.mass, self.height = float(body["mass"]), float(body["height"])
        self.offsets = offsets_for(body)
        self.segments = build_segments(self.offsets, self.mass, self.height, str(body.get("sex", "male")))
        self.pelvis_site = sensor_local_offsets(self.offsets)[ROOT_SENSOR]
        self.reset()

    def reset(self):
        self.translation = StanceTranslation(self.height, self.fps)
        self.prev_pts = None
        self.buffer = deque(maxlen=self.window + 2)

    def step(self, local_rot, pelvis_acc=None, root=None, contact=None) -> dict | None:
        """local_rot (24,3,3) (row 0 = global pelvis rotation); pelvis_acc (3,) or None: the pelvis sensor's
        world free acceleration (SMPL axes, m/s^2), used for the root's acceleration while every frame of the
        window has one; root (3,) or None: the pose's estimated root position (SMPL axes, the estimator's
        :mod:`fip_ros.core.translation`), else the path is anchored here from the pose alone; contact (2,) or
        None: that estimator's left/right foot-contact probabilities (with ``root`` only), else found on the
        world path. Returns the outputs for the frame ``delay`` frames back (None until the window has
        filled); see :func:`analyse` for the keys."""
        local_rot = torch.as_tensor(local_rot, dtype=torch.float64)
        _, rel = forward_kinematics(local_rot, self.offsets)
        if root is None:
            root, contact = self.translation.step(rel)
            floor = torch.zeros((), dtype=torch.float64)
        else:
            root = torch.as_tensor(root, dtype=torch.float64)
            world_contact, floor = self._world_contact(rel + root)
            contact = world_contact if contact is None else torch.as_tensor(contact, dtype=torch.float64)
        if pelvis_acc is not None:
            pelvis_acc = torch.as_tensor(pelvis_acc, dtype=torch.float64)
        self.buffer.append((local_rot, root, contact, pelvis_acc, floor))
        if len(self.buffer) < self.buffer.maxlen:
            return None
        rots, roots, contacts, measured, floors = zip(*self.buffer, strict=True)
        rots, roots, contacts = torch.stack(rots), torch.stack(roots), torch.stack(contacts)
        root_acc = None
        if all(a is not None for a in measured):
            root_acc = carrier_acceleration(torch.stack(measured), rots[:, 0], self.pelvis_site, self.fps)
        return analyse(rots, roots, contacts, self.offsets, self.segments, self.fps, self.window,
                       floor=torch.stack(floors), frames=self.delay, grf_direction=self.grf_direction,
                       root_acc=root_acc)

    def _world_contact(self, joints):
        """Foot contact of a pose placed in the world (24,3): sole points low (over the lowest one, the
        floor under the body) and still in the world. -> (contact (2,), floor height ())."""
        pts = sole_points(joints, self.height)
        _, floor = lowest_sole(pts)
        step = torch.zeros_like(pts) if self.prev_pts is None else pts - self.prev_pts
        self.prev_pts = pts
        return foot_probability(point_probability(pts[:, 1] - floor, step.norm(dim=-1) * self.fps)), floor


def analyse(local_rot, root, contact, offsets, segments, fps: float = 60.0, window: int = 9, floor=0.0,
            frames=None, grf_direction: str = "momentum", root_acc=None) -> dict:
    """Offline dynamics of a sequence (T,24,3,3), root (T,3), contact (T,2), floor height (float or (T,)):
    dict of (T, ...) tensors (or only the ``frames`` index/slice of them; the kinematics use the whole
    sequence). grf_direction: 'momentum' for a measured root path, 'com' for an estimated one
    (:func:`fip_ros.physics.ground_reaction.ground_reaction`). root_acc (T,3): a measured root acceleration
    (the pelvis sensor's, :func:`fip_ros.physics.virtual_imu.carrier_acceleration`) to use instead of the root
    path's: stance anchoring gives positions but no braking or push-off.

    Keys: translation, contact, grf, cop, free_moment, moments (N m, world, parent on child), moments_bwbh,
    moments_local (in each child segment's frame), residual_force, residual_moment, total_force.
    """
    kin = kinematics_from_motion(local_rot, offsets, root, fps, window)
    com_acc = com_acceleration_from_motion(kin, segments, fps, window)
    if root_acc is not None:  # same filter as the path's own derivative, so only the source differs
        swap = savgol_filter(root_acc, fps, window) - savgol_filter(root, fps, window, deriv=2)
        com_acc = com_acc + swap[..., None, :]
    if frames is not None:
        kin = {k: v[frames] for k, v in kin.items()}
        com_acc, root, contact = com_acc[frames], root[frames], contact[frames]
        floor = floor[frames] if torch.is_tensor(floor) else floor
    out = ground_reaction(kin, segments, com_acc, contact, floor, grf_direction)
    out["moments_local"] = (kin["global_rot"].transpose(-1, -2) @ out["moments"][..., None])[..., 0]
    out["moments_bwbh"] = bwbh_percent(out["moments"], segments.total_mass, segments.height)
    out["translation"], out["contact"] = root, contact
    return out
