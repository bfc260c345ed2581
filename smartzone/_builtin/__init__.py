"""Shipped data: `devices` and `scenarios` link to the top-level folders (copied into the wheel)."""
