"""Authored data: YAML loading, schemas, located errors."""
