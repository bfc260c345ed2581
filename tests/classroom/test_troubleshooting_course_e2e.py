"""The shipped course "Troubleshooting a city app", end to end: `smartzone class start` in its own process
injects each trainee's trouble (an offline sensor, a congested gateway) when the trainee reaches the step;
the trainee, a paho app reading only its handout, finds them from what the broker delivers, and fixes its
flooding subscription. Wrong answers and the flooding subscription do not count; trouble ends with its step.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.classroom.classkit import ROOT, Paper, answer, cell, running_class, wait

CITY = ROOT / "tests" / "fixtures" / "classroom-infra.yaml"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("mosquitto_pub") is None, reason="needs mosquitto-clients"),
]


class App:
    """A trainee's paho client: subscribes to filters, keeps every message it gets."""

    def __init__(self, p: Paper, suffix: str, filters: list[str]) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{p.user}-{suffix}")
        self.client.username_pw_set(p.user, p.password)
        self.client.on_connect = lambda c, *a: c.subscribe([(f, 0) for f in filters])
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._message
        self.client.connect(p.host, p.port)
        self.client.loop_start()
        assert self.ready.wait(30), "subscribed"

    def _message(self, client: Any, userdata: Any, msg: Any) -> None:
        try:
            body = json.loads(msg.payload)
        except ValueError:
            body = {}
        with self.lock:
            self.messages.append((msg.topic, body))

    def since(self, n: int) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            return list(self.messages[n:])

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _readings_by_district(app: App, start: int, districts: dict[str, str]) -> dict[str, int]:
    """Per district, the telemetry readings delivered from message `start` on (what the sensors behind a
    congested gateway lose shows as gaps in their seq and as fewer readings)."""
    counts = dict.fromkeys(set(districts.values()), 0)
    for topic, body in app.since(start):
        device = topic.split("/")[-2]
        if topic.endswith("/telemetry") and device in districts and isinstance(body.get("seq"), int):
            counts[districts[device]] += 1
    return counts


def _sensors(p: Paper) -> list[str]:
    """The three sensors the handout's intro names."""
    intro = p.text.split("three parking sensors", 1)[1].split("Their topics", 1)[0]
    return sorted(set(re.findall(r"\b[a-z]+-\d{4}\b", intro)))


def test_a_trainee_troubleshoots_the_city(tmp_path: Path) -> None:
    with running_class("troubleshooting", tmp_path, "--scenario", str(CITY), "--speed", "10") as out:
        one, two = Paper(out / "handout-trainee-01.html"), Paper(out / "handout-trainee-02.html")
        mine, theirs = _sensors(one), _sensors(two)
        assert len(mine) == 3, mine
        assert not set(mine) & set(theirs), "two trainees watch different sensors"
        base = f"sz/v2/{one.city}/comune-bologna/parking-spot"
        user = one.user
        tenant_wide = App(one, "wide", [f"sz/v2/{one.city}/#"])  # the sample app's flooding subscription
        try:
            wait("connect", lambda: cell(out, user, "connect").get("done"))

            # the offline sensor: its retained status says so (the trouble started with the step)
            status = App(one, "status", [f"{base}/{d}/status" for d in mine])
            offline = wait(
                "an offline status",
                lambda: next((t.split("/")[-2] for t, b in status.since(0)[::-1] if b.get("state") == "offline"), None),
            )
            status.close()
            assert offline in mine
            answer(one, "offline", next(d for d in mine if d != offline))
            wait("the wrong answer", lambda: cell(out, user, "offline").get("attempts", 0) >= 1)
            assert not cell(out, user, "offline")["done"]
            answer(one, "offline", offline)
            wait("offline", lambda: cell(out, user, "offline").get("done"))

            # the congested gateway: the district whose sensors' readings come with seq gaps
            districts = {
                t.split("/")[-2]: b["location"]["district"]
                for t, b in tenant_wide.since(0)
                if t.startswith(base) and t.endswith("/meta")
            }
            assert len(districts) == 8, districts
            start = len(tenant_wide.since(0))
            counts = wait(
                "a dozen readings in one district",
                lambda: (c := _readings_by_district(tenant_wide, start, districts)) and max(c.values()) >= 12 and c,
                timeout=90,
            )
            worst = min(counts, key=counts.__getitem__)
            assert counts[worst] * 2 < max(counts.values()), f"one district loses most readings: {counts}"
            gateway = f"gw-{worst}"
            assert gateway in one.text
            answer(one, "congestion", "gw-south" if gateway == "gw-north" else "gw-north")
            wait("the wrong gateway", lambda: cell(out, user, "congestion").get("attempts", 0) >= 1)
            assert not cell(out, user, "congestion")["done"]
            answer(one, "congestion", gateway)
            wait("congestion", lambda: cell(out, user, "congestion").get("done"))

            # the flooding subscription: as long as it is open, the step is not done
            narrow = App(one, "app", [f"{base}/{d}/#" for d in mine])
            try:
                wait("the narrow subscription seen", lambda: cell(out, user, "flood").get("attempts", 0) >= 1)
                flooded = len(tenant_wide.since(0))
                wait("a window's worth of flood", lambda: len(tenant_wide.since(flooded)) >= 40, timeout=60)
                assert not cell(out, user, "flood")["done"], "the wide subscription still floods the trainee"
                tenant_wide.close()
                wait("flood", lambda: cell(out, user, "flood").get("done"), timeout=60)
            finally:
                narrow.close()
        finally:
            tenant_wide.close()
        assert not any(cell(out, "trainee-02", s).get("done") for s in ("connect", "offline", "congestion", "flood"))
