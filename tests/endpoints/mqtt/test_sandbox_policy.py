"""The sandbox topics in the topics module and the access policy (both backends' rules)."""

from __future__ import annotations

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.broker.gate.rates import TokenBucket
from smartzone.endpoints.mqtt.broker.policy import AccessPolicy
from smartzone.endpoints.mqtt.broker.policy.denials import Denials
from smartzone.endpoints.mqtt.sandbox_requests import BadRequest, parse_request
from smartzone.endpoints.mqtt.topics import TopicParts, Topics

from .conftest import dynsec_acls
from .sandbox_city import BASE, REQUEST, RESULT, SANDBOX_CITY


def test_topics_build_and_parse_the_sandbox_topics() -> None:
    topics = Topics("sandboxville")
    assert topics.sandbox("lab-a", "request") == REQUEST and topics.sandbox("lab-a", "result") == RESULT
    assert topics.parse(REQUEST) == TopicParts("sandbox", "lab-a", channel="request")
    assert topics.parse(RESULT) == TopicParts("sandbox", "lab-a", channel="result")
    assert topics.parse(f"{BASE}/lab-a/sandbox/other").kind == "other"
    assert topics.sandbox_request_filter() == f"{BASE}/+/sandbox/request"


def test_only_the_owner_admin_and_service_use_a_sandbox_topic(catalog: Catalog) -> None:
    policy = AccessPolicy(load_scenario(SANDBOX_CITY, catalog), "svc")
    who = policy.identity_of
    for name in ("owner-a", "admin", "sz_service"):
        assert policy.may_publish(who(name), REQUEST) and policy.may_receive(who(name), RESULT), name
    for name in ("app", "owner-b"):
        assert not policy.may_publish(who(name), REQUEST), name
        assert not policy.may_receive(who(name), RESULT) and not policy.may_subscribe(who(name), RESULT), name
    assert policy.may_receive(who("app"), f"{BASE}/lab-a/street-light/a1/meta")  # the rest of lab-a stays readable
    assert ("publishClientReceive", f"{BASE}/lab-a/sandbox/#", False) in dynsec_acls(policy, "app")
    assert ("subscribePattern", f"{BASE}/lab-a/sandbox/#", False) in dynsec_acls(policy, "app")
    assert not [t for _, t, allow in dynsec_acls(policy, "owner-a") if not allow and t.startswith(f"{BASE}/lab-a/")]


def test_parse_request_names_the_topic_and_field() -> None:
    ok = parse_request(b'{"id": "r", "op": "add", "device": "d", "type": "t", "lat": 1, "lon": 2.5}', REQUEST)
    assert (ok.id, ok.op, ok.fields["device"], ok.fields["lat"], ok.fields["district"]) == ("r", "add", "d", 1, None)
    for payload, code, words in [
        (b"[" * 50_000, "bad_json", "nested too deeply"),
        (b'{"op": "reset", "n": ' + b"1" * 5000 + b"}", "bad_json", "not acceptable JSON"),
        (b'"reset"', "bad_json", "JSON object"),
        (b'{"op": "add", "device": "d", "type": "t", "lat": true}', "invalid_params", "'lat'"),
        (b'{"op": "reset", "device": "d"}', "invalid_params", "'device'"),
    ]:
        try:
            parse_request(payload, REQUEST)
        except BadRequest as exc:
            assert exc.code == code and words in exc.message and exc.message.startswith(REQUEST), exc.message
        else:
            raise AssertionError(f"{payload[:40]!r} was accepted")


def test_a_denied_sandbox_topic_says_it_is_the_owners_alone(catalog: Catalog) -> None:
    policy = AccessPolicy(load_scenario(SANDBOX_CITY, catalog), "svc")
    lines: list[str] = []
    denials = Denials(policy, write=lines.append)
    denials.denied_topic(policy.identity_of("app"), "subscribe", RESULT)
    denials.denied_topic(policy.identity_of("owner-b"), "publish", REQUEST)
    assert len(lines) == 2 and all("its owner's alone" in line and "sandbox/" in line for line in lines), lines


def test_token_bucket_allows_the_rate_and_a_burst_of_it() -> None:
    now = [100.0]
    bucket = TokenBucket(5, clock=lambda: now[0])
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    now[0] += 0.2  # one token back
    assert bucket.take() and not bucket.take()
    now[0] += 60  # never more than the burst
    assert sum(bucket.take() for _ in range(10)) == 5
    slow = TokenBucket(0.5, clock=lambda: now[0])  # under 1/s: one now, the next after 2 s
    assert slow.take() and not slow.take()
    now[0] += 2.0
    assert slow.take()
