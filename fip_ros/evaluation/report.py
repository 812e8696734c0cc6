"""Render an evaluation (fip-eval results.json) as the markdown tables of docs/accuracy.md."""

import os
from pathlib import Path

from fip_ros.core.smpl_tree import ESTIMATED_JOINTS, IGNORED_JOINTS, JOINT_NAMES

COLUMNS = (("sip_deg", "SIP °"), ("angle24_deg", "Ang (24) °"), ("angle15_deg", "Ang (15) °"),
           ("pos_cm", "Pos cm"), ("pos_cm_p75", "Pos p75 cm"), ("mesh_cm", "Mesh cm"),
           ("jitter_km_s3", "Jitter km/s³"))
MODE_TITLES = {"tpose_start": "Start-up from a T-pose calibration prefix (live use, offline API path)",
               "gt_init": "Start-up from the first true frame (the paper's protocol)"}
METHOD_TITLES = {"fip": "FIP (true body)", "fip_avg_body": "FIP, average body measurements",
                 "fip_zero_body": "FIP, all-zero body input",
                 "fip_no_shape": "FIP trained without shape input", "static_tpose": "static T-pose"}
GAP_COLUMNS = (("sip_deg", "Δ SIP °"), ("angle15_deg", "Δ Ang (15) °"), ("pos_cm", "Δ Pos cm"))
# ImuCorruption field -> (words, unit, factor from the field's SI value)
CORRUPTION_UNITS = {"acc_noise_std": ("acc noise", " m/s²", 1), "acc_bias_std": ("acc bias", " m/s²", 1),
                    "acc_bias_walk_std": ("bias walk", " m/s² per sample", 1),
                    "ori_noise_deg": ("orientation noise", "°", 1),
                    "heading_error_deg": ("heading error", "°", 1),
                    "mount_rot_deg": ("mount rotation", "°", 1), "mount_pos_m": ("mount offset", " cm", 100),
                    "drop_prob": ("dropped samples", " %", 100),
                    "heading_walk_deg": ("heading random walk", "°/√s", 1),
                    "calib_pose_deg": ("calibration posture error (forearms, lower legs, head, pelvis)",
                                       "°", 1)}
SHAPE_SENTENCE = (
    "Every clip's skeleton rescaled as the training augmentation does (arm and leg bones by the factor, then "
    "the whole skeleton to the height; `fip_ros.training.augment.rescale_body`), IMUs synthesised from the "
    "rescaled motion and positions scored on the rescaled skeleton: FIP gets the rescaled body's true "
    "measurements, the baselines the training average or none, so the gap is what the shape input is worth.")


def _table(heads: list[str], rows: list[tuple[list[str], dict]], columns=COLUMNS) -> str:
    """Markdown table: label columns ``heads`` then one column per metric of ``columns`` that any row has."""
    cols = [(k, t) for k, t in columns if any(k in s for _, s in rows)]
    lines = ["| " + " | ".join(heads + [t for _, t in cols]) + " |", "|---" * (len(heads) + len(cols)) + "|"]
    for labels, s in rows:
        lines.append("| " + " | ".join(labels + [f"{s[k]:.2f}" if k in s else "–" for k, _ in cols]) + " |")
    return "\n".join(lines)


def overall_table(overall: dict) -> str:
    return _table(["method"], [([METHOD_TITLES.get(m, m)], s) for m, s in overall.items()])


def _values(v) -> list:
    """A corruption field as a list (per-sensor fields are lists in results.json)."""
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _magnitude(cfg: dict, k: str) -> str:
    """A corruption field's value in its display unit, e.g. '2 cm' or '8/8/3/3/4/2°'."""
    _, unit, f = CORRUPTION_UNITS[k]
    return "/".join(f"{x * f:g}" for x in _values(cfg[k])) + unit


