"""The pieces that keep a web exchange to its deadline: one answer per exchange, the watchdog
that gives it at the deadline, and the per-host shares that keep one host from every worker."""

from __future__ import annotations

import time
from collections.abc import Callable

from flowrunner.ports import Response, WebRequest
from flowrunner.web.client import _HostShares
from flowrunner.web.deadlines import GRACE, Exchange, Watchdog

NOT_SENT = Response(0, error="timed out before it was sent")
TIMED_OUT = Response(0, error="timed out")


def exchange(timeout: float = 5.0) -> tuple[Exchange, list[Response]]:
    answers: list[Response] = []
    return Exchange(WebRequest("GET", "http://crm.test/", timeout=timeout), answers.append), answers


def test_the_first_answer_is_the_only_one() -> None:
    ex, answers = exchange()
    ex.answer(Response(200, {"a": 1}))
    ex.expire()
    ex.answer(Response(500))
    assert answers == [Response(200, {"a": 1})]
    assert not ex.start()  # nor is it sent after


def test_expiring_says_whether_the_request_had_been_sent() -> None:
    queued, queued_answers = exchange()
    queued.expire()
    sent, sent_answers = exchange()
    assert sent.start()
    sent.expire()
    assert (queued_answers, sent_answers) == ([NOT_SENT], [TIMED_OUT])


def test_one_past_its_timeout_when_a_worker_takes_it_is_not_sent() -> None:
    ex, answers = exchange(timeout=0.01)
    time.sleep(0.02)
    assert not ex.start()
    assert answers == []  # not yet: at the deadline, once the engine's own timer has fired
    ex.expire()
    assert answers == [NOT_SENT]


def test_the_deadline_is_the_timeout_and_a_grace() -> None:
    before = time.monotonic()
    ex, _ = exchange(timeout=2.0)
    assert before + 2.0 <= ex.send_by <= time.monotonic() + 2.0
    assert ex.deadline == ex.send_by + GRACE


def test_a_timeout_that_is_no_positive_number_is_due_at_once() -> None:
    for timeout in (0.0, -1.0, float("nan")):
        ex, _ = exchange(timeout)
        assert not ex.start()
        assert ex.deadline <= time.monotonic() + GRACE


def test_the_watchdog_expires_each_at_its_deadline_then_stops_by_itself() -> None:
    watchdog = Watchdog()
    late, late_answers = exchange(timeout=0.3)
    soon, soon_answers = exchange(timeout=0.05)
    done, done_answers = exchange(timeout=0.1)
    for ex in (late, soon, done):
        watchdog.watch(ex)  # `soon` comes after `late`: the watchdog wakes up earlier for it
    done.answer(Response(204))
    _wait_until(lambda: bool(soon_answers))
    assert (soon_answers, late_answers) == ([NOT_SENT], [])
    _wait_until(lambda: bool(late_answers))
    assert late_answers == [NOT_SENT]
    assert done_answers == [Response(204)]
    _wait_until(lambda: not watchdog.active)
    watchdog.watch(exchange(timeout=0.01)[0])  # and starts again when needed
    assert watchdog.active


def test_a_host_has_its_share_and_the_others_wait_in_order() -> None:
    shares = _HostShares(limit=2)
    first, second, third, fourth = (exchange()[0] for _ in range(4))
    assert shares.take("a:80", first)
    assert shares.take("a:80", second)
    assert not shares.take("a:80", third)  # waits, holding no worker
    assert not shares.take("a:80", fourth)
    assert shares.take("b:80", exchange()[0])  # another host has a share of its own
    assert shares.hand_on("a:80") is third  # first is done: third takes its slot
    assert shares.hand_on("a:80") is fourth
    assert shares.hand_on("a:80") is None  # the slot is given back
    assert shares.hand_on("a:80") is None
    assert shares.take("a:80", exchange()[0])  # both free again
    assert shares.take("a:80", exchange()[0])


def test_one_that_expired_while_waiting_gives_its_turn_away() -> None:
    shares = _HostShares(limit=1)
    running, expired, after = (exchange()[0] for _ in range(3))
    assert shares.take("a:80", running)
    assert not shares.take("a:80", expired)
    assert not shares.take("a:80", after)
    expired.expire()
    assert shares.hand_on("a:80") is after


def test_drain_takes_out_every_exchange_still_waiting() -> None:
    shares = _HostShares(limit=1)
    running, waiting = exchange()[0], exchange()[0]
    assert shares.take("a:80", running)
    assert not shares.take("a:80", waiting)
    assert shares.drain() == [waiting]
    assert shares.hand_on("a:80") is None


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 2
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.005)
