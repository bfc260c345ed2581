"""Node.js clients for the client tests, installed once with npm into a cache kept between runs.

~/.cache/smartzone-tests/node-red (or $SZ_NODE_CACHE) holds Node-RED 4.1,
node-red-contrib-modbus 5.23.3 (5.45+ fetch a dependency from outside the registry and fail
offline) and mqtt 5; .ci/run may pre-install them. A test skips with the reason when npm or
node is missing, or when the install fails (no registry).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGES = ["node-red@4.1", "node-red-contrib-modbus@5.23.3", "mqtt@5"]
INSTALL_TIMEOUT_S = 600


def cache_dir() -> Path:
    return Path(os.environ.get("SZ_NODE_CACHE", Path.home() / ".cache" / "smartzone-tests" / "node-red"))


def node_modules() -> Path:
    """The cache's node_modules with every package in PACKAGES, installing them on first use; else skip."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the Node.js client tests (apt-get install nodejs npm)")
    root = cache_dir()
    modules = root / "node_modules"
    wanted = [modules / p.rpartition("@")[0] / "package.json" for p in PACKAGES]
    if all(w.exists() for w in wanted):
        return modules
    root.mkdir(parents=True, exist_ok=True)
    cmd = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(root), *PACKAGES]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm install did not finish within {INSTALL_TIMEOUT_S} s")
    if out.returncode != 0 or not all(w.exists() for w in wanted):
        pytest.skip(f"npm install {' '.join(PACKAGES)} failed: {out.stderr.strip()[-300:]}")
    return modules