def corruption_sentence(cfg: dict) -> str:
    terms = [f"{name} {_magnitude(cfg, k)}" for k, (name, _, _) in CORRUPTION_UNITS.items()
             if any(_values(cfg.get(k, 0)))]
    return ("The same clips with synthetic IMUs corrupted by the fixed test preset "
            "(`fip_ros.evaluation.evaluate.TEST_CORRUPTION`: " + ", ".join(terms) + "; biases, heading "
            "offsets, mounting and calibration errors constant per clip and sensor), seeded per clip so "
            "every run sees the same errors; 1.5-2.5 times training's typical `TRAIN_CORRUPTION`, which "
            "training scales by 0-2 per window.")


def error_terms_table(terms: dict, cfg: dict, clean: dict) -> str:
    """One row per sensor-error term: its test magnitude, FIP's scores with it alone, the cost over clean
    (the clean jitter is in the overall table)."""
    lines = ["| error term alone | magnitude | SIP ° | Pos cm | Jitter km/s³ | Δ SIP ° | Δ Pos cm |",
             "|---|---|---|---|---|---|---|"]
    for k, s in terms.items():
        lines.append(f"| {CORRUPTION_UNITS[k][0]} | {_magnitude(cfg, k)} | {s['sip_deg']:.2f} | "
                     f"{s['pos_cm']:.2f} | {s['jitter_km_s3']:.2f} | "
                     f"{s['sip_deg'] - clean['sip_deg']:+.2f} | {s['pos_cm'] - clean['pos_cm']:+.2f} |")
    return "\n".join(lines).replace("| -", "| −")


def _body_label(name: str, target: dict) -> str:
    return f"{name} ({target['height']:.2f} m, arm ×{target['arm_scale']:g}, leg ×{target['leg_scale']:g})"


def shape_tables(overall_shape: dict, bodies: dict, mode: str) -> str:
    """Scores per rescaled body and method, then each method's gap to FIP with the true measurements."""
    rows, gaps = [], []
    for name, modes in overall_shape.items():
        label = _body_label(name, bodies[name])
        for method, s in modes[mode].items():
            rows.append(([label, METHOD_TITLES.get(method, method)], s))
            if method != "fip":
                ref = modes[mode]["fip"]
                gaps.append(([label, METHOD_TITLES.get(method, method)],
                             {k: s[k] - ref[k] for k, _ in GAP_COLUMNS}))
    gap = _table(["body", "method"], gaps, GAP_COLUMNS).replace("| -", "| −")
    return (_table(["body", "method"], rows) + "\n\nGap to FIP with the true measurements (positive = worse):"
            "\n\n" + gap)


def per_joint_table(summary: dict) -> str:
    lines = ["| joint | estimated | global angle ° | position cm |", "|---|---|---|---|"]
    for j, name in enumerate(JOINT_NAMES):
        kind = "yes" if j in ESTIMATED_JOINTS else ("identity (protocol)" if j in IGNORED_JOINTS else "")
        lines.append(f"| {j} {name} | {kind} | {summary['per_joint_angle_deg'][j]:.2f} | "
                     f"{summary['per_joint_pos_cm'][j]:.2f} |")
    return "\n".join(lines)


def elevation_table(rows: list[dict]) -> str:
    lines = ["| true upper-arm elevation (from hanging, root frame) | share of arm-frames "
             "| upper-arm direction error ° |", "|---|---|---|"]
    for r in rows:
        err = "–" if r["error_deg"] is None else f"{r['error_deg']:.1f}"
        lines.append(f"| {r['from_deg']:g}–{r['to_deg']:g}° | {100 * r['share']:.0f} % | {err} |")
    return "\n".join(lines)


def per_clip_table(per_clip: dict, method: str = "fip") -> str:
    lines = ["| clip | SIP ° | Ang (24) ° | Pos cm | Jitter km/s³ |", "|---|---|---|---|---|"]
    for name, methods in per_clip.items():
        s = methods[method]
        lines.append(f"| {name} | {s['sip_deg']:.2f} | {s['angle24_deg']:.2f} | {s['pos_cm']:.2f} | "
                     f"{s['jitter_km_s3']:.3f} |")
    return "\n".join(lines)


