"""The gate: what a backend cannot do for itself (docs/architecture.md, "The MQTT access layer").

connect.py judges each CONNECT once (credentials, per-user client ids, protocol violations);
front.py owns the public port and splices admitted connections to the backend's private
socket, framing an app's packets on the way in (size cap, violations, denial counts, quotas;
relay.py: a refused filter replaced for mosquitto) and copying the broker's bytes back;
handover.py gives an admitted socket to the embedded broker's process.
"""
