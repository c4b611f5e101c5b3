"""The flow language's vocabulary in one place, and the JSON Schema of flow files made from it.

The actions come from the steps (`flowrunner/steps/`, one `ActionSpec` each: parameters,
outcomes, durations); the events are ARI's and the engine's, listed here with the filter each
transition may use. `flow_schema()` builds the schema that validates flow files; the copy in
`schemas/flow.schema.json` (for editors) is checked in CI to be the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from ..steps import ACTIONS, ActionSpec
from ..steps.base import Schema

SCHEMA_ID = "https://github.com/flowrunner/flowrunner/schemas/flow.schema.json"
PIECE_SCHEMA_ID = "https://github.com/flowrunner/flowrunner/schemas/flow-piece.schema.json"

# Filters a transition may name, by kind: the transition's schema definition and its filter key.
FILTERS: Mapping[str, tuple[str, str, Schema]] = {
    "": ("transition", "", {}),
    "state": (
        "stateChangeTransition",
        "state",
        {
            "enum": [
                "Down",
                "Rsrved",
                "OffHook",
                "Dialing",
                "Ring",
                "Ringing",
                "Up",
                "Busy",
                "Dialing Offhook",
                "Pre-ring",
                "Unknown",
            ],
            "description": "Only when the channel enters this state.",
        },
    ),
    "digit": (
        "dtmfTransition",
        "digit",
        {"type": "string", "pattern": "^[0-9A-D*#]$", "description": "Only this DTMF digit."},
    ),
    "variable": (
        "varsetTransition",
        "variable",
        {"type": "string", "minLength": 1, "description": "Only for this channel variable."},
    ),
    "eventname": (
        "usereventTransition",
        "eventname",
        {"type": "string", "minLength": 1, "description": "Only for this user event name."},
    ),
    "action": (
        "actionFailedTransition",
        "action",
        {"$ref": "#/$defs/actionName", "description": "Only when this action failed."},
    ),
    "limit": (
        "limitReachedTransition",
        "limit",
        {"enum": ["max_steps", "max_visits"], "description": "Only for this guard."},
    ),
}

# ARI's events a flow can react to, and the engine's own (ActionFailed, LimitReached): name ->
# (filter kind, meaning). The steps add their outcomes (DigitsCollected …).
ARI_EVENTS: Mapping[str, tuple[str, str]] = {
    "StasisEnd": ("", "The channel left the app (hung up, or continued in the dialplan)."),
    "ChannelStateChange": ("state", "The channel's state changed (filter: state)."),
    "ChannelDtmfReceived": ("digit", "The caller pressed a key (filter: digit)."),
    "ChannelHangupRequest": ("", "A hangup was requested for the channel."),
    "ChannelVarset": ("variable", "A channel variable was set (filter: variable)."),
    "ChannelHold": ("", "The caller put the call on hold."),
    "ChannelUnhold": ("", "The caller took the call off hold."),
    "ChannelTalkingStarted": (
        "",
        "The caller started talking (after set_variable TALK_DETECT(set)).",
    ),
    "ChannelTalkingFinished": ("", "The caller stopped talking."),
    "ChannelCallerId": ("", "The caller ID changed."),
    "ChannelConnectedLine": ("", "The connected line changed."),
    "ChannelDialplan": ("", "The channel's dialplan location changed."),
    "ChannelEnteredBridge": ("", "The channel entered a bridge."),
    "ChannelLeftBridge": ("", "The channel left a bridge."),
    "ChannelUserevent": (
        "eventname",
        "A UserEvent was raised on the channel (filter: eventname).",
    ),
    "ChannelDestroyed": ("", "The channel was destroyed."),
    "ChannelToneDetected": ("", "A tone was detected on the channel."),
    "PlaybackStarted": ("", "A playback of this state started."),
    "PlaybackContinuing": ("", "A playback of this state moved to its next media."),
    "PlaybackFinished": ("", "A playback of this state finished."),
    "RecordingStarted": ("", "A recording started."),
    "RecordingFinished": ("", "A recording finished."),
    "RecordingFailed": ("", "A recording failed."),
    "ActionFailed": (
        "action",
        "An action failed (4xx/5xx other than 404, or no answer in 10 s) or an outcome was not "
        "handled (filter: action).",
    ),
}
LIMIT_REACHED = (
    "limit",
    "A loop guard tripped: max_steps or a state's max_visits (filter: limit).",
)


@cache
def events() -> dict[str, tuple[str, str]]:
    """Every event a transition may name: ARI's, the steps' outcomes and events, LimitReached."""
    found = dict(ARI_EVENTS)
    for spec in ACTIONS.values():
        found |= {event: ("", meaning) for event, meaning in spec.outcomes.items()}
        found |= {event: ("", meaning) for event, meaning in spec.events.items()}
    return found | {"LimitReached": LIMIT_REACHED}


@cache
def outcomes() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Action -> (the outcome that means it worked, the others): a state running the action must
    handle the first; the others, unhandled, are the action failing."""
    return {
        name: (spec.success, tuple(spec.outcomes)[1:])
        for name, spec in ACTIONS.items()
        if spec.outcomes
    }


