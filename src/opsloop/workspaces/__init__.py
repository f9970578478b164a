"""Workspaces: one product's data, its ingest key and its API tokens."""
