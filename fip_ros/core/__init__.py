"""ROS-free maths shared by every component: SMPL tree, rotations, kinematics, body model, IMU maths."""
