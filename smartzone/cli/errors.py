"""Exit codes and the errors the CLI turns into them."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ENDPOINT = 3


class UsageError(Exception):
    """A bad command-line value (exit 2, message only)."""


class EndpointError(Exception):
    """An endpoint could not start, e.g. its port is in use (exit 3)."""
