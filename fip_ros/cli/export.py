"""``fip-export``: the FIP start-up and streaming step as TorchScript and/or ONNX files
(``fip_ros.fip.export``)."""

import os

from fip_ros.cli import parser, user_errors


def build_parser():
    p = parser("fip-export", "Export FIP's start-up and streaming step to TorchScript / ONNX.")
    p.add_argument("checkpoint", nargs="?", default=None, help="checkpoint (default: shipped weights)")
    p.add_argument("-o", "--out-dir", default="fip_export", help="output folder")
    p.add_argument("--format", choices=("torchscript", "onnx", "both"), default="both", help="what to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset")
    p.add_argument("--batch", type=int, default=None,
                   help="static ONNX graph for exactly this many bodies (faster); default: dynamic batch")
    p.add_argument("--no-mirror-average", action="store_true",
                   help="the plain network: half the compute per step, without the mirror image's "
                        "averaging (fip_ros.fip.mirror; about 0.3 deg SIP less accurate)")
    return p


@user_errors("fip-export")
def main(argv=None):
    a = build_parser().parse_args(argv)
    from fip_ros.fip.checkpoint import default_weights_path, load_checkpoint
    from fip_ros.fip.export import export_onnx, export_torchscript, file_sha256

    checkpoint = a.checkpoint or default_weights_path()
    model, _ = load_checkpoint(checkpoint, mirror_average=False if a.no_mirror_average else None)
    os.makedirs(a.out_dir, exist_ok=True)
    written = []
    if a.format in ("torchscript", "both"):
        written += export_torchscript(model, a.out_dir)
    if a.format in ("onnx", "both"):
        written += export_onnx(model, a.out_dir, a.opset, a.batch, file_sha256(checkpoint))
    for path in written:
        print(f"{path}  {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    raise SystemExit(main())
