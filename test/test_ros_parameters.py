"""Node parameters are stated once (each node module's PARAMETERS): every key of config/*.yaml and of the
graph files' overrides is a declared parameter of its node with the declared type, and every row of the
docs' parameter tables names a declared parameter and shows its declared default."""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT

import fip_ros.ros.nodes

CONFIG = Path(REPO_ROOT) / "config"
GRAPHS = ("live.yaml", "replay.yaml")
# Docs section heading (its first `name` or word) -> node whose parameter tables follow it.
DOCS = ("docs/nodes.md", "docs/drivers.md", "docs/physics.md")


def _nodes() -> dict:
    out = {}
    for info in pkgutil.iter_modules(fip_ros.ros.nodes.__path__):
        module = importlib.import_module(f"fip_ros.ros.nodes.{info.name}")
        assert hasattr(module, "PARAMETERS"), f"{info.name} declares no module-level PARAMETERS"
        out[info.name] = {name: default for name, (default, _) in module.PARAMETERS.items()}
    return out


NODES = _nodes()


def _same_type(value, default) -> bool:
    if isinstance(default, list):
        return isinstance(value, list) and all(_same_type(v, default[0]) for v in value)
    return type(value) is type(default)  # ROS parameters are strictly typed: 1 is not a double


def _param_files() -> dict:
    """params file -> node names of the graph files that load it (the nodes its '/**' section reaches)."""
    users = {}
    for graph in GRAPHS:
        for entry in yaml.safe_load((CONFIG / graph).read_text())["nodes"]:
            for f in entry.get("params", ()):
                users.setdefault(f, set()).add(entry["executable"])
    return users


def _yaml_cases():
    users = _param_files()
    for path in sorted(CONFIG.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        for section, body in data.items():
            if not isinstance(body, dict) or "ros__parameters" not in body:
                continue
            nodes = users.get(path.name, set()) if section == "/**" else {section.rsplit("/", 1)[-1]}
            assert nodes, f"{path.name} {section}: no node loads it"
            for node in sorted(nodes):
                for key, value in body["ros__parameters"].items():
                    yield pytest.param(node, key, value, id=f"{path.name}:{node}.{key}")


@pytest.mark.parametrize(("node", "key", "value"), list(_yaml_cases()))
def test_config_key_is_declared_with_its_type(node, key, value):
    assert key in NODES[node], f"{node} does not declare {key}"
    assert _same_type(value, NODES[node][key]), f"{node}.{key}: {value!r} vs declared {NODES[node][key]!r}"


def test_graph_overrides_are_declared():
    for graph in GRAPHS:
        for entry in yaml.safe_load((CONFIG / graph).read_text())["nodes"]:
            for key in entry.get("overrides") or {}:
                assert key in NODES[entry["executable"]], f"{graph}: {entry['executable']}.{key}"


def _numbers(text: str) -> list[str]:
    return re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)


def _shows(cell: str, default) -> bool:
    """Whether a docs 'default' cell shows ``default`` (numbers to the precision printed)."""
    low = cell.lower()
    if isinstance(default, bool):
        return str(default).lower() in low
    if isinstance(default, (int, float)):
        return any(abs(float(n) - default) <= 0.5 * 10.0 ** -len((n.split(".") + [""])[1].split("e")[0])
                   for n in _numbers(cell))
    if isinstance(default, str):
        return '""' in cell if default == "" else default.lower() in low
    return _shows(cell, default[0]) and _shows(cell, default[-1])  # a list: its ends shown


def _doc_rows():
    for doc in DOCS:
        node = None
        header = False
        for line in (Path(REPO_ROOT) / doc).read_text().splitlines():
            if line.startswith("## "):
                words = re.findall(r"[a-z_]+", line[3:])
                node = next((w for w in words if w in NODES), None)
            elif line.startswith("|"):
                cells = [c.strip() for c in line.strip("|").split("|")]
                if cells[0].lower().startswith("parameter"):
                    header = node is not None
                elif header and not set(cells[0]) <= set("-: "):
                    yield pytest.param(node, cells[0], cells[1], id=f"{doc}:{node}:{cells[0]}")
            else:
                header = False


DOC_ROWS = list(_doc_rows())


@pytest.mark.parametrize(("node", "names", "default"), DOC_ROWS)
def test_docs_row_names_a_declared_parameter_with_its_default(node, names, default):
    params = re.findall(r"`([^`]+)`", names)
    assert params, f"no parameter named in {names!r}"
    parts = [p.strip() for p in default.split(",")] if len(params) > 1 else [default]
    if len(parts) != len(params):
        parts = [default] * len(params)  # one value for all (e.g. `*_stddev` 0.0)
    for name, cell in zip(params, parts, strict=True):
        declared = [k for k in NODES[node] if re.fullmatch(name.replace("*", ".*"), k)]
        assert declared, f"{node} declares no {name}"
        for k in declared:
            assert _shows(cell, NODES[node][k]), f"{node}.{k}: docs say {cell!r}, declared {NODES[node][k]!r}"


def test_docs_tables_cover_every_node_they_document():
    documented = {}
    for node, names, _ in (p.values for p in DOC_ROWS):
        for name in re.findall(r"`([^`]+)`", names):
            documented.setdefault(node, set()).update(
                k for k in NODES[node] if re.fullmatch(name.replace("*", ".*"), k))
    assert set(documented) >= {"estimator", "smpl_tf_broadcaster", "imu_replay", "imu_udp", "body_params"}
    for node, names in documented.items():
        assert names == set(NODES[node]), f"{node}: undocumented {sorted(set(NODES[node]) - names)}"
