"""flowrunner: telephone call flows written as YAML state machines, run on Asterisk via ARI."""

__version__ = "0.1.0"
