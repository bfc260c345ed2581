"""Ready-to-paste command lines for the real clients our users use: mosquitto_sub/pub, mbpoll, paho.

The one place that writes them: `smartzone run` prints them, the GUI copies them, the class
handouts carry them. Every MQTT line with a user gets a client id of its own
(`{user}-{purpose}-{6 hex}` unless one is given), so two people pasting the same line do not
take over each other's session.
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Sequence

from smartzone.definitions.modbus_layout import Layout

MODBUS_MAX_READ = 125  # registers one read may ask for (Modbus application protocol)
COMMON_BLOCK = 10  # the common block every unit starts its input registers with (docs/modbus.md)


def fresh_client_id(user: str | None, purpose: str) -> str:
    """`{user}-{purpose}-{6 hex}`: unique per line (MQTT 3.1 limits client ids to 23 bytes)."""
    return f"{user or 'anon'}-{purpose}-{secrets.token_hex(3)}"


def _mqtt_args(
    tool: str, host: str, port: int, user: str | None, password: str | None, client_id: str | None, tls: bool
) -> list[str]:
    parts = [tool, "-h", host, "-p", str(port)]
    if tls:
        parts += ["--capath", "/etc/ssl/certs"]
    if user:
        parts += ["-u", user, "-P", password or "", "-i", client_id or fresh_client_id(user, tool.split("_")[-1])]
    return parts


def mosquitto_sub(
    host: str,
    port: int,
    topics: str | Sequence[str],
    user: str | None = None,
    password: str | None = None,
    client_id: str | None = None,
    tls: bool = False,
) -> str:
    """mosquitto_sub on one or more filters, printing topics (-v)."""
    parts = _mqtt_args("mosquitto_sub", host, port, user, password, client_id, tls)
    for topic in [topics] if isinstance(topics, str) else topics:
        parts += ["-t", topic]
    return " ".join(shlex.quote(p) for p in [*parts, "-v"])


def mosquitto_pub(
    host: str,
    port: int,
    topic: str,
    message: str,
    user: str | None = None,
    password: str | None = None,
    client_id: str | None = None,
    tls: bool = False,
) -> str:
    """mosquitto_pub of one message."""
    parts = [*_mqtt_args("mosquitto_pub", host, port, user, password, client_id, tls), "-t", topic, "-m", message]
    return " ".join(shlex.quote(p) for p in parts)


def paho_connect(host: str, port: int, user: str, password: str, client_id: str | None = None) -> str:
    """The first lines of a paho-mqtt 2.x client connecting as `user`."""
    return (
        "import paho.mqtt.client as mqtt\n"
        f"c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id={client_id or fresh_client_id(user, 'app')!r})\n"
        f"c.username_pw_set({user!r}, {password!r})\n"
        f"c.connect({host!r}, {port})"
    )


def readable_input_count(layout: Layout | None) -> int:
    """Input registers mapped without a gap from address 0 (a read across a gap answers 0x02)."""
    count = COMMON_BLOCK
    if layout is not None:
        for f in sorted(layout.tables.get("input", ()), key=lambda f: f.address):
            if f.address == count:
                count = f.end
    return min(count, MODBUS_MAX_READ)


def mbpoll(host: str, port: int, unit: int, count: int = COMMON_BLOCK) -> str:
    """mbpoll reading `count` input registers from wire address 0, once.

    mbpoll counts references from 1 unless given -0; `-0 -r 0` reads wire address 0.
    """
    return f"mbpoll -m tcp -p {port} -a {unit} -0 -t 3 -r 0 -c {min(count, MODBUS_MAX_READ)} -1 {host}"
