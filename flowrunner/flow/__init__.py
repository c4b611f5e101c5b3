"""The flow language: YAML files -> validated, typed `Flow` models. Pure: no I/O but reading."""

from .errors import FlowError, Problem
from .loader import load_flow
from .model import Action, Flow, State, Timer, Transition

__all__ = ["Action", "Flow", "FlowError", "Problem", "State", "Timer", "Transition", "load_flow"]
