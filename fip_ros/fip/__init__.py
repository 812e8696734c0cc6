"""Fast Inertial Poser network, streaming engine, exports and checkpoints."""

from fip_ros.fip.checkpoint import WeightsError, load_checkpoint, save_checkpoint
from fip_ros.fip.config import DEFAULT, PAPER, FIPConfig, get_config
from fip_ros.fip.engine import StreamingEngine
from fip_ros.fip.model import FIP
from fip_ros.runtime.engine import OnnxStreamingEngine

__all__ = ["DEFAULT", "FIP", "PAPER", "FIPConfig", "OnnxStreamingEngine", "StreamingEngine", "WeightsError",
           "get_config", "load_checkpoint", "save_checkpoint"]
