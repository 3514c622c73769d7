"""Workflow definitions: models, YAML/JSON/Python I/O and validation. Imports nothing above it."""
