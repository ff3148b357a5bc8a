"""The REST API."""

API_PREFIX = "/api/v1"
"""Every REST route is below it (the version of the API)."""
