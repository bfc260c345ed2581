"""Tests of the endpoints (real servers on 127.0.0.1, real clients)."""
