"""Shared fixtures and the autouse leak guard (threads, child processes, open fds) for every test."""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.scenario import Scenario

FIXTURES = Path(__file__).parent / "fixtures"
LEAK_GRACE_S = 3.0


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.builtin()


@pytest.fixture(scope="session")
def small_scenario(catalog: Catalog) -> Scenario:
    """A tiny city (a few parking spots and street lights) for fast core tests."""
    return load_scenario(FIXTURES / "testville.yaml", catalog)


@pytest.fixture(scope="session")
def endpoints_off() -> list[str]:
    """`smartzone run` flags that switch off whichever endpoints this installation has."""
    import subprocess
    import sys

    help_text = subprocess.run(
        [sys.executable, "-m", "smartzone", "run", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    return [flag for flag in ("--no-mqtt", "--no-modbus") if flag in help_text]


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


def _children() -> dict[int, str]:
    """This process's live descendants (pid -> command line); zombies are reaped, not counted."""
    found: dict[int, str] = {}
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            found[child.pid] = " ".join(child.cmdline()[:4]) or child.name()
        except psutil.Error:
            continue
    return found


def _self_connected_sockets() -> set[int]:
    """Fds of loopback TCP pairs whose both ends are in this process (paho's wake-up socket pair)."""
    conns = [c for c in psutil.Process().net_connections(kind="tcp") if c.fd >= 0 and c.raddr]
    ends = {(c.laddr, c.raddr) for c in conns}
    return {c.fd for c in conns if (c.raddr, c.laddr) in ends}


def _fds() -> dict[int, str]:
    """Open sockets, pipes and regular files (fd -> what it points at)."""
    found: dict[int, str] = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # closed between listing and reading (the listing's own fd among them)
        if target.startswith(("socket:", "pipe:", "/")) and not target.startswith(("/dev/", "/proc/")):
            found[int(name)] = target
    return found


def _leaks(threads: set[threading.Thread], children: dict[int, str], fds: dict[int, str]) -> list[str]:
    leaked_threads = {
        t
        for t in _threads() - threads
        if not t.name.startswith(("asyncio_", "ThreadPoolExecutor", "QThread", "Dummy-"))
    }
    found = [f"thread {t.name}" for t in sorted(leaked_threads, key=lambda t: t.name)]
    found += [f"child process {pid} ({cmd})" for pid, cmd in sorted(_children().items()) if pid not in children]
    new_fds = {fd: target for fd, target in _fds().items() if fds.get(fd) != target}
    if new_fds:
        paired = _self_connected_sockets()
        found += [f"fd {fd} -> {target}" for fd, target in sorted(new_fds.items()) if fd not in paired]
    return found


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail a test that leaves threads, child processes or open sockets, pipes or files behind.

    Leaked children are killed after the failure is reported, so one leak does not cascade.
    """
    threads, children, fds = _threads(), _children(), _fds()
    yield
    deadline = time.monotonic() + LEAK_GRACE_S
    collected = False
    while True:
        leaks = _leaks(threads, children, fds)
        if not leaks:
            return
        if not collected and any(leak.startswith("fd ") for leak in leaks):
            gc.collect()  # an unreferenced client whose socket only the collector closes
            collected = True
            continue
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    for pid in _children():
        if pid not in children:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
    pytest.fail("test left behind: " + "; ".join(leaks))
