"""Exit codes and errors of the CLI (defined in smartzone.errors, shared by every layer)."""

from smartzone.errors import EXIT_ENDPOINT, EXIT_FAILED, EXIT_OK, EXIT_USAGE, EndpointError, UsageError

__all__ = ["EXIT_ENDPOINT", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "EndpointError", "UsageError"]
