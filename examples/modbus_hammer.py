"""Misbehaving sample: a Modbus poller with no manners.

Reads unit 1 a hundred times a second (the data changes once a simulated minute), reads an
unmapped address and writes an out-of-range holding register. Trips SZ-MB-01 (polling
faster than the data changes), SZ-MB-02 (illegal requests) and SZ-MB-03 (request rate).
"""

from __future__ import annotations

import szapp
from pymodbus.client import ModbusTcpClient


def main():
    host, port = szapp.gateways()[0]
    client = ModbusTcpClient(host, port=port, timeout=2, retries=0)
    n = 0
    while not szapp.STOP.wait(0.01):
        n += 1
        try:
            if not client.connected:
                client.connect()
            client.read_input_registers(0, count=12, device_id=1)
            if n % 50 == 0:
                client.read_input_registers(200, count=4, device_id=1)  # unmapped: exception 2
        except Exception as exc:
            szapp.log("modbus:", exc)
    client.close()


if __name__ == "__main__":
    main()
