"""Materialized event properties: which hot properties get columns of their own, by hand or by
how often queries read them (the mechanism is events/materialized.py)."""
