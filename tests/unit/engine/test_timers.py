from flowrunner.engine.timers import TimerHeap


def test_due_timers_come_out_earliest_first_and_ties_in_order() -> None:
    heap: TimerHeap[str] = TimerHeap()
    for due, name in [(2.0, "b"), (1.0, "a"), (2.0, "c"), (3.0, "d")]:
        heap.schedule(due, name)
    assert heap.next_due() == 1.0
    assert heap.pop_due(0.5) == []
    assert heap.pop_due(2.0) == ["a", "b", "c"]
    assert heap.next_due() == 3.0
    assert len(heap) == 1


def test_an_empty_heap_has_nothing_due() -> None:
    assert TimerHeap[int]().next_due() is None
