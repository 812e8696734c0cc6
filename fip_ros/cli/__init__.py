"""Command-line tools, one module per ``fip-*`` console script.

Each module's ``build_parser()`` uses the standard library only, so ``fip-xxx --help`` answers at once;
``main()`` parses, then imports the library (torch, rclpy, onnxruntime) and calls it.
"""

import argparse
import functools
import sys
import textwrap


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the description's paragraphs and appends every option's default to its help, unless the help
    already says what the default is or the option is a flag."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or any(action.default is v for v in (None, False, argparse.SUPPRESS)) \
                or action.required:
            return text
        return super()._get_help_string(action)


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The ArgumentParser every tool starts from (the description's paragraphs wrapped to 79 columns)."""
    text = "\n\n".join(textwrap.fill(para, 79) for para in description.split("\n\n"))
    return argparse.ArgumentParser(prog=prog, description=text, formatter_class=HelpFormatter)


def parse_ros_argv(argv):
    """Split ``argv`` (default ``sys.argv[1:]``) at ``--ros-args``: (tool arguments, ROS arguments)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    ros = argv[argv.index("--ros-args"):] if "--ros-args" in argv else []
    return argv[:len(argv) - len(ros)], ros


def user_errors(prog: str):
    """Decorator of a tool's ``main``: a user mistake (a missing or unreadable file, a bad value, weights that
    are not a FIP checkpoint) ends in one line ``<prog>: error: ...`` and status 1, Ctrl-C in status 130, not
    in a traceback. Other exceptions (bugs) keep theirs."""
    def wrap(main):
        @functools.wraps(main)
        def run(argv=None):
            try:
                return main(argv)
            except KeyboardInterrupt:
                print(f"{prog}: interrupted", file=sys.stderr)
                return 130
            except Exception as exc:
                checkpoint = sys.modules.get("fip_ros.fip.checkpoint")  # loaded whenever weights were read
                if not isinstance(exc, (OSError, ValueError)) and not (
                        checkpoint and isinstance(exc, checkpoint.WeightsError)):
                    raise
                lines = str(exc).strip().splitlines()
                print(f"{prog}: error: {lines[0] if lines else type(exc).__name__}", file=sys.stderr)
                return 1
        return run
    return wrap
