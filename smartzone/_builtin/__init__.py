"""Shipped data: `devices`, `scenarios` and `courses` link to the top-level folders (copied into the wheel)."""
