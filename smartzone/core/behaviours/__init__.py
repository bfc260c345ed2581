"""Registry of named behaviour models; importing this package registers the built-in ones."""

from smartzone.core.behaviours import actuation, charging, continuous, discrete, limits, series, traffic
from smartzone.core.behaviours.base import REGISTRY, Model, Scope, build, source

__all__ = [
    "REGISTRY",
    "Model",
    "Scope",
    "actuation",
    "build",
    "charging",
    "continuous",
    "discrete",
    "limits",
    "series",
    "source",
    "traffic",
]
