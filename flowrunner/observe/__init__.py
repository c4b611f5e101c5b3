"""Watching calls from outside the engine: per-call traces, recordings (and metrics)."""
