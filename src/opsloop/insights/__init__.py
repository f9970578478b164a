"""Saved insights (a named analysis query, private or shared) and dashboards (an ordered grid of
insights), stored in the operational store; REST under /api/v1 and console pages."""
