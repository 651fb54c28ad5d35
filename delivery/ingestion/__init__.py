"""Ingest: per-source mapping config, row validation and quarantine (pure transforms)."""