def render(results: dict, command: str = "", figures: list[str] = ()) -> str:
    st = results["settings"]
    parts = ["# Accuracy of the shipped FIP weights", "",
             f"Generated by `fip_ros/evaluation/report.py` from `{command or 'fip-eval'}`.", "",
             f"- Weights: `{st['weights']}`; data: `{st['data']}`, split `{st['split']}`: "
             f"{st['clips']} clips, {st['frames']} frames at 60 Hz.",
             f"- IMU signals: {st['imu']}. Mesh error: {st['mesh_error']}.",
             "- Inference: " + ("the pose averaged with the network's pose of the input's mirror image "
                                "(`fip_ros.fip.mirror`)." if st.get("mirror_average")
                                else "the plain network (no mirror averaging)."),
             "- Protocol (TransPose/PIP): local rotations of joints 0, 7, 8, 10, 11, 20–23 set to identity "
             "in prediction and truth (scored in the root frame); SIP = joints 1, 2, 16, 17; Ang (24) over "
             "all joints, Ang (15) over FIP's estimated joints; position error with both poses on the "
             "subject's true skeleton, root aligned; jitter = 3rd finite difference of predicted joints "
             "× fps³.",
             "- Not comparable with published DIP-IMU / TotalCapture numbers (real IMUs, other subjects): "
             "here the IMUs are synthesised from the held-out mocap, and the baselines run the same way.", ""]
    for mode, title in MODE_TITLES.items():
        if mode in results["overall"]:
            parts += [f"## {title}", "", overall_table(results["overall"][mode]), ""]
    for mode, overall in results.get("overall_corrupted", {}).items():
        parts += [f"## Corrupted IMUs ({mode})", "", corruption_sentence(st["test_corruption"]), "",
                  overall_table(overall), ""]
    for mode, terms in results.get("overall_error_terms", {}).items():
        parts += [f"## Cost of each sensor error (FIP, {mode})", "", "FIP with the true body on the clean "
                  "IMUs plus one term of the test preset at a time (same seeds), against the clean score: "
                  "which error a real setup should keep small.", "",
                  error_terms_table(terms, st["test_corruption"], results["overall"][mode]["fip"]), ""]
    shape = results.get("overall_shape")
    for mode in next(iter(shape.values())) if shape else ():
        parts += [f"## Body-shape sensitivity ({mode})", "", SHAPE_SENTENCE, "",
                  shape_tables(shape, st["shape_bodies"], mode), ""]
    mode = "tpose_start" if "tpose_start" in results["overall"] else next(iter(results["overall"]))
    fip = results["overall"][mode]["fip"]
    parts += [f"## Per joint (FIP, {mode})", "", per_joint_table(fip), ""]
    if "per_arm_elevation" in fip:
        parts += [f"## Raised arms (FIP, {mode})", "", "The angle between the estimated and the true "
                  "direction of the upper arm (shoulder to elbow), by how high the true arm is.", "",
                  elevation_table(fip["per_arm_elevation"]), ""]
    parts += [
              f"## Per clip (FIP, {mode})", "", per_clip_table(results["per_clip"][mode]), ""]
    if figures:
        parts += ["## Figures", ""] + [f"![{Path(f).stem}]({f})" for f in figures] + [""]
    return "\n".join(parts)


def write_report(results: dict, path, command: str = "", figure_dir=None) -> Path:
    """Write the markdown; PNGs in ``figure_dir`` are linked relative to the report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pngs = Path(figure_dir).glob("*.png") if figure_dir else []
    figures = sorted(os.path.relpath(f, path.parent) for f in pngs)
    path.write_text(render(results, command, figures))
    return path
