"""Network emulation: per-device links (netem-style profiles, LoRa airtime and duty cycle),
shared hops with finite capacity, live degradation and traffic statistics."""

from smartzone.core.network.backhaul import HopState
from smartzone.core.network.link import Link, ProfileRef
from smartzone.core.network.lora import time_on_air
from smartzone.core.network.network import Network, NetworkError
from smartzone.core.network.profiles import LinkProfile, resolve

__all__ = ["HopState", "Link", "LinkProfile", "Network", "NetworkError", "ProfileRef", "resolve", "time_on_air"]
