"""The app under test as a subprocess: its environment, its log, and a bounded stop.

The app gets its connection settings in environment variables (docs/api.md, docs/certify.md):
the contract's SZ_URL, SZ_USER, SZ_PASSWORD, SZ_CITY, SZ_MODBUS_GATEWAYS, and SZ_MQTT_HOST,
SZ_MQTT_PORT, SZ_MQTT_CLIENT_ID, SZ_TENANTS, SZ_COMMAND_TENANTS, SZ_MODBUS_GATEWAY_IDS, SZ_SPEED.
SZ_MQTT_URL, SZ_MQTT_USER and SZ_MQTT_PASSWORD are deprecated aliases, set for one more version.
It runs in its own process group; stop() sends SIGTERM to the group, waits, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from pathlib import Path

TERM_GRACE_S = 5.0
KILL_WAIT_S = 5.0


def app_environment(
    *,
    host: str | None,
    port: int | None,
    user: str,
    password: str,
    city: str,
    read: list[str],
    command: list[str],
    gateways: list[tuple[str, str, int]],
    speed: float,
) -> dict[str, str]:
    """The SZ_* variables for an app (gateways: (id, host, port))."""
    env = {
        "SZ_USER": user,
        "SZ_PASSWORD": password,
        # deprecated aliases (the names before the contract's): kept for one version
        "SZ_MQTT_USER": user,
        "SZ_MQTT_PASSWORD": password,
        "SZ_MQTT_CLIENT_ID": f"{user}-app",
        "SZ_CITY": city,
        "SZ_TENANTS": ",".join(read),
        "SZ_COMMAND_TENANTS": ",".join(command),
        "SZ_MODBUS_GATEWAYS": ",".join(f"{h}:{p}" for _, h, p in gateways),
        "SZ_MODBUS_GATEWAY_IDS": ",".join(g for g, _, _ in gateways),
        "SZ_SPEED": f"{speed:g}",
    }
    if host is not None and port is not None:
        url = f"mqtt://{host}:{port}"
        env |= {"SZ_URL": url, "SZ_MQTT_URL": url, "SZ_MQTT_HOST": host, "SZ_MQTT_PORT": str(port)}
    return env


class AppProcess:
    """One launched app; output goes to `log_path` (app.log in the report directory)."""

    def __init__(self, command: str, env: dict[str, str], log_path: Path) -> None:
        self.command = command
        self.log_path = log_path
        argv = shlex.split(command)
        log = log_path.open("wb")
        try:
            self.proc = subprocess.Popen(
                argv,
                env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()

    def poll(self) -> int | None:
        return self.proc.poll()

    def stop(self) -> int:
        """SIGTERM the app's process group, then SIGKILL after a grace period; its exit code."""
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(TERM_GRACE_S)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait(KILL_WAIT_S)
        else:  # the app is gone; children it left in its group must not outlive certification
            self._signal(signal.SIGKILL)
        return int(self.proc.returncode)

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def output(self, limit: int = 16000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")
