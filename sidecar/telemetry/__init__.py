"""Logs, metrics and traces. ``setup.py`` alone imports the OpenTelemetry SDK."""
