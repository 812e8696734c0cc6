"""TotalCapture in DIP's preprocessed format (user-supplied ``.pkl``: ``acc`` (N,6,3), ``ori`` (N,6,3,3) or
(N,6,9), ``gt`` (N,72) SMPL axis-angle, 60 Hz), same calibrated-data assumption as ``fip_ros.data.dip_imu``.

Its sensor order differs: ``TC_ORDER`` picks FIP's order. Some sequences carry a constant acceleration bias
in places; it is left in (evaluations that need it removed do so themselves). No trim by default: the
preprocessed sequences do not have DIP's unreliable ends.
"""

import numpy as np

from fip_ros.data.dip_imu import assemble, read_pickle

TC_ORDER = [2, 3, 0, 1, 4, 5]  # stored index of each FIP sensor (left/right forearm, legs, head, pelvis)


def load_totalcapture(path, trim: int = 0) -> dict:
    """-> dict(acc (T,6,3), ori (T,6,3,3), local_rot (T,24,3,3), fps=60) in FIP sensor order."""
    data = read_pickle(path)
    acc = np.asarray(data["acc"])
    ori = np.asarray(data["ori"]).reshape(len(acc), 6, 3, 3)
    return assemble(acc[:, TC_ORDER], ori[:, TC_ORDER], data["gt"], trim)
