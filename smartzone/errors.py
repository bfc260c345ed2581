"""Errors every layer may raise, and the exit codes the CLI turns them into (docs/api.md).

They live here, not in smartzone.cli, so that endpoints and certification can raise them
without importing the layer above them.
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ENDPOINT = 3


class UsageError(Exception):
    """A bad command-line or configuration value (exit 2, message only)."""


class EndpointError(Exception):
    """An endpoint could not start, e.g. its port is in use (exit 3)."""
