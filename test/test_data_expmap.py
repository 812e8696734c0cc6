"""cmu-expmap text clips: known poses give hand-computed positions (README's row-vector convention), bad files
give one clear error, and a shared clip retargets to plausible SMPL motion."""

import json

import numpy as np
import pytest
import torch

from fip_ros.core.kinematics import forward_kinematics
from fip_ros.data.expmap import ASF_UNIT, COLUMNS, NODE_NAMES, read_expmap
from fip_ros.data.paths import default_mocap_dir
from fip_ros.data.retarget import detect_rig, retarget

MOCAP = default_mocap_dir() / "cmu-expmap"
N = len(NODE_NAMES)
SHOULDER, ELBOW = NODE_NAMES.index("lshoulder"), NODE_NAMES.index("lelbow")


def _skeleton(tmp_path):
    """A 38-node tree: a chain down the nodes' real parents, every offset (1, 0, 0) units except the left
    upper arm (lelbow: 2 units along +x from the shoulder) so the known-pose answer is easy to write down."""
    parents = [-1, 0, 1, 2, 3, 4, 5, 0, 7, 8, 9, 10, 11, 0, 13, 14, 15, 16, 17, 18, 15, 20, 21, 22, 23, 24,
               25, 23, 27, 15, 29, 30, 31, 32, 33, 34, 32, 36]
    offsets = np.tile([0.0, 1.0, 0.0], (N, 1))
    offsets[0] = 0.0
    offsets[ELBOW] = [2.0, 0.0, 0.0]
    path = tmp_path / "skeleton.json"
    path.write_text(json.dumps({"parent": parents, "offset_asf_units": offsets.tolist()}))
    return path, parents, offsets


def _write(tmp_path, frames):
    path = tmp_path / "clip.txt"
    path.write_text("\n".join(",".join(repr(float(v)) for v in f) for f in frames) + "\n")
    return path


def _frame(root=(0.0, 0.0, 0.0), maps=None):
    f = np.zeros(COLUMNS)
    f[:3] = root
    f[3:6] = [1e-3, 0.0, 0.0]  # a non-zero root map: a motion frame, not the publisher's rest frame
    for node, rotvec in (maps or {}).items():
        f[3 + 3 * node:6 + 3 * node] = rotvec
    return f


def test_rest_frame_is_the_skeleton(tmp_path):
    skel, parents, offsets = _skeleton(tmp_path)
    clip = read_expmap(_write(tmp_path, [_frame(root=(1.0, 2.0, 3.0))] * 2), skel)
    clip.local_rot[:, 0] = np.eye(3)  # drop the tiny root turn of _frame
    expected = np.zeros((N, 3))
    for j, p in enumerate(parents[1:], 1):
        expected[j] = expected[p] + offsets[j]
    pos = clip.positions()[0]
    np.testing.assert_allclose(pos - pos[0], expected * ASF_UNIT, atol=1e-12)
    np.testing.assert_allclose(pos[0], np.array([1.0, 2.0, 3.0]) * ASF_UNIT, atol=1e-12)
    assert clip.fps == 120.0


def test_one_joint_rotated_by_a_known_angle(tmp_path):
    """Left shoulder map (0, 0, +90 deg): the row vector (2, 0, 0) times Rz(90) = [[0,-1,0],[1,0,0],[0,0,1]]
    is (0, -2, 0): the upper arm hangs straight down; the wrist (offset (0,1,0) beyond) then points -x."""
    skel, _, _ = _skeleton(tmp_path)
    clip = read_expmap(_write(tmp_path, [_frame(maps={SHOULDER: (0, 0, np.pi / 2)})] * 2), skel)
    clip.local_rot[:, 0] = np.eye(3)
    pos = clip.positions()[0] / ASF_UNIT
    np.testing.assert_allclose(pos[ELBOW] - pos[SHOULDER], [0.0, -2.0, 0.0], atol=1e-9)
    wrist = NODE_NAMES.index("lwrist")
    np.testing.assert_allclose(pos[wrist] - pos[ELBOW], [1.0, 0.0, 0.0], atol=1e-9)


def test_leading_rest_frames_are_dropped(tmp_path):
    skel, _, _ = _skeleton(tmp_path)
    rest = np.zeros(COLUMNS)
    clip = read_expmap(_write(tmp_path, [rest, _frame(), _frame()]), skel)
    assert clip.local_rot.shape[0] == 2


@pytest.mark.parametrize("text, match", [("1,2,3\n", "117 numbers"), ("a,b\n", "comma-separated"),
                                         (",".join(["nan"] * COLUMNS) + "\n", "non-finite")])
def test_bad_files_are_refused(tmp_path, text, match):
    skel, _, _ = _skeleton(tmp_path)
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_expmap(path, skel)


@pytest.mark.skipif(not MOCAP.is_dir(), reason="shared mocap not available")
def test_shared_walk_retargets_plausibly():
    clip = read_expmap(MOCAP / "train" / "walking" / "walking_1.txt")
    assert detect_rig(clip.names) == "cmu_expmap"
    m = retarget(clip)
    arrays = (torch.from_numpy(a).double() for a in (m.local_rot, m.offsets, m.tran))
    pos = forward_kinematics(*arrays)[1].numpy()
    assert 1.5 < float(m.body[1]) < 1.9  # a plausible adult
    assert (pos[:, 15, 1] - pos[:, 0, 1]).min() > 0.3  # upright throughout
    speed = np.linalg.norm(pos[-1, 0, [0, 2]] - pos[0, 0, [0, 2]]) / (m.frames / 60.0)
    assert 0.8 < speed < 1.8  # walking pace, m/s
    assert pos[:, [7, 8, 10, 11], 1].min(1).max() < 0.1  # a foot near the floor in every frame
