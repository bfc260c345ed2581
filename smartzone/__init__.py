"""SmartZone: a smart city in a box for testing apps and device integrations."""

__version__ = "0.1.0"
