"""The FIP composite: start-up (T-pose + leaf regressors) and the recurrent per-frame network."""

import torch
from torch import nn

from fip_ros.core.body_model import body_vector_from_offsets, default_offsets
from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, LOWER_BODY_JOINTS, SKELETON_JOINTS, UPPER_BODY_JOINTS
from fip_ros.fip.assembly import Assembler, full_offsets
from fip_ros.fip.body_rnns import lower_body_rnn, upper_body_rnn
from fip_ros.fip.config import get_config
from fip_ros.fip.inputs import normalize
from fip_ros.fip.integral_rnn import IntegralRNN
from fip_ros.fip.layers import sixd_to_rotmat
from fip_ros.fip.leaf_regressor import LeafRegressor
from fip_ros.fip.mirror import (
    LEAF_PARTNERS,
    NODE_PARTNERS,
    ROTATION_PARTNERS,
    mean_rotation,
    mirror_imu,
    mirror_points,
    mirror_rotations,
)
from fip_ros.fip.tpose_regressor import TPoseRegressor
from fip_ros.fip.tree_ik import TreeIK
from fip_ros.runtime.graph import STATE_KEYS  # the ONNX graphs name the states so

# Where the upper/lower RNN outputs go in the SKELETON_JOINTS-ordered node array.
_NODE_ORDER = [(UPPER_BODY_JOINTS + LOWER_BODY_JOINTS).index(j) for j in SKELETON_JOINTS]
# The body a model without shape input always sees: the default skeleton at 1.70 m, male.
REFERENCE_BODY = body_vector_from_offsets(default_offsets(1.70), "male").float()


