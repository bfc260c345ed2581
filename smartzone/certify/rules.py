"""The certification rules: ids, levels, titles, guidance, and how to evaluate them all.

Ids are stable (reports, CI history and profiles refer to them); docs/certify.md lists
them in this order. A profile may disable a rule or change its level, and adds one
EXP-{id} rule per expectation.
"""

from __future__ import annotations

from smartzone.certify import rules_app, rules_cmd, rules_cost, rules_modbus, rules_mqtt
from smartzone.certify.profile import Profile
from smartzone.certify.records import Observations
from smartzone.certify.verdicts import Context, Outcome, Rule, Verdict, judge

RULES: tuple[Rule, ...] = (
    Rule(
        "SZ-APP-01",
        "MUST",
        "The app keeps running",
        "Catch and log errors in message handlers instead of exiting; a duplicated, late or odd reading "
        "must never crash the app.",
        rules_app.stays_up,
    ),
    Rule(
        "SZ-APP-02",
        "SHOULD",
        "The app uses the city's endpoints",
        "Read the connection settings from SZ_URL / SZ_USER / SZ_PASSWORD / SZ_CITY and "
        'SZ_MODBUS_GATEWAYS (see docs/api.md, "Environment variables for apps").',
        rules_app.uses_city,
    ),
    Rule(
        "SZ-API-01",
        "SHOULD",
        "No deprecated v1 API",
        "Move from icity/{city}/{device}/data to sz/v2/{city}/{tenant}/{type}/{device}/telemetry "
        "(docs/api.md); v1 will be switched off.",
        rules_mqtt.deprecated_v1,
    ),
    Rule(
        "SZ-SUB-01",
        "MUST",
        "No subscription to '#' or a whole city",
        "Subscribe to the devices you read (sz/v2/{city}/{tenant}/{type}/{device}/telemetry), or at most to "
        "one type of one tenant; never to '#' or sz/v2/{city}/#.",
        rules_mqtt.global_wildcards,
    ),
    Rule(
        "SZ-SUB-02",
        "SHOULD",
        "Subscriptions fit the devices the app uses",
        "Replace tenant-wide wildcards with one subscription per device you use (the tenant's retained "
        "catalog topic lists them), or declare the devices in the profile's app.uses.",
        rules_mqtt.broad_for_use,
    ),
    Rule(
        "SZ-TRAFFIC-01",
        "SHOULD",
        "Traffic in proportion to what the app consumes",
        "Narrow your subscriptions so the broker only sends what you use.",
        rules_mqtt.traffic,
    ),
    Rule(
        "SZ-CONN-01",
        "MUST",
        "No reconnect storm",
        "Keep one long-lived connection with a stable client id; reconnect with exponential backoff "
        "(paho: reconnect_delay_set(min_delay=1, max_delay=120)).",
        rules_mqtt.reconnect_storm,
    ),
    Rule(
        "SZ-CONN-02",
        "MUST",
        "Reconnects after a broker restart",
        "Use the client library's automatic reconnect (paho: loop_forever/loop_start with reconnect_on_failure) "
        "and resubscribe in on_connect.",
        rules_mqtt.reconnects_after_restart,
    ),
    Rule(
        "SZ-CONN-03",
        "SHOULD",
        "Backs off while the broker is down",
        "Wait longer after each failed attempt (1 s, 2 s, 4 s ... up to minutes), with jitter.",
        rules_mqtt.backoff,
    ),
    Rule(
        "SZ-ACL-01",
        "MUST",
        "Stays within its grants",
        "Only subscribe to tenants you are granted and publish only cmd topics of tenants you may command; "
        "use your own user name as client id or its prefix.",
        rules_mqtt.outside_grants,
    ),
    Rule(
        "SZ-QOS-01",
        "SHOULD",
        "No QoS misuse",
        "Use QoS 0 or 1: telemetry is QoS 0 at the source and commands carry ids, so QoS 2 only costs round trips.",
        rules_mqtt.qos_misuse,
    ),
    Rule(
        "SZ-PUB-01",
        "MUST",
        "Publish rate within limits",
        "Batch or debounce: a city app needs a few messages per minute, not per millisecond.",
        rules_mqtt.publish_rate,
    ),
    Rule(
        "SZ-CMD-01",
        "MUST",
        "No command flood",
        "Send a command when the desired state changes, not on every reading; wait for the cmd/ack.",
        rules_cmd.command_flood,
    ),
    Rule(
        "SZ-CMD-02",
        "MUST",
        "No retained commands",
        "Publish cmd with retain=false; a retained command would replay on every reconnect (the city refuses "
        "them). Clear one with an empty retained message.",
        rules_cmd.retained_commands,
    ),
    Rule(
        "SZ-CMD-03",
        "MUST",
        "Well-formed, valid commands",
        'Send {"id", "action", "params"} as JSON, with actions and parameter ranges from the device\'s '
        "meta topic; read cmd/ack errors (malformed, unknown_action, invalid_params).",
        rules_cmd.invalid_commands,
    ),
    Rule(
        "SZ-CMD-04",
        "MUST",
        "No repeated commands to an offline device",
        "After a device_offline ack (or status offline), wait for status online before commanding it again.",
        rules_cmd.offline_repeats,
    ),
    Rule(
        "SZ-MB-01",
        "SHOULD",
        "Modbus polling no faster than the data changes",
        "Poll each device at most twice per report interval (meta topic / register map); "
        "the seq registers 3-4 tell you when there is something new.",
        rules_modbus.poll_period,
    ),
    Rule(
        "SZ-MB-02",
        "MUST",
        "No illegal Modbus requests",
        "Read only mapped addresses (smartzone export modbus-map), use supported function codes and "
        "write values within range.",
        rules_modbus.illegal_requests,
    ),
    Rule(
        "SZ-MB-03",
        "MUST",
        "Modbus request rate within limits",
        "Read a device's registers in one request per table and pace your polling loop.",
        rules_modbus.request_rate,
    ),
    Rule(
        "SZ-COST-01",
        "MUST",
        "Platform cost within budget",
        "Subscribe to the devices you use, not to wide filters (the broker sends you every message they match); "
        "read a tenant's retained catalog once and keep it instead of resubscribing; keep one session so a "
        "reconnect does not fetch every retained document again; poll Modbus less often, reading only the "
        "registers you need.",
        rules_cost.platform_cost,
    ),
    Rule(
        "SZ-PROBE-01",
        "MUST",
        "Stays calm on bad days",
        "When devices go offline, the network degrades or readings repeat, do not retry in a tight loop: "
        "back off and wait for status changes.",
        rules_app.calm_on_bad_days,
    ),
)

