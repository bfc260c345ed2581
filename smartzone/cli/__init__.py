"""The `smartzone` command line: run, validate, devices, export, gui, certify, conform, class, replay,
modbus-certs, sandbox.

Exit codes (docs/api.md): 0 success, 1 a run that failed, 2 invalid input or usage (the message
names file, line and field; no traceback), 3 an endpoint could not start. A closed output
pipe ends a command quietly with 1, an interrupted command other than `run` with 130
(cli/process.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from smartzone import __version__
from smartzone.cli import (
    certify_cmd,
    class_cmd,
    conform_cmd,
    devices_cmd,
    diff_cmd,
    export_cmd,
    gui_cmd,
    modbus_certs_cmd,
    replay_cmd,
    run_cmd,
    sandbox_cmd,
    td_cmd,
    validate_cmd,
)
from smartzone.cli.errors import EXIT_FAILED, EXIT_USAGE, UsageError
from smartzone.cli.process import install_interrupts, quiet_pipes
from smartzone.definitions.errors import DefinitionError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 too; keep its wording, drop the traceback
        self.print_usage(sys.stderr)
        print(f"smartzone: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="smartzone", description="SmartZone: a smart city in a box.")
    parser.add_argument("--version", action="version", version=f"smartzone {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run_cmd.add_parser(sub)
    validate_cmd.add_parser(sub)
    devices_cmd.add_parser(sub)
    export_cmd.add_parser(sub)
    gui_cmd.add_parser(sub)
    certify_cmd.add_parser(sub)
    replay_cmd.add_parser(sub)
    diff_cmd.add_parser(sub)
    conform_cmd.add_parser(sub)
    td_cmd.add_import_parser(sub)
    class_cmd.add_parser(sub)
    modbus_certs_cmd.add_parser(sub)
    sandbox_cmd.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    restore = install_interrupts()
    try:
        return _main(argv)
    except BrokenPipeError:
        quiet_pipes()  # the reader went away (`| head`): end quietly, nothing more to say
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    finally:
        restore()


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.handler(args))
    except DefinitionError as exc:
        print(f"smartzone: invalid input\n{exc}", file=sys.stderr)
        code = EXIT_USAGE
    except UsageError as exc:
        print(f"smartzone: {exc}", file=sys.stderr)
        code = EXIT_USAGE
    sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
    sys.stderr.flush()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
