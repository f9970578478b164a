"""Segments: the rule language that picks persons (rules.py), and saved segments (models.py,
service.py) that campaigns, outreach and funnels reference by id."""
