"""How the cyclic garbage collector runs while a simulation is live (process-wide).

A running city is a large, long-lived object graph (the world, its SimPy processes, the
endpoints' tables) plus a stream of short-lived objects (events, payloads) that reference
counting frees. With CPython's defaults the collector's full and middle passes walk the
whole graph every few seconds and stop every thread for 50-200 ms: at 20,000 readings/s
that was the whole p99 real-time lag (bench/mqtt_throughput.py; docs/benchmarks.md).

While at least one runtime runs: the graph existing at start is frozen (gc.freeze: never
scanned), young collections are batched (a larger first threshold, still a few ms) and the
older generations are collected rarely. The engine creates no cyclic garbage (measured:
none after a Bologna day in fast mode), so memory does not grow from this. When the last
runtime stops, the defaults come back and the frozen objects become collectable again.
"""

from __future__ import annotations

import gc
import threading

LIVE_THRESHOLDS = (10_000, 50, 1000)

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


def enter() -> None:
    """A runtime starts: freeze what exists now and batch the collections."""
    global _active, _saved
    with _lock:
        gc.collect()
        gc.freeze()
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*LIVE_THRESHOLDS)
        _active += 1


def leave() -> None:
    """A runtime stopped: the last one out restores the collector."""
    global _active, _saved
    with _lock:
        if _active == 0:
            return
        _active -= 1
        if _active == 0:
            gc.unfreeze()
            if _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
