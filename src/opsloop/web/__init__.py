"""The HTTP doors: REST API, ingestion endpoints and the console."""
