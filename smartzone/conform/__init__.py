"""`smartzone conform`: does a device type keep the city's contract (docs/api.md, docs/owners.md)?

units (unit table), sdm (Smart Data Models attribute lists), trial (a simulated day of one
device), rules (the checks, with ids and levels), session (load, trial, judge, write the
reports with certify's report machinery); live, live_rules and live_session do the same for a
scenario's bridged real device observed while the scenario runs (`--device ID`).
"""
