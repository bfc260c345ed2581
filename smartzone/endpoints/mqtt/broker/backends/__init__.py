"""The broker backends, each enforcing the one AccessPolicy (broker/policy/) in its own way.

embedded.py runs amqtt in a child process (amqtt_process.py) with SmartZone's plugins
(amqtt_support.py); mosquitto.py runs mosquitto with its dynamic-security plugin configured
from the policy (dynsec.py); both sit behind the gate (fronted.py) and are restarted by
supervisor.py. external.py connects to a
broker SmartZone does not manage.
"""
