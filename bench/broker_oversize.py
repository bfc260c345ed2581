"""Memory while clients send oversized MQTT packets: resident memory before and after, as a ratio.

For each gate path (embedded with the app's socket handed to amqtt, embedded relayed while
traffic is observed, mosquitto relayed), an ordinary user logs in N times and each time sends a
PUBLISH whose fixed header announces SIZE bytes, then streams the body until the broker closes
the connection. The cap (the scenario's access.max_packet_size, 256 KiB by default) is judged
from the fixed header, so the body is never buffered: resident memory of SmartZone's process
(the gate) and of the broker's child process should stay flat.

    python bench/broker_oversize.py [--packets 20] [--size-mib 16]
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import time
from pathlib import Path

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.broker import start_broker
from smartzone.endpoints.mqtt.codec import connect_packet, encode_string, remaining_length

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "sz/v2/accessville/comune/parking-spot/cp-0001/note"
CHUNK = b"x" * 65536
SEND_LIMIT_S = 10.0


class Quiet:
    """A traffic observer that records nothing: its presence makes the embedded gate relay."""

    def connect(self, *args: object) -> None:
        return None

    def client_bytes(self, *args: object) -> None: ...

    def broker_bytes(self, *args: object) -> None: ...

    def closed(self, *args: object) -> None: ...


def rss_kib(pid: int) -> int:
    """Resident memory of a process, in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def send_oversized(port: int, size: int, n: int) -> int:
    """Log in as an owner, announce a PUBLISH of `size` bytes, stream it; bytes sent before the close
    (the kernel's socket buffers on both sides take a few MiB of them; the gate does not)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=SEND_LIMIT_S) as sock:
        sock.sendall(connect_packet(f"owner-comune-big-{n}", "owner-comune", "comune-pw"))
        if sock.recv(4)[3:4] != b"\x00":
            raise SystemExit("the owner could not log in")
        header = b"\x30" + remaining_length(size) + encode_string(TOPIC)
        deadline = time.monotonic() + SEND_LIMIT_S
        try:
            sock.sendall(header)
            while sent < size and time.monotonic() < deadline:
                sent += sock.send(CHUNK[: size - sent])
        except OSError:
            pass  # closed by the broker: what we want
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=20)
    parser.add_argument("--size-mib", type=int, default=16)
    args = parser.parse_args()
    logging.getLogger("smartzone").setLevel(logging.ERROR)  # one warning per closed connection otherwise
    scenario = load_scenario(ROOT / "tests" / "fixtures" / "access-city.yaml", Catalog.builtin())
    size = args.size_mib * 1024 * 1024
    print(
        f"{args.packets} PUBLISH packets announcing {args.size_mib} MiB each; cap "
        f"{scenario.access.max_packet_size} bytes"
    )
    print(f"{'path':18} {'gate RSS':>9} {'broker RSS':>11} {'broker RSS, control':>20} {'MiB sent before close':>22}")
    for path in ("embedded-handed", "embedded-relayed", "mosquitto"):
        backend = path.split("-")[0]
        broker = start_broker(backend, scenario, port=0)
        try:
            if path.endswith("relayed"):
                broker.set_observer(Quiet())  # type: ignore[attr-defined]
            child = broker._proc.pid if backend == "embedded" else None  # type: ignore[attr-defined]
            send_oversized(broker.port, 1024, -1)  # warm up: first connection, imports, buffers
            start = rss_kib(os.getpid()), rss_kib(child) if child else 0
            for n in range(args.packets):  # control: as many connections, each with a 1 KiB packet
                send_oversized(broker.port, 1024, 1000 + n)
            middle = rss_kib(os.getpid()), rss_kib(child) if child else 0
            taken = [send_oversized(broker.port, size, n) for n in range(args.packets)]
            end = rss_kib(os.getpid()), rss_kib(child) if child else 0
        finally:
            broker.close()
        broker_ratio = f"{end[1] / middle[1]:.2f}" if child else "-"
        control_ratio = f"{middle[1] / start[1]:.2f}" if child else "-"
        print(
            f"{path:18} {end[0] / middle[0]:>9.2f} {broker_ratio:>11} {control_ratio:>20} {max(taken) / 2**20:>22.2f}"
        )
    print("RSS: after / before the oversized packets (control: after / before as many 1 KiB packets)")


if __name__ == "__main__":
    main()