class FIP(nn.Module):
    """Fast Inertial Poser. Every component can be replaced (ablations) through the constructor.

    Start-up (once per body/session): ``tpose`` regresses the skeleton, ``leaf`` the initial leaf positions.
    Per frame: ``integral`` (shared over the 5 leaves) -> leaf positions; ``upper``/``lower`` -> node
    positions; ``ik`` -> 15 root-relative global rotations; assembly -> 24 local rotations + joints. At
    inference the recurrent part also runs on the mirror image of the input, and the two poses are averaged
    (``cfg.mirror_average``, ``fip_ros.fip.mirror``).
    """

    def __init__(self, cfg="default", tpose=None, leaf=None, integral=None, upper=None, lower=None, ik=None):
        super().__init__()
        self.cfg = get_config(cfg)
        self.tpose = tpose or TPoseRegressor(self.cfg)
        self.leaf = leaf or LeafRegressor(self.cfg)
        self.integral = integral or IntegralRNN(self.cfg)
        self.upper = upper or upper_body_rnn(self.cfg)
        self.lower = lower or lower_body_rnn(self.cfg)
        self.ik = ik or TreeIK(self.cfg)
        self.assemble = Assembler()
        self.register_buffer("node_order", torch.tensor(_NODE_ORDER), persistent=False)
        self.register_buffer("reference_body", REFERENCE_BODY.clone(), persistent=False)

    # --- start-up -----------------------------------------------------------------------------------
    def startup(self, body: torch.Tensor, init_pose: torch.Tensor | None = None):
        """body (B, 4), init_pose (B, 15, 3, 3) root-relative global rotations of ESTIMATED_JOINTS (None:
        T-pose, all identity) -> (skeleton (B, 19, 3), offsets (B, 24, 3), leaf0 (B, 5, 3), emb_up,
        emb_lo)."""
        if not self.cfg.shape_input:
            body = self.reference_body.to(body.dtype).expand_as(body)
        if init_pose is None:
            init_pose = torch.eye(3, dtype=body.dtype, device=body.device).expand(
                body.shape[0], len(ESTIMATED_JOINTS), 3, 3
            )
        skeleton = self.tpose(body)
        leaf0 = self.leaf(init_pose, skeleton)
        return (
            skeleton,
            full_offsets(skeleton, body),
            leaf0,
            self.upper.embed(skeleton),
            self.lower.embed(skeleton),
        )

    @property
    def mirror_averaging(self) -> bool:
        """Whether ``frames`` averages with the mirror image (``cfg.mirror_average``, at inference only:
        training fits the plain network, as dropout is off at inference)."""
        return self.cfg.mirror_average and not self.training

    def zero_state(self, batch: int, device=None) -> dict:
        """The three LSTM states as a dict with STATE_KEYS; with mirror averaging the mirror image's states
        follow the input's along the last (hidden) axis, so a state keeps one row per body."""
        h_int, c_int = self.integral.zero_state(batch, device)
        h_up, c_up = self.upper.zero_state(batch, device)
        h_lo, c_lo = self.lower.zero_state(batch, device)
        state = dict(h_int=h_int, c_int=c_int, h_up=h_up, c_up=c_up, h_lo=h_lo, c_lo=c_lo)
        return {k: torch.cat([v, v], -1) for k, v in state.items()} if self.mirror_averaging else state

    # --- recurrent part (shared by forward, the streaming engine and the exports) ----------------------
    def _recurrent(self, acc, ori, skeleton, leaf0, emb_up, emb_lo, *state):
        """-> (leaf_pos, nodes, rot15, root_rot, *new state)."""
        h_int, c_int, h_up, c_up, h_lo, c_lo = state
        feats, leaf_rot, root_rot = normalize(acc, ori)
        disp, h_int, c_int = self.integral(feats, h_int, c_int)
        leaf_pos = leaf0.unsqueeze(1) + disp
        up, h_up, c_up = self.upper(leaf_pos, leaf_rot, emb_up, h_up, c_up)
        lo, h_lo, c_lo = self.lower(leaf_pos, leaf_rot, emb_lo, h_lo, c_lo)
        nodes = torch.cat([up, lo], dim=2)[:, :, self.node_order]
        _, rot15 = self.ik(skeleton, nodes, leaf_rot)
        return leaf_pos, nodes, rot15, root_rot, h_int, c_int, h_up, c_up, h_lo, c_lo

    def _recurrent_mirror_averaged(self, acc, ori, skeleton, leaf0, emb_up, emb_lo, *state):
        """``_recurrent`` on the input and its mirror image as one batch of 2 B, the mirror image's
        positions and rotations mirrored back and averaged with the input's (``fip_ros.fip.mirror``)."""
        acc_m, ori_m = mirror_imu(acc, ori)
        twice = [torch.cat(pair) for pair in ((acc, acc_m), (ori, ori_m), (skeleton, skeleton),
                                              (leaf0, mirror_points(leaf0, LEAF_PARTNERS)),
                                              (emb_up, emb_up), (emb_lo, emb_lo))]
        # The states hold the input's and the mirror image's halves along the hidden axis; the batch of 2 B
        # has them as rows (the integral LSTM's 5 rows per body included).
        out = self._recurrent(*twice, *(torch.cat(s.chunk(2, -1), 1) for s in state))
        (leaf_pos, leaf_pos_m), (nodes, nodes_m), (rot15, rot15_m) = (x.chunk(2) for x in out[:3])
        leaf_pos = (leaf_pos + mirror_points(leaf_pos_m, LEAF_PARTNERS)) * 0.5
        nodes = (nodes + mirror_points(nodes_m, NODE_PARTNERS)) * 0.5
        rot15 = mean_rotation(rot15, mirror_rotations(rot15_m, ROTATION_PARTNERS), sixd_to_rotmat)
        new_state = (torch.cat(s.chunk(2, 1), -1) for s in out[4:])
        return (leaf_pos, nodes, rot15, out[3].chunk(2)[0], *new_state)

    def frames(
        self, acc, ori, skeleton, offsets, leaf0, emb_up, emb_lo, h_int, c_int, h_up, c_up, h_lo, c_lo
    ):
        """Flat-tensor recurrent pass over (B, T) frames; returns (leaf_pos, nodes, rot15, local_rot, joints,
        h_int, c_int, h_up, c_up, h_lo, c_lo). Shapes as in ``forward``."""
        recurrent = self._recurrent_mirror_averaged if self.mirror_averaging else self._recurrent
        leaf_pos, nodes, rot15, root_rot, *state = recurrent(
            acc, ori, skeleton, leaf0, emb_up, emb_lo, h_int, c_int, h_up, c_up, h_lo, c_lo)
        local_rot, joints = self.assemble(rot15, root_rot, offsets)
        return (leaf_pos, nodes, rot15, local_rot, joints, *state)

    def forward(self, acc, ori, body, init_pose=None, state=None) -> dict:
        """Sequence pass (batch first, for training and offline use).

        acc (B, T, 6, 3) free acceleration, global SMPL frame, m/s^2; ori (B, T, 6, 3, 3) calibrated
        sensor-to-world rotations; sensor order [L forearm, R forearm, L lower leg, R lower leg, head,
        pelvis];
        body (B, 4) body vector; init_pose (B, 15, 3, 3) root-relative global rotations of ESTIMATED_JOINTS at
        the first frame (None: T-pose); state: the ``state`` of a previous call to continue a sequence
        (then init_pose is ignored: the initial leaf positions travel in the state).

        Returns dict: skeleton (B, 19, 3) regressed offsets (SKELETON_JOINTS order), leaf_pos (B, T, 5, 3)
        and nodes (B, T, 19, 3) root-relative positions in the root frame (nodes in SKELETON_JOINTS order),
        rot15 (B, T, 15, 3, 3) root-relative global rotations of ESTIMATED_JOINTS, local_rot (B, T, 24, 3, 3)
        (joint 0 = pelvis sensor orientation, ignored joints identity), joints (B, T, 24, 3) pelvis at origin,
        global SMPL axes, metres, offsets (B, 24, 3) used for FK, state (dict: STATE_KEYS + leaf0).
        """
        skeleton, offsets, leaf0, emb_up, emb_lo = self.startup(body, init_pose)
        if state is None:
            state = self.zero_state(body.shape[0], body.device)
        else:
            leaf0 = state["leaf0"]
        out = self.frames(acc, ori, skeleton, offsets, leaf0, emb_up, emb_lo, *[state[k] for k in STATE_KEYS])
        new_state = dict(zip(STATE_KEYS, out[5:], strict=True), leaf0=leaf0)
        return dict(
            skeleton=skeleton,
            leaf_pos=out[0],
            nodes=out[1],
            rot15=out[2],
            local_rot=out[3],
            joints=out[4],
            offsets=offsets,
            state=new_state,
        )
