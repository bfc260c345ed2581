"""The mosquitto backend (placeholder until the managed subprocess lands)."""

from __future__ import annotations

import os
import shutil

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin")


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary: on PATH, or in the sbin directories Debian uses."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for d in SBIN_DIRS:
        path = os.path.join(d, "mosquitto")
        if os.access(path, os.X_OK):
            return path
    return None
