"""Launch files and fip-bringup describe the same graphs: launch files parse (and load where `launch` is
installed), graph files name existing parameter files and node classes, overrides beat parameter files."""

import ast
import importlib.util
from pathlib import Path

import pytest

from fip_ros.ros.bringup import GRAPH_ARGS, NodeSpec, graph_nodes, graph_path, node_class, node_cli_args

REPO = Path(__file__).resolve().parents[1]


def _calls(tree, name):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]


@pytest.mark.parametrize("graph", ["live", "replay", "bag"])
def test_launch_file_mirrors_bringup_graph(graph):
    path = REPO / "launch" / f"{graph}.launch.py"
    tree = ast.parse(path.read_text(), str(path))
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)
    assert any(isinstance(n, ast.Assign) and getattr(n.value, "value", None) == graph for n in tree.body)
    assert _calls(tree, "launch_description")
    # The shared description (fip_ros/ros/launch_graph.py) builds the nodes from bringup's graph files.
    shared = REPO / "fip_ros" / "ros" / "launch_graph.py"
    tree = ast.parse(shared.read_text(), str(shared))
    assert any(isinstance(n, ast.ImportFrom) and n.module == "launch_ros.actions" for n in tree.body)
    assert "graph_nodes" in {a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    declared = {c.args[0].value for c in _calls(tree, "DeclareLaunchArgument")
                if isinstance(c.args[0], ast.Constant)}
    assert {"graph", "rviz", "rviz_config"} <= declared
    assert _calls(tree, "Node") and _calls(tree, "validate_args")
    if importlib.util.find_spec("launch") and importlib.util.find_spec("launch_ros"):
        spec = importlib.util.spec_from_file_location(f"{graph}_launch", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.generate_launch_description().entities


@pytest.mark.parametrize("graph", ["live", "replay", "bag"])
def test_graph_files_resolve(graph):
    specs, rviz = graph_nodes(graph_path(graph), {})
    assert {"estimator", "smpl_tf_broadcaster", "body_params"} <= {s.executable for s in specs}
    assert Path(rviz).is_file()
    for spec in specs:
        assert spec.params and all(Path(p).is_file() for p in spec.params), spec
        # empty arguments leave the files' values (only the graph's own fixed settings remain)
        assert not set(spec.overrides) & {"subject_id", "body_id", "source", "bag", "backend", "model_path"}
        node_class(spec.executable)
    specs, _ = graph_nodes(graph_path(graph), {a: "x" for a in GRAPH_ARGS} | {"estimator_params": "/e.yaml"})
    est = next(s for s in specs if s.executable == "estimator")
    assert est.params == ["/e.yaml"] and est.overrides["subject_id"] == "x"


def test_overrides_beat_parameter_files_and_namespace_applies(ros_context):
    cls = node_class("smpl_tf_broadcaster")
    spec = NodeSpec("smpl_tf_broadcaster", "tf_a", [str(REPO / "config/tf_broadcaster.yaml")],
                    {"body_id": "9", "origin_offset": [0.5, 0.0, 1.0]})
    node = cls(context=ros_context, cli_args=node_cli_args(spec, "p9"))
    try:
        assert node.get_fully_qualified_name() == "/p9/tf_a"
        assert node.get_parameter("body_id").value == "9"             # a string, though it looks numeric
        assert list(node.get_parameter("origin_offset").value) == [0.5, 0.0, 1.0]
        assert node.get_parameter("world_frame").value == "world"     # from the file
        assert node.tf.msg.transforms[0].child_frame_id == "body_9"
    finally:
        node.destroy_node()
