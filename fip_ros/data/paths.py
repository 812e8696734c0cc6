"""Where the data live, without heavy imports (the command-line tools read these before parsing)."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The dataset builder's output, relative to the working directory (the tools' default --data / --out).
DATASET_DIR = Path(".cache") / "dataset"


def default_mocap_dir() -> Path:
    """``$FIP_MOCAP_DIR``, else ``../shared/data/mocap`` beside the repository."""
    return Path(os.environ.get("FIP_MOCAP_DIR") or REPO.parent / "shared" / "data" / "mocap")
