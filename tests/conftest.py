"""Fixtures for the tests on fakes: the reference flow, compiled once, and a rig around a
fresh runtime."""

from __future__ import annotations

import pytest
from fakes import REPO, FakeTransport, Journal, Rig

from flowrunner.engine.machine import CompiledFlow, compile_flow
from flowrunner.engine.runtime import Runtime
from flowrunner.flow import load_flow
from flowrunner.sim.clock import VirtualClock


@pytest.fixture(scope="session")
def channel_state() -> CompiledFlow:
    return compile_flow(load_flow(str(REPO / "flows" / "channel-state.yaml")))


@pytest.fixture
def rig(channel_state: CompiledFlow) -> Rig:
    transport, clock, journal = FakeTransport(), VirtualClock(), Journal()
    return Rig(Runtime([channel_state], transport, clock, journal), transport, clock, journal)
