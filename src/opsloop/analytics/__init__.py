"""The analytics engine: typed queries compiled to SQL for DuckDB or ClickHouse, one API for all
modules (reports, alerts, segments, campaigns) to ask their questions through."""
