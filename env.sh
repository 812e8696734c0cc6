# shellcheck shell=bash
# `source env.sh` (bash, from any directory): the fip_ros environment - the system ROS 2 if there is one,
# the repository's virtual environment, and the colcon workspace (fip_msgs, tf2_msgs stand-in, fip_ros).
# Made by `make setup`; this file only reads what that built.

_fip_root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_fip_nounset=0; [[ $- == *u* ]] && _fip_nounset=1; set +u   # ROS setup scripts read unset variables

_fip_ros_setup=""
[[ ${FIP_SYSTEM_ROS:-1} != 0 ]] &&
  _fip_ros_setup=${FIP_ROS_SETUP:-$(ls /opt/ros/*/setup.bash 2>/dev/null | sort | tail -n 1)}
if [[ -n $_fip_ros_setup && -z $ROS_DISTRO ]]; then
  source "$_fip_ros_setup"
fi

if [[ -f $_fip_root/.venv/bin/activate ]]; then
  source "$_fip_root/.venv/bin/activate"
  if [[ -z $_fip_ros_setup ]]; then
    # ROS from PyPI wheels: the venv is the underlay prefix.
    case ":$AMENT_PREFIX_PATH:" in *":$VIRTUAL_ENV:"*) ;;
      *) export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" ;; esac
    case ":$CMAKE_PREFIX_PATH:" in *":$VIRTUAL_ENV:"*) ;;
      *) export CMAKE_PREFIX_PATH="$VIRTUAL_ENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}" ;; esac
  fi
else
  echo "env.sh: no $_fip_root/.venv - run 'make setup' first" >&2
fi

if [[ -f $_fip_root/install/local_setup.bash ]]; then
  source "$_fip_root/install/local_setup.bash"
else
  echo "env.sh: no $_fip_root/install - run 'make setup' (or 'make build')" >&2
fi

# The repository's Python sources come first, so edits need no rebuild.
case ":$PYTHONPATH:" in *":$_fip_root:"*) ;; *) export PYTHONPATH="$_fip_root${PYTHONPATH:+:$PYTHONPATH}" ;; esac
# The console scripts (fip-bringup, fip-demo, ...) and node executables, appended so they never shadow others.
_fip_bin=$_fip_root/install/fip_ros/lib/fip_ros
case ":$PATH:" in *":$_fip_bin:"*) ;; *) [[ -d $_fip_bin ]] && export PATH="$PATH:$_fip_bin" ;; esac
export RMW_IMPLEMENTATION=${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}

[[ $_fip_nounset == 1 ]] && set -u
unset _fip_root _fip_ros_setup _fip_nounset _fip_bin
