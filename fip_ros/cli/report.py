"""``python -m fip_ros.cli.report RESULTS``: render a fip-eval results.json as the markdown tables of
docs/accuracy.md (``fip_ros.evaluation.report``; ``fip-eval --report`` does the same in one go)."""

import json
from pathlib import Path

from fip_ros.cli import parser, user_errors


def build_parser():
    p = parser("python -m fip_ros.cli.report", "Render a fip-eval results.json as markdown tables.")
    p.add_argument("results", help="results.json of fip-eval")
    p.add_argument("--out", default="docs/accuracy.md", help="markdown file to write")
    p.add_argument("--command", default="",
                   help="the fip-eval command line that made the results (default: none)")
    return p


@user_errors("python -m fip_ros.cli.report")
def main(argv=None):
    a = build_parser().parse_args(argv)
    from fip_ros.evaluation.report import write_report

    results = Path(a.results)
    write_report(json.loads(results.read_text()), a.out, a.command, results.parent)


if __name__ == "__main__":
    raise SystemExit(main())
