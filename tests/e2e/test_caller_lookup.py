"""The caller-lookup flow on a real Asterisk, with a real CRM: an HTTP server in this process
answering GET /customers?number=N (on 127.0.0.1:8099, where the flow looks). The caller's number
is set by originating with `callerId`."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import (
    Call,
    Runner,
    ari,
    flow_copy,
    lines_of,
    place_call,
    probing,
    serving,
    transitions,
    wait_until,
)
from test_local_channel import Probe

TOKEN = "demo-token"  # the flow's Authorization: Bearer value
VIP, KNOWN, UNKNOWN, SLOW = "100", "200", "404", "300"  # caller numbers, each answered its way
DOWN = "caller-lookup-down"  # a copy whose CRM is a port nobody listens on


@dataclass
class Crm:
    """What the CRM received: (path, Authorization header) per request."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    summaries: list[tuple[str, Any]] = field(default_factory=list)  # POST /calls: (auth, body)

    def numbers(self) -> list[str]:
        return [parse_qs(urlsplit(path).query)["number"][0] for path, _ in self.requests]


def crm_handler(crm: Crm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            crm.requests.append((self.path, self.headers.get("Authorization", "")))
            number = parse_qs(urlsplit(self.path).query).get("number", [""])[0]
            if number == SLOW:
                time.sleep(3)  # longer than the flow's 2 s timeout
            if urlsplit(self.path).path != "/customers" or number == UNKNOWN:
                self.answer(404, {"error": "not found"})
            elif number == KNOWN:
                self.answer(200, {"name": "Grace", "tier": "gold"})
            else:
                self.answer(200, {"name": "Ada", "tier": "vip"})

        def do_POST(self) -> None:
            """The flow's after_call summary."""
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            crm.summaries.append((self.headers.get("Authorization", ""), body))
            self.answer(201 if self.path == "/calls" else 404, {"ok": True})

        def answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the flow gave up waiting (the slow case) and closed the connection

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def crm() -> Iterator[Crm]:
    crm = Crm()
    server = ThreadingHTTPServer(("127.0.0.1", 8099), crm_handler(crm))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield crm
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def lookup(asterisk: None, crm: Crm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    directory = tmp_path_factory.mktemp("caller-lookup")
    changes = {"crm: http://127.0.0.1:8099": f"crm: http://127.0.0.1:{closed_port()}"}
    down = flow_copy(directory, "caller-lookup", DOWN, changes)
    with serving(directory / "serve.log", "flows/caller-lookup.yaml", down) as runner:
        yield runner
    assert TOKEN not in runner.text()


@pytest.fixture
def probe(lookup: Runner, crm: Crm) -> Iterator[Probe]:
    crm.requests.clear()
    with probing(lookup) as probe:
        yield probe
    assert TOKEN not in lookup.text()


def routed(runner: Runner, call: Call, timeout: float = 5) -> list[str]:
    """Wait until the flow continued in the dialplan; its transitions."""
    wait_until(lambda: "route -> ended" in transitions(runner, call.name), timeout, "the route")
    return transitions(runner, call.name)


def tier_in_the_dialplan(call: Call) -> str:
    """CUSTOMER_TIER on the flow's channel, now at extension 2000 of from-trunk; then hang up."""
    channel = ari("GET", f"channels/{call.flow}")
    assert (channel["dialplan"]["context"], channel["dialplan"]["exten"]) == ("from-trunk", "2000")
    tier = ari("GET", f"channels/{call.flow}/variable", variable="CUSTOMER_TIER")["value"]
    ari("DELETE", f"channels/{call.phone}")
    return str(tier)


def seconds_between(first: dict[str, Any], then: dict[str, Any]) -> float:
    def seconds(line: dict[str, Any]) -> float:
        hours, minutes, rest = line["time"][11:].split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(rest)

    return seconds(then) - seconds(first)


def test_a_vip_is_looked_up_with_the_token_and_continues_as_vip(
    lookup: Runner, crm: Crm, probe: Probe
) -> None:
    call = place_call("caller-lookup", probe, callerId=VIP)
    assert routed(lookup, call) == [
        "(start) -> lookup",
        "lookup -> vip",
        "vip -> route",
        "route -> ended",
    ]
    assert tier_in_the_dialplan(call) == "vip"
    (start,) = lines_of(lookup, call.name, kind="start")
    assert start["caller"] == VIP  # caller.number, from the originate's callerId
    assert crm.requests == [(f"/customers?number={VIP}", f"Bearer {TOKEN}")]
    http = lines_of(lookup, call.name, kind="action", action="http")[0]  # then the summary
    assert http["status"] == 200


def test_after_the_call_its_summary_reaches_the_crm(lookup: Runner, crm: Crm, probe: Probe) -> None:
    crm.summaries.clear()
    call = place_call("caller-lookup", probe, callerId=VIP)
    routed(lookup, call)  # it left the app for the dialplan: for the flow, the call is over
    wait_until(lambda: crm.summaries, 10, "the after-call summary")
    tier_in_the_dialplan(call)  # and hang it up
    ((auth, summary),) = crm.summaries
    assert auth == f"Bearer {TOKEN}"
    assert summary == {
        "number": VIP,
        "tier": "vip",
        "last_state": "route",
        "end_reason": "flow ended it",  # it continued in the dialplan
        "seconds": summary["seconds"],
    }
    assert isinstance(summary["seconds"], float)
    assert 0 < summary["seconds"] < 30
    done = f"{call.name} after the call: done in "
    wait_until(lambda: any(m.startswith(done) for m in lookup.messages()), 5, "the end of it")


def test_a_known_customer_continues_as_customer(lookup: Runner, crm: Crm, probe: Probe) -> None:
    call = place_call("caller-lookup", probe, callerId=KNOWN)
    assert routed(lookup, call) == [
        "(start) -> lookup",
        "lookup -> known",
        "known -> route",
        "route -> ended",
    ]
    assert tier_in_the_dialplan(call) == "customer"
    assert crm.numbers() == [KNOWN]


def test_a_number_the_crm_does_not_know_is_a_prospect(
    lookup: Runner, crm: Crm, probe: Probe
) -> None:
    call = place_call("caller-lookup", probe, callerId=UNKNOWN)
    assert routed(lookup, call) == [
        "(start) -> lookup",
        "lookup -> unknown",
        "unknown -> route",
        "route -> ended",
    ]
    assert tier_in_the_dialplan(call) == "prospect"
    assert crm.numbers() == [UNKNOWN]
    http = lines_of(lookup, call.name, kind="action", action="http")[0]  # then the summary
    assert http["status"] == 404


def test_a_crm_that_cannot_be_reached_makes_a_prospect(
    lookup: Runner, crm: Crm, probe: Probe
) -> None:
    call = place_call(DOWN, probe, callerId=VIP)
    assert routed(lookup, call) == [
        "(start) -> lookup",
        "lookup -> unknown",
        "unknown -> route",
        "route -> ended",
    ]
    assert tier_in_the_dialplan(call) == "prospect"
    assert crm.requests == []
    http = lines_of(lookup, call.name, kind="action", action="http")[0]  # then the summary
    assert "connection failed" in http["message"]


def test_a_slow_crm_times_out_after_2s_and_makes_a_prospect(
    lookup: Runner, crm: Crm, probe: Probe
) -> None:
    call = place_call("caller-lookup", probe, callerId=SLOW)
    assert routed(lookup, call) == [
        "(start) -> lookup",
        "lookup -> unknown",
        "unknown -> route",
        "route -> ended",
    ]
    (start,) = lines_of(lookup, call.name, kind="transition", target="lookup")
    (unknown,) = lines_of(lookup, call.name, kind="transition", target="unknown")
    assert unknown["reason"] == "http timed out"
    assert 1.9 < seconds_between(start, unknown) < 5  # not waiting for the CRM's answer
    assert tier_in_the_dialplan(call) == "prospect"
    assert crm.numbers() == [SLOW]


@pytest.mark.parametrize(
    "caller_id",
    ['"Eve" <200&number=999>', "<200#x>", "+441234567890"],
    ids=["ampersand", "hash", "plus"],
)
def test_a_caller_number_reaches_the_crm_as_one_value_whatever_it_holds(
    lookup: Runner, crm: Crm, probe: Probe, caller_id: str
) -> None:
    # caller ID is set by whoever places the call: in the URL it must stay one query value
    number = caller_id.rsplit("<", 1)[-1].rstrip(">")
    call = place_call("caller-lookup", probe, callerId=caller_id)
    routed(lookup, call)
    ((path, _),) = crm.requests
    assert parse_qs(urlsplit(path).query) == {"number": [number]}
    ari("DELETE", f"channels/{call.phone}")
