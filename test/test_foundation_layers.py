"""The package is built in floors: a module imports only modules of its own or a lower floor (the order of
the README's package table), and no modules import each other in a circle."""

import ast
import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT

PACKAGE = Path(REPO_ROOT) / "fip_ros"
# Lowest first. A new sub-package takes its place here (and in the README's table).
FLOORS = ("__init__", "core", "runtime", "fip", "data", "api", "training", "evaluation", "physics",
          "visualization", "finetune", "ros", "demo", "cli")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """module -> the fip_ros modules it imports (at any depth: lazy imports count too)."""
    modules = {_module(p) for p in PACKAGE.rglob("*.py")}
    out = {}
    for path in PACKAGE.rglob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fip_ros"):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("fip_ros"))
        out[_module(path)] = found & modules
    return out


def _floor(module: str) -> int:
    name = module.split(".")[1] if "." in module else "__init__"
    assert name in FLOORS, f"fip_ros.{name} has no floor: add it to FLOORS (and the README's table)"
    return FLOORS.index(name)


def test_no_module_imports_a_higher_floor():
    upward = [f"{m} -> {t}" for m, targets in _imports().items() for t in targets if _floor(t) > _floor(m)]
    assert not upward, "\n".join(sorted(upward))


def test_no_import_circles():
    graph = _imports()
    state, stack, circles = {}, [], []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == "open":
                circles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not circles, "\n".join(circles)


def test_drivers_and_bag_nodes_import_no_torch():
    """They run on small machines next to the sensors: only the estimator, dynamics, TF (mesh) and the
    recording replay need torch."""
    code = ("import sys\nimport fip_ros.ros.nodes.imu_udp, fip_ros.ros.nodes.bag_player, "
            "fip_ros.ros.nodes.bag_recorder\nprint('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
