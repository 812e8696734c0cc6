"""Fast Inertial Poser network, streaming engine, exports and checkpoints."""

from fip_ros.fip.config import DEFAULT, PAPER, FIPConfig, get_config
from fip_ros.fip.model import FIP

__all__ = ["DEFAULT", "FIP", "FIPConfig", "PAPER", "get_config"]
