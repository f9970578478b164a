"""Ingestion: every wire format (native, PostHog, Segment, Sensors) turned into IncomingEvent."""
