"""The simulation model: pure Python and SimPy (no GUI, no protocol library)."""
