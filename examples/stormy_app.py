"""Misbehaving sample: reconnects all the time, without backoff.

Opens a fresh connection for every reading it wants, and retries at once when refused.
Trips SZ-CONN-01 (reconnect storm) and SZ-CONN-03 (no backoff while the broker is down).
"""

from __future__ import annotations

import szapp


def main():
    host, port = szapp.host_port()
    n = 0
    while not szapp.STOP.wait(0.1):
        n += 1
        client = szapp.client(f"{szapp.user()}-{n}")
        try:
            client.connect(host, port, keepalive=10)
            client.loop(timeout=0.05)
        except OSError as exc:
            szapp.log("connect failed:", exc)
        finally:
            client.disconnect()


if __name__ == "__main__":
    main()
