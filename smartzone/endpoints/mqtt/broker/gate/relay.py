"""SUBSCRIBE rewriting for the gate front: a refused filter replaced by one the broker refuses.

SmartZone grants a filter that can match at least one topic the user may read
(`AccessPolicy.may_subscribe`: it overlaps a readable pattern) and refuses the others.
mosquitto's dynamic-security plugin judges a filter by inclusion instead: it refuses one that
lies wholly inside a denied pattern (another tenant's subtree, an owner-only topic, `$SYS/#`),
but has no pattern for "overlaps nothing readable" (`foo/bar` in a closed lab, `+/+`), which it
would grant and then deliver nothing. For such a filter the front puts, in its place, a filter
every role of the broker denies (backends/dynsec.py SUBSCRIBE_REFUSED); the broker answers it
with the failure code (0x80, MQTT 5: 0x87) at that position of its own SUBACK, so the gate
never rewrites what the broker sends. The other filters and every option byte pass unchanged.
"""

from __future__ import annotations

from smartzone.endpoints.mqtt.codec import WireError, read_varint, remaining_length


def substitute_refused(raw: bytes, offset: int, level: int, allowed: list[bool], refused_filter: str) -> bytes:
    """The SUBSCRIBE to forward: `raw` with each filter not `allowed` replaced by `refused_filter`."""
    if all(allowed):
        return raw
    pos = offset + 2
    if level == 5:
        length, start = read_varint(raw, pos)
        pos = start + length
    head = raw[offset:pos]  # packet id (and MQTT 5 properties)
    entries = []
    index = 0
    replacement = refused_filter.encode("utf-8")
    while pos < len(raw):
        n = int.from_bytes(raw[pos : pos + 2], "big")
        name, options = raw[pos + 2 : pos + 2 + n], raw[pos + 2 + n : pos + 3 + n]
        if index >= len(allowed) or len(options) != 1:
            raise WireError("SUBSCRIBE filters changed while rewriting")
        if not allowed[index]:
            name = replacement
        entries.append(len(name).to_bytes(2, "big") + name + options)
        pos += 3 + n
        index += 1
    if index != len(allowed):
        raise WireError("SUBSCRIBE filters changed while rewriting")
    body = head + b"".join(entries)
    return bytes([raw[0]]) + remaining_length(len(body)) + body
