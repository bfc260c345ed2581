"""The MQTT endpoint: broker backends (broker/) and the bridge that puts the simulation on them.

Bridge modules: topics (names), payloads and documents (what is sent), publisher (gateway
connections fed by a bounded queue), commands (cmd -> engine -> cmd/ack), bridge (wiring),
service (the `smartzone run` options), asyncapi (the generated AsyncAPI 3.0 document).
"""
