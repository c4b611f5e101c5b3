"""A simulated Asterisk and a virtual clock: the real engine, with no network and no waiting."""
