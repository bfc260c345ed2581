"""The gate: what a backend cannot do for itself (docs/architecture.md, "The MQTT access layer").

connect.py judges each CONNECT once (credentials, per-user client ids, protocol violations);
front.py owns the public port and splices admitted connections to the backend's private
socket, framing a client's bytes only when the backend needs it or an observer watches;
handover.py gives an admitted socket to the embedded broker's process.
"""
