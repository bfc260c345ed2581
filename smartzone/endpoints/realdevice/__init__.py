"""Real devices that join the simulated city (scenario `bridged_devices`, docs/owners.md).

- mapping.py: vendor JSON <-> the contract (JMESPath field paths, scale, offset, value maps)
- link.py: what every link shares: reaching and losing the device, readings and answers as inputs
- modbus_link.py: a Modbus TCP device polled on its own thread (pymodbus client)
- mqtt_link.py: MQTT devices on SmartZone's ingest topics or on their owner's broker (paho)
- service.py: the service of a run, started by smartzone/wiring.py
"""
