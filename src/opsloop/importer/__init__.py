"""Bulk loading of historical events from CSV, JSON Lines and Parquet."""
