"""Process hygiene of the CLI: signals that stop a command cleanly, and closed output pipes.

- SIGINT and SIGTERM: installed explicitly, even when SIGINT was inherited as ignored (a
  shell starts `smartzone run &` that way when job control is off), so both stop a command
  in a terminal and in the background. `smartzone run` turns them into a stop request (the
  run ends, prints its summary, stops its children and frees its ports, exit 0; a second
  signal while it stops unwinds at once, exit 130); every other command gets
  KeyboardInterrupt, unwinds its `finally` blocks and exits 130.
- A closed stdout or stderr (`smartzone devices | head`): BrokenPipeError is caught at the
  top, both streams are pointed at /dev/null so that nothing more fails on the way out, and
  the command ends quietly with exit 1 (the convention of the Python documentation).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def install_interrupts() -> Callable[[], None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread (SIGINT even if it was
    ignored); returns a function that restores the previous handlers (main() called in-process)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # handlers can only be set from the main thread
    previous: dict[int, Any] = {sig: signal.signal(sig, _interrupt) for sig in STOP_SIGNALS}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


@contextlib.contextmanager
def stop_requests(on_stop: Callable[[], None]) -> Iterator[threading.Event]:
    """While inside: SIGINT/SIGTERM set the yielded event and call `on_stop` (no exception is
    raised, so a run ends through its normal path; a second signal raises KeyboardInterrupt);
    the previous handlers are restored after."""
    stopped = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if stopped.is_set():  # a second signal while stopping: the user insists, unwind now
            raise KeyboardInterrupt(signal.Signals(signum).name)
        stopped.set()
        on_stop()

    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return
    previous: dict[int, Any] = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield stopped
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def quiet_pipes() -> None:
    """After BrokenPipeError: send what is left of stdout and stderr to /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


def safe_print(text: str, stream: Any) -> None:
    """Print a line from a non-main thread: a closed pipe there must not raise (main() handles it)."""
    with contextlib.suppress(OSError, ValueError):
        print(text, file=stream, flush=True)
