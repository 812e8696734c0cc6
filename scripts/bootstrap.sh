#!/usr/bin/env bash
# One-command environment for fip_ros, everything inside the repository:
#   scripts/bootstrap.sh          venv + Python deps (+ ROS 2 wheels when no system ROS) + a headless browser
#                                 (Debian's chromium, for fip-view's test) + colcon build
#   scripts/bootstrap.sh build [colcon build args...]
#                                 colcon build only (the venv must exist); extra args go to colcon build
# First run on a 2-core machine: a few minutes, mostly pip (torch and the ROS wheels); colcon about 20 s.
# A system ROS 2 (/opt/ros/<distro>/setup.bash, Jazzy or newer, or FIP_ROS_SETUP=<its setup.bash>) is used
# when present; FIP_SYSTEM_ROS=0 ignores it.  FIP_TORCH_INDEX=<url> takes torch from that index (e.g.
# https://download.pytorch.org/whl/cpu where the default index would give a CUDA build).
# Re-runs are cheap: pip and colcon are skipped while their inputs' hashes are unchanged.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
cd "$ROOT"

START=$SECONDS
log() { printf '[bootstrap %3ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

# The system ROS 2: FIP_ROS_SETUP (a setup.bash anywhere), else the newest /opt/ros/<distro>, if any.
ROS_SETUP=""
if [[ ${FIP_SYSTEM_ROS:-1} != 0 ]]; then
  ROS_SETUP=${FIP_ROS_SETUP:-$(ls /opt/ros/*/setup.bash 2>/dev/null | sort | tail -n 1 || true)}
fi
if [[ -n $ROS_SETUP ]]; then
  log "system ROS 2: $ROS_SETUP"
  set +u; source "$ROS_SETUP"; set -u   # ROS setup scripts read unset variables
  PYTHON=${PYTHON:-/usr/bin/python3}    # the interpreter the system ROS was built for
else
  PYTHON=${PYTHON:-python3}
fi

hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# pip install showing one line per package it fetches or installs (its full output is noise for a first run).
pip_progress() {
  "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off "$@" 2>&1 \
    | { grep --line-buffered -E '^(Collecting|Installing collected|Successfully installed|ERROR)' || true; } \
    | sed -u 's/^/    /'
}

setup_venv() {
  if [[ ! -x $VENV/bin/python ]]; then
    log "creating $VENV"
    local opts=()
    [[ -n $ROS_SETUP ]] && opts=(--system-site-packages)   # sees the system rclpy and message packages
    "$PYTHON" -m venv "${opts[@]}" "$VENV" || die "'$PYTHON -m venv' failed (Debian: apt install python3-venv)"
  fi
  local reqs=(requirements.txt)
  [[ -z $ROS_SETUP ]] && reqs+=(requirements-ros.txt)
  local stamp="$VENV/.fip-requirements"
  local want
  want="$(hash_of "${reqs[@]}" scripts/bootstrap.sh)-${ROS_SETUP:-pypi}"
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    log "Python packages up to date"
    return
  fi
  local pip=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
  # colcon-core needs setuptools<80; torch first and pinned so nothing pulls a CUDA build.
  "${pip[@]}" 'setuptools<80'
  log "pip: torch (CPU build, about 200 MB)"
  pip_progress ${FIP_TORCH_INDEX:+--index-url "$FIP_TORCH_INDEX"} 'torch==2.13.0'
  if [[ -z $ROS_SETUP ]]; then
    log "pip: requirements.txt and the ROS 2 wheels of requirements-ros.txt ($(grep -c '^[a-zA-Z]' requirements-ros.txt) packages)"
    pip_progress -r requirements.txt -r requirements-ros.txt 'setuptools<80'
    fix_wheel_cmake
  else
    install_beside_system_ros
    command -v colcon >/dev/null || "${pip[@]}" colcon-common-extensions 'setuptools<80'
  fi
  echo "$want" >"$stamp"
}

# The system ROS message modules are compiled against the system numpy (1.x on Ubuntu 24.04) and do not
# load under numpy 2: keep the system numpy instead of the pinned one.
install_beside_system_ros() {
  local sys_numpy
  sys_numpy=$("$PYTHON" -c "import numpy; print(numpy.__version__)" 2>/dev/null || true)
  if [[ -z $sys_numpy ]]; then
    "${pip[@]}" -r requirements.txt 'setuptools<80'
    return
  fi
  log "pip: requirements.txt, keeping the system numpy $sys_numpy"
  grep -v '^numpy==' requirements.txt >"$VENV/.fip-requirements.txt"
  echo "numpy==$sys_numpy" >"$VENV/.fip-constraints.txt"
  "${pip[@]}" -r "$VENV/.fip-requirements.txt" -c "$VENV/.fip-constraints.txt" 'setuptools<80'
}

# The wheels' exported CMake files name the include folders of the machine that built them; CMake's
# generate step rejects non-existent include paths, so point them at this Python and numpy.
fix_wheel_cmake() {
  local py_inc np_inc
  py_inc=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
  np_inc=$("$VENV/bin/python" -c "import numpy; print(numpy.get_include())")
  [[ -f $py_inc/Python.h ]] || die "no Python.h in $py_inc: install the Python headers (apt install python3-dev)"
  { grep -rlF --include='*.cmake' /opt/python/cp311-cp311 "$VENV/share" "$VENV/lib" 2>/dev/null || true; } \
    | while read -r f; do
        sed -i -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$np_inc#g" \
               -e "s#/opt/python/cp311-cp311/include/python3.11#$py_inc#g" "$f"
      done
}

# Packages to build: fip_ros (repo root), fip_msgs (nested, so named explicitly: colcon stops crawling at
# the root's package.xml) and, where no tf2_msgs is installed, the wire-compatible stand-in.
build_paths() {
  local paths=(. fip_msgs)
  local have_tf2=""
  if [[ -n $ROS_SETUP ]]; then
    local p
    for p in ${AMENT_PREFIX_PATH//:/ }; do
      [[ $p == "$ROOT"/* ]] && continue
      [[ -e $p/share/ament_index/resource_index/packages/tf2_msgs ]] && have_tf2=1
    done
  fi
  [[ -z $have_tf2 ]] && paths+=(interfaces/tf2_msgs_fallback)
  echo "${paths[@]}"
}

colcon_build() {
  local paths
  read -r -a paths <<<"$(build_paths)"
  local stamp="$ROOT/install/.fip-build"
  local want
  want=$( { printf '%s\n' "${paths[@]}" "${ROS_SETUP:-pypi}";
            find "${paths[@]:1}" launch config rviz resource -type f 2>/dev/null | sort | xargs cat;
            cat package.xml setup.py setup.cfg; } | sha256sum | cut -c1-16)
  if [[ $# == 0 && -f $stamp && $(cat "$stamp") == "$want" && ${FIP_FORCE_BUILD:-0} == 0 ]]; then
    log "colcon build up to date"
    return
  fi
  if [[ -z $ROS_SETUP ]]; then
    export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
    export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  fi
  export PATH="$VENV/bin:$PATH"
  log "colcon build --base-paths ${paths[*]} (about 20 s on 2 cores)"
  colcon --log-base "$ROOT/log" build --base-paths "${paths[@]}" \
    --build-base "$ROOT/build" --install-base "$ROOT/install" --symlink-install \
    --event-handlers console_cohesion- summary+ status- "$@" \
    --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF
  [[ $# == 0 ]] && echo "$want" >"$stamp"
  return 0
}

# fip-view's browser test renders the page in a real headless Chromium: Debian's package (Ubuntu's is a snap
# stub, install Chromium another way there). Root or password-less sudo installs it; otherwise a warning.
install_browser() {
  local have
  have=$(command -v chromium || command -v chromium-browser || true)
  if [[ -n $have ]]; then
    log "headless browser: $have"
    return
  fi
  local sudo=()
  if [[ $(id -u) != 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo -n); else sudo=(false); fi
  fi
  if ! command -v apt-get >/dev/null || [[ ${sudo[0]:-} == false ]]; then
    log "warning: no chromium and no way to install it here; fip-view's browser test will fail" \
        "(install Chromium, e.g. 'sudo apt-get install chromium')"
    return
  fi
  log "apt-get: chromium (headless browser for fip-view's test, about 100 MB)"
  export DEBIAN_FRONTEND=noninteractive
  local apt=("${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium)
  "${apt[@]}" >/dev/null 2>&1 || { "${sudo[@]}" apt-get update -qq >/dev/null && "${apt[@]}" >/dev/null; } \
    || die "apt-get install chromium failed"
}

case ${1:-setup} in
  setup)
    log "(1/3) Python environment $VENV"; setup_venv
    log "(2/3) system packages"; install_browser
    log "(3/3) colcon build"; colcon_build ;;
  build) [[ -x $VENV/bin/python ]] || die "no $VENV: run 'make setup'"; shift; colcon_build "$@" ;;
  *) die "usage: $0 [setup|build]" ;;
esac
log "done: 'source env.sh' to use the environment"
