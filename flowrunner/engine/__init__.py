"""The engine: machines built from flows, one per call, driven by one dispatcher thread."""
