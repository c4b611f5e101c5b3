"""The only part of flowrunner that talks to Asterisk: the events WebSocket and REST transports."""
