"""Virtual IMUs on the rigid-body model with learnable placement (docs/physics.md, SSPINNpose idea).

A sensor fixed on segment j (rotation R, origin p) at d_local with sensor-to-segment rotation R_s reads
- accelerometer (specific force, sensor frame): (R R_s)^T (p'' + R'' d_local - g);
- gyroscope (sensor frame): vee((R R_s)^T d/dt (R R_s)).
The project's calibrated input (docs/CONTRACTS.md) is the world-frame free acceleration p'' + R'' d_local and
the orientation R R_s, which :meth:`VirtualIMU.forward` returns too. Accelerations use the same second
difference as the training data (``fip_ros.core.imu_synthesis.finite_acceleration``), so virtual and
synthesised signals agree exactly for the same placement.
"""

import torch
from torch import nn

from fip_ros.core.gravity import gravity_like
from fip_ros.core.imu_synthesis import STENCIL, finite_acceleration, sensor_local_offsets
from fip_ros.core.rotations import axis_angle_to_matrix
from fip_ros.core.smpl_tree import SENSOR_JOINTS
from fip_ros.physics.inverse_dynamics import world_angular_velocity


class VirtualIMU(nn.Module):
    """Six virtual sensors; ``offset`` (6,3) is the learnable shift of each sensor from its nominal site
    (carrying-segment frame, m) and ``rot`` (6,3) the learnable mounting rotation R_s (axis-angle)."""

    def __init__(self, offsets: torch.Tensor, fps: float = 60.0, stencil: int = STENCIL):
        super().__init__()
        self.fps, self.stencil = float(fps), int(stencil)
        self.register_buffer("nominal", sensor_local_offsets(offsets.detach()).float())
        self.offset = nn.Parameter(torch.zeros(6, 3))
        self.rot = nn.Parameter(torch.zeros(6, 3))

    def site(self) -> torch.Tensor:
        """(6,3) sensor positions in their carrying segments' frames."""
        return self.nominal + self.offset

    def mount(self) -> torch.Tensor:
        return axis_angle_to_matrix(self.rot)

    def positions(self, global_rot, joint_pos):
        """Sensor positions (...,T,6,3) from global rotations (...,T,24,3,3) and joints (...,T,24,3)."""
        rot = global_rot[..., SENSOR_JOINTS, :, :]
        return joint_pos[..., SENSOR_JOINTS, :] + (rot @ self.site().to(rot.dtype)[..., None])[..., 0]

    def forward(self, global_rot, joint_pos) -> dict:
        """-> acc (...,T,6,3) world free acceleration, ori (...,T,6,3,3) sensor-to-world,
        specific_force and gyro (...,T,6,3) in the sensor frame (time is dim -4 of global_rot)."""
        ori = global_rot[..., SENSOR_JOINTS, :, :] @ self.mount().to(global_rot.dtype)
        acc = finite_acceleration(self.positions(global_rot, joint_pos), self.fps, self.stencil)
        to_sensor = ori.transpose(-1, -2)
        specific = (to_sensor @ (acc - gravity_like(acc))[..., None])[..., 0]
        time_first = ori.movedim(-4, 0)
        gyro_world = world_angular_velocity(time_first, self.fps).movedim(0, -3)
        gyro = (to_sensor @ gyro_world[..., None])[..., 0]
        return dict(acc=acc, ori=ori, specific_force=specific, gyro=gyro)


def offset_acceleration(ori: torch.Tensor, shift: torch.Tensor, fps: float = 60.0, stencil: int = STENCIL):
    """World acceleration added by moving sensors by ``shift`` (6,3) in their bone frames, from measured
    orientations (...,T,6,3,3): subtract it from a reading to move the sensor back to its nominal site."""
    return finite_acceleration((ori @ shift.to(ori.dtype)[..., None])[..., 0], fps, stencil)


def carrier_acceleration(acc: torch.Tensor, ori: torch.Tensor, site: torch.Tensor, fps: float = 60.0,
                         stencil: int = STENCIL) -> torch.Tensor:
    """World acceleration (...,T,3) of the joint carrying a sensor (e.g. the root, from the pelvis sensor),
    from the sensor's world free acceleration (...,T,3) and orientation (...,T,3,3) at ``site`` (3,) in the
    carrying bone's frame: the reading less its lever-arm part."""
    return acc - finite_acceleration((ori @ site.to(ori.dtype)[..., None])[..., 0], fps, stencil, dim=-2)
