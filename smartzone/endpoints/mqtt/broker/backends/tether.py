"""Run a broker that cannot watch its parent, and end it when SmartZone ends.

`python -m smartzone.endpoints.mqtt.broker.backends.tether [--remove DIR] COMMAND...` starts COMMAND
(mosquitto) as its child and waits for it, exiting with its exit code; if it ended COMMAND
because SmartZone went away, it also deletes DIR (the broker's private directory). It ends COMMAND (SIGTERM) when its
own stdin closes, which happens when SmartZone closes the pipe or dies, even by `kill -9`,
and it passes SIGTERM on. It ignores SIGINT: Ctrl-C in a terminal reaches the whole process
group, and SmartZone stops its brokers in order. The broker's stderr is the tether's. Once
COMMAND is started, the tether writes its pid as one line on stdout (SmartZone's supervisor
names, and if need be ends, the broker itself by it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from typing import Any


def main(argv: list[str]) -> int:
    remove = None
    if argv[:1] == ["--remove"] and len(argv) >= 2:
        remove, argv = argv[1], argv[2:]
    if not argv:
        sys.stderr.write(
            "usage: python -m smartzone.endpoints.mqtt.broker.backends.tether [--remove DIR] COMMAND [ARG...]\n"
        )
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        # its own session: Ctrl-C in the terminal does not reach it; SmartZone stops it in order
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        sys.stderr.write(f"cannot start {argv[0]}: {exc}\n")
        return 127
    sys.stdout.write(f"{proc.pid}\n")
    sys.stdout.flush()

    def end(*_: Any) -> None:
        if proc.poll() is None:
            proc.terminate()

    signal.signal(signal.SIGTERM, end)

    orphaned = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.buffer.read()  # returns at EOF: SmartZone is gone or closed the pipe
        orphaned.set()
        end()

    threading.Thread(target=watch_stdin, name="tether-stdin", daemon=True).start()
    code = proc.wait()
    if orphaned.is_set() and remove is not None:
        shutil.rmtree(remove, ignore_errors=True)  # SmartZone may have died without cleaning up
    return code


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stderr.flush()
    os._exit(code)  # not sys.exit: the stdin thread may still hold stdin's lock at shutdown
