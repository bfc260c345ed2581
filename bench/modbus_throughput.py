"""Modbus TCP read throughput and p99 latency of a SmartZone gateway vs a bare pymodbus server.

Both servers run in this process on their own asyncio thread, like `smartzone run`:
  (a) bare: pymodbus 3.16.1 ModbusTcpServer, one SimDevice with a static input-register
      block of the same size, pymodbus's own request handler (the baseline);
  (b) smartzone: the gateway serving the default scenario (Bologna, 1,000 devices) while
      the simulation runs paced at --speed, reading a street light's live registers.
The clients run in a separate process (so they do not share the server's interpreter):
1 and 8 concurrent connections, each sending one read-input-registers request at a time
(raw MBAP frames over asyncio streams). Each round runs SmartZone, then the bare server,
each alone, to spread the noise of the shared 2-core machine; figures are medians over rounds.

    python bench/modbus_throughput.py [--seconds 3] [--rounds 3] [--speed 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from smartzone.definitions.modbus_layout import build_layout
from smartzone.endpoints.modbus import ModbusGateways
from smartzone.runtime.api import Runtime

HOST = "127.0.0.1"


# --- servers (this process) ---------------------------------------------------------------------
def bare_server(registers: int) -> tuple[int, Callable[[], None]]:
    """A bare pymodbus server with `registers` input registers on unit 1; returns (port, stop)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="bench-bare", daemon=True)
    thread.start()

    async def start() -> ModbusTcpServer:
        bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
        regs = [SimData(0, values=list(range(1, registers + 1)), datatype=DataType.REGISTERS)]
        server = ModbusTcpServer([SimDevice(1, simdata=(bits, bits, regs, regs))], address=(HOST, 0))
        await server.serve_forever(background=True)
        return server

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    port = server.transport.sockets[0].getsockname()[1]

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()

    return port, stop


def smartzone_server(speed: float) -> tuple[int, int, int, Callable[[], None]]:
    """The default scenario running at `speed` with its gateways; (port, unit, registers, stop)."""
    rt = Runtime.load(None, speed=speed)
    gateways = ModbusGateways.start(rt, 0)
    rt.start()
    for g in gateways.gateways:
        for unit, info in g.plan.units.items():
            if info.type == "street-light":
                layout = build_layout(rt.catalog.types[info.type])[0]
                count = max(f.end for f in layout.tables["input"])

                def stop() -> None:
                    gateways.close()
                    rt.stop()

                return g.port, unit, count, stop
    raise SystemExit("the default scenario has no street light")


# --- clients (a separate process) --------------------------------------------------------------
async def _client(port: int, unit: int, count: int, until: float, latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection(HOST, port)
    tid, done = 0, 0
    try:
        while time.perf_counter() < until:
            tid = (tid + 1) & 0xFFFF
            t0 = time.perf_counter()
            writer.write(struct.pack(">HHHBBHH", tid, 0, 6, unit, 4, 0, count))
            header = await reader.readexactly(6)
            body = await reader.readexactly(int.from_bytes(header[4:6], "big"))
            latencies.append(time.perf_counter() - t0)
            if body[1] != 4 or header[:2] != tid.to_bytes(2, "big"):
                raise RuntimeError(f"unexpected answer {header + body!r}")
            done += 1
    finally:
        writer.close()
        await writer.wait_closed()
    return done


def _clients_main(port: int, unit: int, count: int, clients: int, seconds: float, out: mp.Queue) -> None:
    async def main() -> tuple[int, list[float]]:
        latencies: list[float] = []
        until = time.perf_counter() + seconds
        done = await asyncio.gather(*(_client(port, unit, count, until, latencies) for _ in range(clients)))
        return sum(done), latencies

    total, latencies = asyncio.run(main())
    latencies.sort()
    out.put((total / seconds, latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")))


def measure(port: int, unit: int, count: int, clients: int, seconds: float) -> tuple[float, float]:
    """(requests/s, p99 latency in s) from `clients` connections in a separate process."""
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_clients_main, args=(port, unit, count, clients, seconds, queue))
    proc.start()
    result = queue.get(timeout=seconds + 60)
    proc.join(30)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="measuring time per case and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--speed", type=float, default=10.0, help="simulation speed while measuring")
    args = ap.parse_args()

    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    count = 0
    for _ in range(args.rounds):  # each server alone in turn: the bare one never shares the CPU with the simulation
        sz_port, sz_unit, count, sz_stop = smartzone_server(args.speed)
        try:
            for clients in (1, 8):
                rate = measure(sz_port, sz_unit, count, clients, args.seconds)
                results.setdefault(("smartzone", clients), []).append(rate)
        finally:
            sz_stop()
        bare_port, bare_stop = bare_server(count)
        try:
            for clients in (1, 8):
                results.setdefault(("bare", clients), []).append(measure(bare_port, 1, count, clients, args.seconds))
        finally:
            bare_stop()

    print(
        f"read input registers 0..{count - 1} ({count} registers), {args.rounds} rounds x {args.seconds:g} s, "
        f"simulation at x{args.speed:g}"
    )
    print("| clients | bare req/s | SmartZone req/s | ratio | bare p99 | SmartZone p99 | p99 ratio |")
    print("|---|---|---|---|---|---|---|")
    for clients in (1, 8):
        bare_rate = statistics.median(r for r, _ in results[("bare", clients)])
        sz_rate = statistics.median(r for r, _ in results[("smartzone", clients)])
        bare_p99 = statistics.median(p for _, p in results[("bare", clients)])
        sz_p99 = statistics.median(p for _, p in results[("smartzone", clients)])
        print(
            f"| {clients} | {bare_rate:,.0f} | {sz_rate:,.0f} | {sz_rate / bare_rate:.2f} | "
            f"{bare_p99 * 1000:.2f} ms | {sz_p99 * 1000:.2f} ms | {sz_p99 / bare_p99:.2f} |"
        )


if __name__ == "__main__":
    main()
