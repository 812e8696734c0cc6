"""``fip-average``: one FIP checkpoint whose weights are the mean of several (``fip_ros.fip.checkpoint``)."""

from fip_ros.cli import parser, user_errors


def build_parser():
    p = parser("fip-average", "Write a FIP checkpoint whose weights are the mean of the given checkpoints' "
               "(a \"model soup\": fine-tunes of one network from the same starting weights). The "
               "checkpoints must share the network config; the metadata lists each one's with its path.")
    p.add_argument("checkpoints", nargs="+", help="two or more checkpoints")
    p.add_argument("-o", "--out", required=True, help="checkpoint to write")
    return p


@user_errors("fip-average")
def main(argv=None):
    a = build_parser().parse_args(argv)
    from fip_ros.fip.checkpoint import average_checkpoints, save_checkpoint

    model, metadata = average_checkpoints(a.checkpoints)
    save_checkpoint(a.out, model, metadata)
    print(f"{a.out}: mean of {len(a.checkpoints)} checkpoints")


if __name__ == "__main__":
    raise SystemExit(main())
