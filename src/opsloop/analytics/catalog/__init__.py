"""The metric catalog (semantic layer): metrics declared once, in YAML shipped with the package
(`builtin/`) or by a workspace (stored in the operational store), and evaluated by the `metrics`
query for DuckDB and ClickHouse alike."""
