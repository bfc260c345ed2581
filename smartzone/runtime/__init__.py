"""Lifecycle: the engine thread, the control API, traces."""

from smartzone.runtime.api import Runtime

__all__ = ["Runtime"]
