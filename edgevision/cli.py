"""The `edgevision` command: parses arguments and calls the stage APIs.

Each module in `edgevision/commands/` is one sub-command: it defines NAME, HELP, ORDER,
`configure(parser)` and `run(args) -> int`, and imports heavy libraries inside `run` only,
so `edgevision --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import signal
import sys

from edgevision import __version__, commands
from edgevision.errors import CheckFailed, MissingPackage, UserError


def _command_modules():
    modules = [importlib.import_module(f"edgevision.commands.{m.name}") for m in pkgutil.iter_modules(commands.__path__)]
    return sorted((m for m in modules if hasattr(m, "run")), key=lambda m: (m.ORDER, m.NAME))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgevision",
        description="Train, shrink, export, run and measure vision models for small devices.",
    )
    parser.add_argument("--version", action="version", version=f"edgevision {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.configure(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        status = int(args._run(args) or 0)
        sys.stdout.flush()  # a reader that went away shows up here, not at interpreter exit
        return status
    except BrokenPipeError:
        return _reader_gone()
    except UserError as exc:
        message = str(exc)
        if isinstance(exc, MissingPackage):  # the install command for this platform, as doctor gives it
            from edgevision.bench.doctor import missing_module_message

            message = missing_module_message(exc.module) or message
        print(f"edgevision {args.command}: error: {message}", file=sys.stderr)
        return exc.exit_code
    except CheckFailed as exc:
        print(f"edgevision {args.command}: check failed: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"edgevision {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal error: one line, the traceback only on request
        if os.environ.get("EDGEVISION_DEBUG"):
            raise
        if isinstance(exc, ModuleNotFoundError):  # an optional package this machine lacks: say which and how
            from edgevision.bench.doctor import missing_module_message

            message = missing_module_message(exc.name)
            if message:
                print(f"edgevision {args.command}: error: {message}", file=sys.stderr)
                return 2
        print(
            f"edgevision {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(set EDGEVISION_DEBUG=1 for the traceback and report it)",
            file=sys.stderr,
        )
        return 1


def _reader_gone() -> int:
    """stdout closed early (`edgevision ... | head`): stop quietly with the shell's SIGPIPE status."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # what is still buffered goes nowhere, without a second error
    except (OSError, ValueError):
        pass
    return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
