"""The journal's fan-out: every record reaches every journal that reads its kind, each with
fields of its own; and the records nobody reads, which the engine does not build."""

from __future__ import annotations

import logging
from typing import Any

from fakes import FakeTransport, Journal, Rig

from flowrunner.engine.journal import Fanout, event_fields, masked, recorded, step_params
from flowrunner.engine.machine import CompiledFlow
from flowrunner.engine.runtime import Runtime
from flowrunner.logs import LogJournal
from flowrunner.ports import Event
from flowrunner.sim.clock import VirtualClock


class Popping:
    """Like the log journal, which pops `level` from the fields it is given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str, dict[str, Any]]] = []

    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        fields.pop("level", None)
        self.seen.append((channel, kind, message, fields))

    def wants(self, kind: str, level: str) -> bool:
        return True


def test_every_journal_gets_every_record_with_all_its_fields() -> None:
    first, second = Popping(), Popping()
    Fanout(first, second).record("SIP/1", "end", "ended", level="warning", by="caller")
    assert first.seen == [("SIP/1", "end", "ended", {"by": "caller"})]
    assert second.seen == first.seen


def test_an_event_s_fields_keep_nested_objects_by_what_identifies_them() -> None:
    event = Event.from_ari(
        {
            "type": "PlaybackFinished",
            "application": "menu",
            "asterisk_id": "aa:bb",
            "timestamp": "2026-12-02T13:52:53.852+0000",
            "playback": {"id": "p1", "state": "done", "media_uri": "sound:hi", "language": "en"},
        }
    )
    assert event is not None
    assert event_fields(event) == {
        "timestamp": "2026-12-02T13:52:53.852+0000",
        "playback": {"id": "p1", "state": "done", "media_uri": "sound:hi"},
    }


def test_a_hidden_key_and_the_call_s_secrets_are_masked() -> None:
    key = Event.from_ari({"type": "ChannelDtmfReceived", "digit": "7"})
    varset = Event.from_ari({"type": "ChannelVarset", "variable": "PIN", "value": "x9731x"})
    assert key is not None
    assert varset is not None
    assert event_fields(key, hide=True) == {"digit": "***"}
    assert event_fields(varset, secrets=["9731"]) == {"variable": "PIN", "value": "x***x"}
    assert recorded(key, True, [])["digit"] == "***"
    assert recorded(varset, False, ["9731"])["value"] == "x***x"
    assert recorded(key, False, []) is key.fields  # nothing to mask: the frame itself


def test_masked_leaves_values_without_secrets_as_they_are() -> None:
    assert masked({"n": 1}, ["9731"]) == {"n": 1}
    assert masked({"pin": "9731"}, ["9731"]) == '{"pin":"***"}'
    assert masked(9731, ["9731"]) == "***"
    assert masked("9731", []) == "9731"


def test_step_parameters_never_show_headers_bodies_queries_or_credentials() -> None:
    params = {
        "url": "https://user:pw@crm.test/who?key=s3cret",
        "headers": {"Authorization": "Bearer t0k3n"},
        "body": {"pin": "9731"},
        "into": "reply",
        "media": "sound:9731",
    }
    assert step_params(params, ["9731"]) == {
        "url": "https://crm.test/who",
        "headers": "(not shown)",
        "body": "(not shown)",
        "into": "reply",
        "media": "sound:***",
    }


class Reading(Popping):
    """A journal that reads only some kinds of record."""

    def __init__(self, *kinds: str) -> None:
        super().__init__()
        self.kinds = kinds

    def wants(self, kind: str, level: str) -> bool:
        return kind in self.kinds


def test_the_fanout_hands_each_record_only_to_the_journals_that_read_its_kind() -> None:
    ends, everything = Reading("end"), Popping()
    fanout = Fanout(ends, everything)
    fanout.record("SIP/1", "event", "event StasisStart")
    fanout.record("SIP/1", "end", "ended", by="caller")
    assert [kind for _, kind, _, _ in ends.seen] == ["end"]
    assert [kind for _, kind, _, _ in everything.seen] == ["event", "end"]
    assert fanout.wants("event", "info")
    assert not Fanout(ends).wants("event", "info")


def test_the_log_journal_wants_what_the_log_level_shows() -> None:
    calls_log = logging.getLogger("flowrunner.calls")
    before = calls_log.level
    try:
        calls_log.setLevel(logging.WARNING)
        assert not LogJournal().wants("event", "info")
        assert LogJournal().wants("action", "warning")
        calls_log.setLevel(logging.DEBUG)
        assert LogJournal().wants("step", "debug")
    finally:
        calls_log.setLevel(before)


def test_a_call_runs_the_same_when_nobody_reads_its_events_steps_or_transitions(
    channel_state: CompiledFlow,
) -> None:
    """The engine skips building the records nobody reads (at --log-level warning, most of
    them): the call must not change, and what is read must still come."""
    transport, clock, journal = (
        FakeTransport(),
        VirtualClock(),
        Journal(reads=frozenset({"start", "end"})),
    )
    rig = Rig(Runtime([channel_state], transport, clock, journal), transport, clock, journal)
    rig.reference_call()
    assert rig.actions() == [
        "POST channels/c1/ring",
        "POST channels/c1/answer",
        "POST channels/c1/silence",
        "DELETE channels/c1",
    ]
    assert journal.kinds("PJSIP/c1") == ["start", "end"]
    assert journal.records[-1][3]["reason"] == "flow finished"
