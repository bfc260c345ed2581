"""Protocol endpoints (MQTT, Modbus TCP): the only package that imports paho, amqtt and pymodbus."""
