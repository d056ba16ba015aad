"""Shiny for Python dashboards on the clickstream warehouse (read-only, rollups only)."""