@cache
def outcome_of() -> dict[str, str]:
    """Outcome event -> the action that raises it."""
    return {event: name for name, spec in ACTIONS.items() for event in spec.outcomes}


def spec_of(action: str) -> ActionSpec:
    return ACTIONS[action]


# -- the schema -----------------------------------------------------------------------------


@cache
def flow_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of flow files."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "flowrunner call flow",
        "description": "A call flow: a state machine started for every channel that enters the "
        "Stasis app.",
        "type": "object",
        "required": ["version", "app", "initial", "states"],
        "additionalProperties": False,
        "properties": _top_level(),
        "$defs": _definitions(),
    }


@cache
def piece_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of pieces: states several flows use (`uses:`)."""
    flow = _top_level()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": PIECE_SCHEMA_ID,
        "title": "flowrunner flow piece",
        "description": "States kept in a file of their own, used by several flows with "
        "parameters; they leave through named exits that each use maps to its own states.",
        "type": "object",
        "required": ["piece", "initial", "exits", "states"],
        "additionalProperties": False,
        "properties": {
            "piece": {"const": 1, "description": "Piece format version."},
            "description": {"type": "string"},
            "params": {
                "type": "object",
                "maxProperties": 50,
                "propertyNames": {"$ref": "#/$defs/varName"},
                "description": "Parameters and their defaults; a use gives them under `with`. "
                "They are variables of the call once the piece is entered.",
            },
            "required": {
                "type": "array",
                "maxItems": 50,
                "items": {"$ref": "#/$defs/varName"},
                "description": "Parameters every use must give.",
            },
            "exits": {
                "type": "array",
                "minItems": 1,
                "maxItems": 20,
                "uniqueItems": True,
                "items": {"$ref": "#/$defs/stateName"},
                "description": "Where the piece leaves to: a transition may name an exit as "
                "its target; each use maps every exit to one of its flow's states.",
            },
            "initial": flow["initial"],
            "vars": {
                **flow["vars"],
                "description": "The piece's variables, set to these values each time the "
                "piece is entered.",
            },
            "states": flow["states"],
        },
        "$defs": _definitions(),
    }


def _top_level() -> dict[str, Schema]:
    return {
        "version": {"const": 1, "description": "Flow format version."},
        "app": {
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$",
            "description": "The Stasis application name; calls enter with Stasis(app) in the "
            "dialplan.",
        },
        "description": {"type": "string"},
        "initial": {"$ref": "#/$defs/stateName", "description": "The state each call starts in."},
        "vars": {
            "type": "object",
            "maxProperties": 200,
            "propertyNames": {"$ref": "#/$defs/varName"},
            "description": "Flow variables and their starting values, "
            "e.g. {attempts: 0, vips: ['100']}.",
        },
        "on": {
            "$ref": "#/$defs/events",
            "description": "Transitions that apply in every non-final state (a state's own "
            "transition for the same event wins).",
        },
        "states": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 500,
            "propertyNames": {"$ref": "#/$defs/stateName"},
            "additionalProperties": {"$ref": "#/$defs/state"},
        },
        "timezone": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": "The time zone of `now` and of the schedules in `hours`, an IANA "
            "name such as Europe/Paris. Default UTC.",
        },
        "hours": {
            "type": "object",
            "maxProperties": 50,
            "propertyNames": {"$ref": "#/$defs/stateName"},
            "additionalProperties": {"$ref": "#/$defs/schedule"},
            "description": "Opening hours by name: `hours.NAME` in an expression is true while "
            "the schedule is open.",
        },
        "uses": {
            "type": "object",
            "maxProperties": 50,
            "propertyNames": {"$ref": "#/$defs/stateName"},
            "additionalProperties": {"$ref": "#/$defs/use"},
            "description": "Pieces this flow uses, by name: `goto: NAME` enters one.",
        },
        "after_call": {
            "type": "object",
            "required": ["do"],
            "additionalProperties": False,
            "description": "Actions run once the caller has gone (hung up, or the flow ended), "
            "with the call's final variables: web requests and variables only.",
            "properties": {
                "do": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 20,
                    "items": {"$ref": "#/$defs/afterCallAction"},
                },
                "within": {
                    **{"$ref": "#/$defs/duration"},
                    "description": "How long they may take in all (at most 5m); default 10s.",
                },
            },
        },
        "recovery": {
            "type": "object",
            "required": ["goto"],
            "additionalProperties": False,
            "properties": {"goto": {"$ref": "#/$defs/goto"}},
            "description": "Where a call starts over that a runner finds in its app with "
            "nothing kept of it (its state was lost); without it, such a call is hung up.",
        },
        "limits": {
            "type": "object",
            "additionalProperties": False,
            "description": "Guards against flows that loop forever.",
            "properties": {
                "max_steps": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 100000,
                    "description": "Most state changes one call may make; past it the call is "
                    "hung up as an error. Default 1000.",
                }
            },
        },
    }


def _definitions() -> dict[str, Schema]:
    return {
        "stateName": {
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]{0,63}$",
            "description": "A state name: lower case letters, digits and _, starting with a "
            "letter.",
        },
        "varName": {
            "type": "string",
            "pattern": "^[a-z_][a-z0-9_]{0,63}$",
            "not": {"enum": ["caller", "call", "event", "now", "hours"]},
            "description": "A variable name: lower case letters, digits and _; not caller, "
            "call, event, now or hours (those hold call data).",
        },
        "duration": {
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$",
            "description": "A duration: a number and a unit, e.g. 500ms, 2s, 1.5s, 1m, 1h.",
        },
        "goto": {"$ref": "#/$defs/stateName", "description": "The state to go to."},
        "when": {
            "type": "string",
            "minLength": 1,
            "maxLength": 2000,
            "description": "A guard: the transition is taken only when this expression is "
            "true, e.g. choice == '1' and caller.number in vips.",
        },
        "state": _state(),
        "use": {
            "type": "object",
            "required": ["piece", "exits"],
            "additionalProperties": False,
            "properties": {
                "piece": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 500,
                    "description": "The piece's file, relative to this flow's folder.",
                },
                "with": {
                    "type": "object",
                    "maxProperties": 50,
                    "propertyNames": {"$ref": "#/$defs/varName"},
                    "description": "The piece's parameters; templates allowed.",
                },
                "exits": {
                    "type": "object",
                    "maxProperties": 20,
                    "propertyNames": {"$ref": "#/$defs/stateName"},
                    "additionalProperties": {"$ref": "#/$defs/stateName"},
                    "description": "Each of the piece's exits -> the state of this flow it "
                    "leads to.",
                },
            },
        },
        "schedule": _schedule(),
        "timeRanges": {
            "anyOf": [
                {"type": "string", "minLength": 1, "maxLength": 200},
                {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 24,
                    "items": {"type": "string", "minLength": 1, "maxLength": 20},
                },
            ],
            "description": "Times of day, earliest first: 09:00-12:30, 13:30-17:30 (24:00 is "
            "the end of the day).",
        },
        "events": _events(),
        **_transitions(),
        "actionName": {"enum": sorted(ACTIONS)},
        "action": _action(),
        "afterCallAction": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": False,
            "properties": {
                name: {"$ref": f"#/$defs/actions/{name}"}
                for name, spec in ACTIONS.items()
                if spec.after_call
            },
            "description": "An action that needs no channel: "
            + ", ".join(name for name, spec in ACTIONS.items() if spec.after_call)
            + ".",
        },
        "actions": {name: _action_schema(spec) for name, spec in ACTIONS.items()},
    }


def _state() -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "description": {"type": "string"},
            "do": {
                "type": "array",
                "maxItems": 100,
                "items": {"$ref": "#/$defs/action"},
                "description": "Actions run in order on entering the state.",
            },
            "on": {"$ref": "#/$defs/events"},
            "then": {
                **_one_or_more({"$ref": "#/$defs/transition"}),
                "description": "Where to go once the state's actions are done (answered, "
                "played, set …), with no event: a state, or transitions with guards tried in "
                "order, the last one without a guard.",
            },
            "after": {
                "type": "object",
                "maxProperties": 20,
                "propertyNames": {"$ref": "#/$defs/duration"},
                "additionalProperties": _one_or_more({"$ref": "#/$defs/transition"}),
                "description": "Timers: after this long in the state, go to that state (or to "
                "the first transition whose guard holds). Started on entering, cancelled on "
                "leaving.",
            },
            "max_visits": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100000,
                "description": "Most times one call may enter this state; one more raises "
                "LimitReached (limit max_visits).",
            },
            "final": {"type": "boolean", "description": "The call's flow ends here."},
        },
    }


def _one_or_more(transition: Schema) -> Schema:
    """A state name, one transition, or a list of them."""
    return {
        "anyOf": [
            {"$ref": "#/$defs/stateName"},
            transition,
            {"type": "array", "minItems": 1, "maxItems": 50, "items": transition},
        ]
    }


def _schedule() -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["week"],
        "properties": {
            "description": {"type": "string"},
            "timezone": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "The schedule's time zone; default the flow's `timezone`.",
            },
            "week": {
                "type": "object",
                "maxProperties": 14,
                "propertyNames": {"type": "string", "minLength": 1, "maxLength": 60},
                "additionalProperties": {"$ref": "#/$defs/timeRanges"},
                "description": "Opening times by day: mon, mon-fri, sat, sun. A day not "
                "given is closed.",
            },
            "closed": {
                "type": "array",
                "maxItems": 1000,
                "items": {"type": "string", "minLength": 1, "maxLength": 20},
                "description": "Dates closed all day (holidays), YYYY-MM-DD.",
            },
            "dates": {
                "type": "object",
                "maxProperties": 1000,
                "propertyNames": {"type": "string", "minLength": 1, "maxLength": 20},
                "additionalProperties": {"$ref": "#/$defs/timeRanges"},
                "description": "Dates with hours of their own instead of their weekday's: "
                "{2026-12-24: 09:00-12:00}.",
            },
        },
    }


def _events() -> Schema:
    properties = {}
    for event, (kind, meaning) in events().items():
        ref = {"$ref": f"#/$defs/{FILTERS[kind][0]}"}
        properties[event] = {**_one_or_more(ref), "description": meaning}
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "ARI event name (as written in ARI), or ActionFailed -> where to go. "
        "Several transitions for one event are tried in order; the first whose filters match "
        "wins.",
        "properties": properties,
    }


def _transitions() -> dict[str, Schema]:
    found = {}
    for definition, key, schema in FILTERS.values():
        properties: dict[str, Schema] = {
            "goto": {"$ref": "#/$defs/goto"},
            "when": {"$ref": "#/$defs/when"},
        }
        if key:
            properties[key] = schema
        found[definition] = {
            "type": "object",
            "required": ["goto"],
            "additionalProperties": False,
            "properties": properties,
            "description": "A transition with filters: taken when they match."
            if key
            else "A transition: where to go, and when.",
        }
    return found


def _action() -> Schema:
    return {
        "description": "An action: its name, or a mapping of its name to its parameters.",
        "anyOf": [
            {"$ref": "#/$defs/actionName"},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": False,
                "properties": {name: {"$ref": f"#/$defs/actions/{name}"} for name in ACTIONS},
                "description": "One action with its parameters, e.g. "
                "{play: {media: sound:hello-world}}.",
            },
        ],
    }


def _action_schema(spec: ActionSpec) -> Schema:
    schema: Schema = {"description": spec.description}
    if spec.route:
        schema["x-ari"] = {"method": spec.route[0], "path": spec.route[1]}
        if spec.not_found:
            schema["x-ari"]["not_found"] = spec.not_found
    if spec.schema is not None:
        return schema | spec.schema
    schema["type"] = ["object", "null"] if spec.nullable else "object"
    schema["properties"] = dict(spec.params)
    schema["additionalProperties"] = False
    if spec.required:
        schema["required"] = list(spec.required)
    return schema
