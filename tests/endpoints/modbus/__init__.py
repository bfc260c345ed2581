"""Modbus TCP endpoint tests: real gateways on 127.0.0.1, pymodbus client and mbpoll."""
