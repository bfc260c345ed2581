"""`smartzone export asyncapi`: valid against the official AsyncAPI 3.0.0 JSON Schema, and the
payload schemas it declares accept what the bridge really publishes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from smartzone.core.commands import DeviceCommand
from smartzone.core.events import Event
from smartzone.endpoints.mqtt.asyncapi import build
from smartzone.endpoints.mqtt.bridge import Bridge
from smartzone.endpoints.mqtt.publisher import BrokerAddress
from smartzone.runtime.api import Runtime

from .harness import MQTT_CITY

SCHEMA_FILE = "3.0.0-without-$id.json"


def official_schema() -> dict[str, Any] | None:
    """The AsyncAPI 3.0.0 JSON Schema from the @asyncapi/specs npm package (see docs/mqtt.md)."""
    candidates = []
    if os.environ.get("SMARTZONE_ASYNCAPI_SCHEMA"):
        candidates.append(Path(os.environ["SMARTZONE_ASYNCAPI_SCHEMA"]))
    if shutil.which("npm"):
        root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True, timeout=30).stdout.strip()
        if root:
            candidates.append(Path(root) / "@asyncapi" / "specs" / "schemas" / SCHEMA_FILE)
    for path in candidates:
        if path.is_file():
            return dict(json.loads(path.read_text(encoding="utf-8")))
    return None


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    rt = Runtime.load(MQTT_CITY)
    return build(rt.scenario, rt.catalog, rt.devices.values())


def test_valid_against_the_official_asyncapi_3_schema(document: dict[str, Any]) -> None:
    schema = official_schema()
    if schema is None:
        pytest.skip("official AsyncAPI schema not installed: npm install -g @asyncapi/specs@6.11.1")
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []
    broken = {**document, "channels": {"bad key!": {"address": 5}}}
    assert list(validator.iter_errors(broken)), "the official schema must reject a broken document"


def test_references_resolve_and_payload_schemas_are_valid(document: dict[str, Any]) -> None:
    def resolve(ref: str) -> Any:
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    for op in document["operations"].values():
        channel = resolve(op["channel"]["$ref"])
        for msg in op["messages"]:
            assert resolve(msg["$ref"]) in channel["messages"].values()
    for message in document["components"]["messages"].values():
        jsonschema.Draft7Validator.check_schema(message["payload"])
    addresses = {c["address"] for c in document["channels"].values()}
    assert "sz/v2/mqttville/comune/street-light/{device}/cmd" in addresses
    assert "sz/v2/mqttville/acme/catalog" in addresses and "icity/mqttville/{device}/data" in addresses


def test_published_payloads_match_their_declared_schemas(document: dict[str, Any]) -> None:
    rt = Runtime.load(MQTT_CITY, fast=True, duration=900)
    bridge = Bridge(rt, BrokerAddress("127.0.0.1", 1))  # never started: render only
    events: list[Event] = []
    rt.subscribe(events.append)
    rt.submit(DeviceCommand("cl-0001", "dim", {"level": 30}, id="x1", source="mqtt"))
    rt.submit(DeviceCommand("cl-0001", "dim", {"level": 300}, id="x2", source="mqtt"))
    rt.start()
    assert rt.wait(30)
    messages = [m for e in events for m in bridge.render(e)]
    messages += [m for docs in bridge.retained_documents().values() for m in docs]
    routes = []
    for channel in document["channels"].values():
        pattern = re.escape(channel["address"]).replace(re.escape("{device}"), "[a-z0-9-]+")
        pattern = pattern.replace(re.escape("{user}"), "[a-z0-9-]+")
        [ref] = channel["messages"].values()
        payload = document["components"]["messages"][ref["$ref"].split("/")[-1]]["payload"]
        routes.append((re.compile(pattern + "$"), payload))
    seen = set()
    for topic, payload, _, _ in messages:
        schemas = [s for p, s in routes if p.match(topic)]
        assert len(schemas) == 1, topic
        jsonschema.validate(json.loads(payload), schemas[0])
        seen.add(topic.rsplit("/", 1)[-1] if "/cmd/" not in topic else "ack")
    assert {"telemetry", "meta", "status", "state", "catalog", "data", "ack", "tenants", "admin"} <= seen


def test_cli_writes_the_document(tmp_path: Path) -> None:
    out = tmp_path / "asyncapi.json"
    done = subprocess.run(
        [sys.executable, "-m", "smartzone", "export", "asyncapi", str(MQTT_CITY), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["asyncapi"] == "3.0.0"
