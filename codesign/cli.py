"""The `codesign` command line: one subcommand per module in `codesign.commands`.

Each command module exposes `NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`.
User mistakes (the packages' own error types) print one line and exit 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from codesign.errors import CodesignError
from encoders.errors import EncodingError
from hw_models.errors import HardwareError
from hyperparams import HyperparameterError

# Order is the order `codesign --help` lists them in.
COMMAND_MODULES = [
    "codesign.commands.init",
    "codesign.commands.sweep",
    "codesign.commands.status",
    "codesign.commands.pareto",
    "codesign.commands.export",
    "codesign.commands.deploy_run",
    "codesign.commands.report",
    "codesign.commands.verify",
    "codesign.commands.bench_energy",
    "codesign.commands.info",
]

USER_ERRORS = (CodesignError, EncodingError, HardwareError, HyperparameterError)


def describe_os_error(error: OSError) -> str:
    """A file-system refusal (permission denied, disk full, a file where a folder must be) with its path."""
    paths = " -> ".join(str(p) for p in (error.filename, error.filename2) if p is not None)
    return f"{error.strerror or error}: {paths}" if paths else str(error)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesign",
        description=(
            "Hardware-in-the-loop co-design of spiking neural networks: search training, "
            "spike-encoding and neuromorphic-hardware hyperparameters jointly, trading accuracy "
            "against energy per inference and latency on a bit-exact Loihi model."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.__doc__)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "_run"):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except USER_ERRORS as error:
        print(f"codesign {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except OSError as error:  # the file system refused a read or a write the checks could not foresee
        print(f"codesign {args.command}: error: {describe_os_error(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"codesign {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
