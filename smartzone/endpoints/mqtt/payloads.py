"""Telemetry payloads in the three formats of docs/api.md, plus the deprecated v1 payload.

- native: `{"device", "type", "tenant", "ts", "seq", "values"}`
- senml (RFC 8428): a JSON array of records; the first carries `bn` = `urn:dev:sz:{device}:`
  and `bt` (epoch seconds of the measurement); one record per signal with `n`, `u` and
  exactly one of `v`/`vs`/`vb`; a last record `seq` carries the sequence number.
- ngsi-ld (normalized): an entity `urn:ngsi-ld:{ngsi_type}:{device}` whose attributes are
  Properties named after the Smart Data Models attribute of each signal (`ngsi`), with
  `observedAt` and, when the type declares it, `unitCode`; plus `location` (GeoProperty).

`ts`/`bt`/`observedAt` are simulated times of the measurement (Reading.measured_at).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from smartzone.core.clock import SimClock
from smartzone.core.device import DeviceInfo
from smartzone.core.events import Reading
from smartzone.definitions.device_type import DeviceType

FORMATS = ("native", "senml", "ngsi-ld")
NGSI_CONTEXT = [
    "https://raw.githubusercontent.com/smart-data-models/data-models/master/context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
]
SENML_BN = "urn:dev:sz:{device}:"


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # one encoder, not one per call


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON, the wire form of every SmartZone payload."""
    return _JSON.encode(obj).encode()


Encoder = Callable[[Reading], bytes]


def native_encoder(info: DeviceInfo, clock: SimClock) -> Encoder:
    """The native payload; hot path, so the constant head is encoded once per device. The
    bytes equal dumps() of {"device", "type", "tenant", "ts", "seq", "values"}."""
    head = dumps({"device": info.id, "type": info.type, "tenant": info.tenant})[:-1] + b',"ts":"'
    iso = clock.iso

    def encode(r: Reading) -> bytes:
        values = r.values if type(r.values) is dict else dict(r.values)
        return b"".join(
            (
                head,
                iso(r.measured_at).encode(),
                b'","seq":',
                str(r.seq).encode(),
                b',"values":',
                dumps(values),
                b"}",
            )
        )

    return encode


def senml_record(name: str, unit: str, value: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"n": name}
    if unit:
        rec["u"] = unit
    if isinstance(value, bool):
        rec["vb"] = value
    elif isinstance(value, (int, float)):
        rec["v"] = value
    else:
        rec["vs"] = str(value)
    return rec


def senml_encoder(info: DeviceInfo, dtype: DeviceType, clock: SimClock) -> Encoder:
    bn = SENML_BN.format(device=info.id)
    units = {name: sig.unit for name, sig in dtype.signals.items()}

    def encode(r: Reading) -> bytes:
        records = [senml_record(name, units.get(name, ""), value) for name, value in r.values.items()]
        records.append({"n": "seq", "v": r.seq})
        records[0] = {"bn": bn, "bt": round(clock.epoch(r.measured_at), 3), **records[0]}
        return dumps(records)

    return encode


def ngsi_property(value: Any, observed_at: str, unit_code: str | None) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": "Property", "value": value, "observedAt": observed_at}
    if unit_code:
        prop["unitCode"] = unit_code
    return prop


def ngsi_entity_id(ngsi_type: str, device: str) -> str:
    return f"urn:ngsi-ld:{ngsi_type}:{device}"


def ngsi_encoder(info: DeviceInfo, dtype: DeviceType, clock: SimClock) -> Encoder:
    entity_id = ngsi_entity_id(dtype.ngsi_type, info.id)
    attrs = {name: (sig.ngsi or name, sig.unit_code) for name, sig in dtype.signals.items()}
    location = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [info.lon, info.lat]}}

    def encode(r: Reading) -> bytes:
        observed = clock.iso(r.measured_at)
        entity: dict[str, Any] = {"id": entity_id, "type": dtype.ngsi_type}
        for name, value in r.values.items():
            attr, unit_code = attrs.get(name, (name, None))
            entity[attr] = ngsi_property(value, observed, unit_code)
        entity["seq"] = {"type": "Property", "value": r.seq, "observedAt": observed}
        entity["location"] = location
        entity["@context"] = NGSI_CONTEXT
        return dumps(entity)

    return encode


def encoder(fmt: str, info: DeviceInfo, dtype: DeviceType, clock: SimClock) -> Encoder:
    """The telemetry encoder of one device in format `fmt` (native, senml, ngsi-ld)."""
    if fmt == "senml":
        return senml_encoder(info, dtype, clock)
    if fmt == "ngsi-ld":
        return ngsi_encoder(info, dtype, clock)
    if fmt == "native":
        return native_encoder(info, clock)
    raise ValueError(f"unknown payload format '{fmt}'; expected one of {', '.join(FORMATS)}")


def v1_payload(r: Reading, clock: SimClock) -> bytes:
    """Deprecated v1: `{"id", "ts", "value"}` on `icity/{city}/{device}/data`."""
    return dumps({"id": r.device, "ts": clock.iso(r.measured_at), "value": dict(r.values)})
