"""The access policy as the configuration file of mosquitto's dynamic-security plugin.

mosquitto 2.0 ships `mosquitto_dynamic_security.so`; SmartZone writes its JSON file directly
(`config_json`), in the format the plugin stores (`mosquitto_ctrl dynsec init` writes the
same): one client per scenario user and for the service account, its password as PBKDF2-SHA512
(`password` and `salt` in base64, `iterations`), one role per identity, and for anonymous
clients a group named in `anonymousGroup`. What the policy does not grant is denied:
`defaultACLAccess` refuses publishing, receiving and subscribing (receiving too, although the
plugin allows it by default: a client never gets a message it may not read).

The plugin checks a role's ACLs from the highest priority down and the first that matches
decides, so the deny rules come first:

- DENY: `$CONTROL/#` (the plugin's own control topics: nobody may reconfigure it), `$SYS/#`
  and SUBSCRIBE_REFUSED for everyone; for the others, subscribing in the reserved regions they
  may not read at all (`AccessPolicy.open_space_denies(everywhere=True)`: other tenants, the
  owner-only ingest and sandbox topics of tenants they read, other users' `access` documents ...),
  and receiving and publishing where a grant would otherwise reach (`open_space_denies()`: the
  owner-only topics; in open mode the same list as subscribing). None of them overlaps what the
  identity may read, so no deny hides a readable topic; rules checked on every message stay few.
- GRANT: publishClientReceive for the readable patterns, publishClientSend for the writable
  ones. subscribePattern `#`: the plugin grants a SUBSCRIBE only when the filter lies wholly
  inside an allowed pattern, but SmartZone grants a filter that spans tenants and delivers its
  readable part (docs/brokers.md); delivery is judged per message by publishClientReceive.
- OPEN (open lab mode): publishClientReceive and publishClientSend `#` below the grants, with
  both denied under the reserved space (`sz/`, the city's v1 topics) between them: there an
  identity reads and writes exactly what it is granted, as in a closed lab.

So mosquitto itself answers a SUBSCRIBE inside a denied region with 0x80 (0x87 in MQTT 5). A
filter that lies in no denied region yet matches nothing readable (`foo/bar` in a closed lab,
`+/+`) has no deny rule to fall in: the gate front substitutes SUBSCRIBE_REFUSED for it
(relay.py), which every role denies, and mosquitto answers that one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

from smartzone.endpoints.mqtt.broker.policy import ANONYMOUS, SERVICE_USER, AccessPolicy, Identity

SUBSCRIBE_REFUSED = "$SZ/refused"  # the filter the gate sends in place of one the policy refuses
ITERATIONS = 1000
SALT_BYTES = 12
ANONYMOUS_GROUP = "anonymous"
DENY, GRANT, RESERVED, OPEN = 30, 20, 10, 0  # ACL priorities: higher is checked first
ALWAYS_DENIED = ("$CONTROL/#", "$SYS/#")


def password_entry(password: str, iterations: int = ITERATIONS) -> dict[str, Any]:
    """`password`, `salt`, `iterations` as the plugin stores them (PBKDF2-HMAC-SHA512, 64 bytes)."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return {
        "password": base64.b64encode(digest).decode("ascii"),
        "salt": base64.b64encode(salt).decode("ascii"),
        "iterations": iterations,
    }


def _acl(acltype: str, topic: str, allow: bool, priority: int) -> dict[str, Any]:
    return {"acltype": acltype, "topic": topic, "allow": allow, "priority": priority}


def role_acls(policy: AccessPolicy, identity: Identity) -> list[dict[str, Any]]:
    """The ACLs of one identity's role (see the module docstring for the layers)."""
    acls = [_acl("subscribeLiteral", SUBSCRIBE_REFUSED, False, DENY)]
    for pattern in ALWAYS_DENIED:
        acls += [_acl(t, pattern, False, DENY) for t in ("publishClientSend", "subscribePattern")]
    if identity.role in ("admin", "service"):
        return acls + [
            _acl(t, "#", True, GRANT) for t in ("publishClientSend", "publishClientReceive", "subscribePattern")
        ]
    # every unreadable region refuses a SUBSCRIBE (checked once per filter); delivery and publishing
    # deny only what a grant would otherwise let through (the owner-only topics; in open mode the
    # reserved topics under `#`), since the plugin checks those rules on every message
    acls += [_acl("subscribePattern", p, False, DENY) for p in dict.fromkeys(policy.open_space_denies(identity, True))]
    for pattern in dict.fromkeys(policy.open_space_denies(identity)):
        acls += [_acl(t, pattern, False, DENY) for t in ("publishClientSend", "publishClientReceive")]
    rules = policy.rules(identity)
    read = dict.fromkeys([*rules.read, *policy.v1_read_topics(identity)])
    acls += [_acl("publishClientReceive", p, True, GRANT) for p in read]
    acls += [_acl("publishClientSend", p, True, GRANT) for p in dict.fromkeys(rules.write)]
    acls.append(_acl("subscribePattern", "#", True, OPEN))
    if policy.open_mode:
        reserved = ["sz/#"] + ([f"icity/{policy.city}/#"] if policy.v1_devices else [])
        acls += [_acl(t, p, False, RESERVED) for p in reserved for t in ("publishClientSend", "publishClientReceive")]
        acls += [_acl(t, "#", True, OPEN) for t in ("publishClientSend", "publishClientReceive")]
    return acls


def config_json(policy: AccessPolicy) -> str:
    """The plugin's configuration file for a policy: clients, roles, the anonymous group."""
    clients: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    names = [name for name, _, _ in policy.users()]
    passwords = {name: password for name, password, _ in policy.users()}
    passwords[SERVICE_USER] = policy.service_password
    for name in [*names, SERVICE_USER]:
        rolename = f"sz-{name}"
        clients.append({"username": name, **password_entry(passwords[name]), "roles": [{"rolename": rolename}]})
        roles.append({"rolename": rolename, "acls": role_acls(policy, policy.identity_of(name))})
    anonymous = Identity(ANONYMOUS, "anonymous")
    roles.append({"rolename": "sz-anonymous", "acls": role_acls(policy, anonymous)})
    config = {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": clients,
        "groups": [{"groupname": ANONYMOUS_GROUP, "roles": [{"rolename": "sz-anonymous"}], "clients": []}],
        "anonymousGroup": ANONYMOUS_GROUP,
        "roles": roles,
    }
    return json.dumps(config, indent=1)
