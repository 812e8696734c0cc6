"""The SMPL 24-joint tree and the index sets FIP uses.

Canonical SMPL frame: y up, x towards the body's left, z forward; the T-pose has identity local rotations.
"""

JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hand", "right_hand",
)
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
NUM_JOINTS = 24

# Left/right partner of every joint, for mirroring augmentation.
MIRROR = (0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20, 23, 22)

# Sensor order used everywhere in the project (the FIP / DIP convention).
SENSOR_NAMES = ("left_forearm", "right_forearm", "left_lower_leg", "right_lower_leg", "head", "pelvis")
# The joint whose global rotation a sensor on that site follows.
SENSOR_JOINTS = (18, 19, 4, 5, 15, 0)
# Joints near which each sensor sits (its acceleration is synthesised from a point near this joint).
SENSOR_ANCHOR_JOINTS = (20, 21, 4, 5, 15, 0)
ROOT_SENSOR = 5
LEAF_SENSORS = (0, 1, 2, 3, 4)
# FIP's leaf nodes, in sensor order: wrists, knees, head.
LEAF_JOINTS = (20, 21, 4, 5, 15)

# The 15 joints FIP estimates (root-relative global rotations) and those it leaves at identity.
ESTIMATED_JOINTS = (1, 2, 3, 4, 5, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19)
IGNORED_JOINTS = (0, 7, 8, 10, 11, 20, 21, 22, 23)
# The 19 skeleton joints regressed by the T-pose regressor (all but root, feet and hands).
SKELETON_JOINTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)
UPPER_BODY_JOINTS = (3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)
LOWER_BODY_JOINTS = (1, 2, 4, 5, 7, 8)

# Evaluation protocol (TransPose/PIP convention).
SIP_JOINTS = (1, 2, 16, 17)

SEX_CODES = {"female": 0, "male": 1}
