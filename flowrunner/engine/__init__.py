"""The engine: one machine per call, driven by the runtime on one thread; steps run actions."""
