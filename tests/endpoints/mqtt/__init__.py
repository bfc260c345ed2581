"""MQTT endpoint tests: broker backends, access control, bridge."""
