"""Incidents: the canonical schema, reading and validating logs (CSV, XLSX, VERIS JSON), counts,
growth, trend and durations."""
