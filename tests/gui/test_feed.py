"""The engine->GUI buffer: coalescing, bounded history, loss counting (plain Python, no Qt)."""

from __future__ import annotations

from smartzone_gui.feed import HISTORY_POINTS, MAX_MESSAGES_PER_FRAME, LiveFeed

from smartzone.core.events import CommandResult, Reading, StateChanged, StatusChanged


def test_drain_coalesces_to_the_latest_value_per_device() -> None:
    feed = LiveFeed({"a": "lora"})
    for seq in range(1, 6):
        feed.on_event(Reading(float(seq), "a", seq, {"x": seq}))
    frame = feed.drain()
    assert frame.readings == 5 and frame.values == {"a": {"x": 5}} and frame.sim_time == 5.0
    assert len(frame.messages) == 5
    empty = feed.drain()
    assert empty.readings == 0 and not empty.values and empty.sim_time == 5.0


def test_notable_events_are_kept_in_order() -> None:
    feed = LiveFeed()
    events = [
        StateChanged(1.0, "l", {"level": 40}, "gui"),
        StatusChanged(2.0, "l", False, "gui"),
        CommandResult(3.0, "l", "c1", "dim", "gui", True, {"level": 40}),
    ]
    for e in events:
        feed.on_event(e)
    frame = feed.drain()
    assert frame.events == events
    assert frame.states == {"l": {"level": 40}} and frame.online == {"l": False}
    assert frame.changed_devices == {"l"}


def test_seq_gaps_count_as_losses_per_network_profile() -> None:
    feed = LiveFeed({"a": "lora", "b": "nbiot"})
    for seq in (1, 2, 5, 6):
        feed.on_event(Reading(float(seq), "a", seq, {}, measured=seq - 0.5))
    feed.on_event(Reading(1.0, "b", 1, {}))
    stats = feed.network_stats()
    assert stats["lora"].delivered == 4 and stats["lora"].lost == 2
    assert stats["lora"].latency_mean == 0.5 and stats["lora"].latency_max == 0.5
    assert stats["nbiot"].delivered == 1 and stats["nbiot"].lost == 0


def test_history_and_message_buffers_are_bounded() -> None:
    feed = LiveFeed()
    n = HISTORY_POINTS + MAX_MESSAGES_PER_FRAME + 10
    for seq in range(1, n + 1):
        feed.on_event(Reading(float(seq), "a", seq, {"x": seq}))
    history = feed.history("a")
    assert len(history) == HISTORY_POINTS and history[-1] == (float(n), {"x": n})
    frame = feed.drain()
    assert len(frame.messages) == MAX_MESSAGES_PER_FRAME
    assert frame.dropped_messages == n - MAX_MESSAGES_PER_FRAME


def test_rows_describe_facts_for_people() -> None:
    from smartzone_gui.rows import event_row

    from smartzone.core.events import FaultChanged, TimelineChanged

    iso = lambda t: "2026-11-23T08:00:05.250Z"  # noqa: E731
    cells, _colour = event_row(
        CommandResult(
            1.0,
            "l",
            "c1",
            "dim",
            "mqtt",
            False,
            error_code="invalid_params",
            error_message="'level' must be an integer from 0 to 100",
        ),
        iso,
    )
    assert cells == (
        "2026-11-23 08:00:05",
        "command",
        "l",
        "dim from mqtt rejected: invalid_params: 'level' must be an integer from 0 to 100",
    )
    assert event_row(FaultChanged(2.0, "a", "stuck", True), iso)[0][3] == "stuck started"
    dropout = {"effect": "offline", "signal": None, "duration": 4258.42555692387, "magnitude": 0.123456789}
    assert event_row(FaultChanged(2.0, "a", "dropout", False, dropout), iso)[0][3] == (
        "dropout ended effect=offline, duration=1h10min58s, magnitude=0.123457"
    )
    from smartzone.core.events import DeviceAdded, DeviceRemoved

    added = DeviceAdded(4.0, "my-1", "lab-a", {"type": "street-light", "district": "porto", "lat": 44.5}, "gui")
    assert event_row(added, iso)[0][1:] == (
        "sandbox",
        "my-1",
        "created in sandbox lab-a: street-light in porto (by gui)",
    )
    removed = event_row(DeviceRemoved(5.0, "my-1", "lab-a", "reset", "mqtt"), iso)[0]
    assert removed[3] == "deleted from sandbox lab-a (reset, by mqtt)"
    timeline = event_row(TimelineChanged(3.0, "rush", True, "traffic x2"), iso)[0]
    assert timeline[1:] == ("timeline", "", "rush started: traffic x2")
