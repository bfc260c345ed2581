"""The environment an app under test gets: the contract's names, and the deprecated aliases."""

from __future__ import annotations

from smartzone.certify.app_process import app_environment


def test_the_contract_names_and_the_deprecated_aliases() -> None:
    env = app_environment(
        host="127.0.0.1", port=40211, user="demo-app", password="pw", city="bologna",
        read=["comune", "acme"], command=["comune"], gateways=[("city", "127.0.0.1", 40301)], speed=60.0,
    )  # fmt: skip
    assert env["SZ_URL"] == "mqtt://127.0.0.1:40211"
    assert (env["SZ_USER"], env["SZ_PASSWORD"], env["SZ_CITY"]) == ("demo-app", "pw", "bologna")
    assert env["SZ_MODBUS_GATEWAYS"] == "127.0.0.1:40301" and env["SZ_MODBUS_GATEWAY_IDS"] == "city"
    assert (env["SZ_MQTT_URL"], env["SZ_MQTT_USER"], env["SZ_MQTT_PASSWORD"]) == (env["SZ_URL"], "demo-app", "pw")
    assert env["SZ_MQTT_CLIENT_ID"].startswith("demo-app-")


def test_without_mqtt_there_is_no_url() -> None:
    env = app_environment(
        host=None, port=None, user="demo-app", password="pw", city="bologna",
        read=[], command=[], gateways=[], speed=1.0,
    )  # fmt: skip
    assert "SZ_URL" not in env and "SZ_MQTT_URL" not in env and env["SZ_USER"] == "demo-app"
