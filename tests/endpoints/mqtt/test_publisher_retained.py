"""The publisher's start-up republish of retained documents, at the scale of a large city."""

from __future__ import annotations

import subprocess

import pytest

from smartzone.endpoints.mqtt.broker import service_address
from smartzone.endpoints.mqtt.publisher import Connection
from tests.endpoints.mqtt.conftest import has_mosquitto

DOCUMENTS = 70_000  # more than MQTT's 65,535 packet ids: paho cannot hold them all in flight


@pytest.mark.skipif(not has_mosquitto(), reason="mosquitto is not installed")
def test_more_retained_documents_than_packet_ids_all_reach_the_broker(start_test_broker, mqtt_scenario):
    broker = start_test_broker("mosquitto", mqtt_scenario)
    conn = Connection(service_address(broker), "sz_service-retained", lambda item: (), 1000, 1000)
    for i in range(DOCUMENTS):
        topic = f"sz/v2/big/t/x/d{i}/status"
        conn.retained[topic] = (topic, b'{"state":"online"}', 1, True)
    conn.start()
    try:
        assert conn.ready.wait(120), conn.last_error
        assert (conn.lost_offline, conn.published) == (0, DOCUMENTS), conn.last_error
    finally:
        conn.stop()
        conn.join(10)
    # the broker retains them: a sample across the range and the whole tail, where paho's ids
    # ran out before (mosquitto queues at most 1,000 messages per subscriber: not all 70,000)
    sample = sorted({*range(0, DOCUMENTS, 700), *range(DOCUMENTS - 60, DOCUMENTS)})
    topics = [arg for i in sample for arg in ("-t", f"sz/v2/big/t/x/d{i}/status")]
    out = subprocess.run(
        [
            "mosquitto_sub",
            "-h",
            broker.host,
            "-p",
            str(broker.port),
            "-u",
            "admin",
            "-P",
            "admin-pw",
            "-i",
            "admin-count",
            *topics,
            "--retained-only",
            "-v",
            "-C",
            str(len(sample)),
            "-W",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    got = {line.split(" ", 1)[0] for line in out.stdout.splitlines()}
    assert got == {f"sz/v2/big/t/x/d{i}/status" for i in sample}, out.stderr