RULE_IDS = frozenset(r.id for r in RULES)


def evaluate(obs: Observations, profile: Profile, outage: tuple[float, float] | None = None) -> list[Verdict]:
    """Every enabled rule's verdict, then one per profile expectation."""
    ctx = Context(profile.thresholds, frozenset(profile.app.uses), outage, profile.budget)
    out = []
    for rule in RULES:
        setting = profile.setting(rule.id)
        if not setting.enabled:
            continue
        try:
            result = rule.check(obs, ctx)
        except Exception as exc:  # a rule bug must show up in the report, not lose the run
            result = Outcome("na", f"rule could not be evaluated: {type(exc).__name__}: {exc}")
        out.append(judge(rule, setting.level or rule.level, result))
    for exp in profile.expect:
        rule = Rule(
            f"EXP-{exp.id}",
            exp.level,
            exp.description
            or f"when {exp.when.describe()}, publish to {exp.then.publish} within {exp.then.within:g} s",
            "Make the app react to this event and publish as the city expects.",
            lambda o, c: Outcome("na", ""),
        )
        out.append(judge(rule, exp.level, rules_app.expectation(exp, obs)))
    return out


def passed(verdicts: list[Verdict]) -> bool:
    """True when no MUST rule failed."""
    return not any(v.failed for v in verdicts)
