"""fip_ros: an ament_python package (colcon) that is also an ordinary pip-installable Python package."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "fip_ros"
# ROS executables, installed into lib/fip_ros so `ros2 run fip_ros <name>` finds them.
NODES = ("imu_replay", "imu_udp", "body_params", "estimator", "smpl_tf_broadcaster", "dynamics",
         "bag_player", "bag_recorder")
# Command-line tools: one module per tool in fip_ros.cli (arguments first, then the library).
TOOLS = {name: f"fip_ros.cli.{module}:main" for name, module in (
    ("fip-dataset", "dataset"), ("fip-train", "train"), ("fip-eval", "evaluate"), ("fip-export", "export"),
    ("fip-finetune", "finetune"), ("fip-bag", "bag"), ("fip-bringup", "bringup"), ("fip-demo", "demo"),
    ("fip-calibrate", "calibrate"), ("fip-body", "body"), ("fip-view", "view"), ("fip-average", "average"))}

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    package_data={PACKAGE: ["weights/*", "**/*.yaml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/rviz", glob("rviz/*.rviz")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="fip_ros maintainers",
    maintainer_email="fip-ros@example.com",
    description="Six body-worn IMUs to SMPL pose (Fast Inertial Poser) and body dynamics on ROS 2",
    license="MIT",
    entry_points={
        "console_scripts": [f"{name}={target}" for name, target in TOOLS.items()]
        + [f"{name}=fip_ros.ros.executables:{name}" for name in NODES],
    },
)
