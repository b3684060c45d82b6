"""Throttle, message window and byte budget, driven by a hand-moved clock."""

from __future__ import annotations

import pytest

from nbstream.throttle import ByteBudget, MessageWindow, Pacer, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_throttle_first_is_due_then_once_per_interval() -> None:
    clock = Clock()
    throttle = Throttle(0.05, clock)
    assert throttle.due()
    throttle.fire()
    assert not throttle.due()
    clock.now += 0.049
    assert not throttle.due()
    clock.now += 0.001
    assert throttle.due()
    throttle.fire()
    throttle.reset()
    assert throttle.due()


def test_window_allows_limit_messages_in_any_second() -> None:
    clock = Clock()
    window = MessageWindow(limit=20, window=1.0, clock=clock)
    assert window.room() == 20
    window.spend(15)
    clock.now += 0.5
    window.spend(5)
    assert window.room() == 0
    clock.now += 0.5  # the first 15 are now a full second old
    assert window.room() == 15
    clock.now += 0.5
    assert window.room() == 20


def test_window_can_be_overdrawn_by_forced_sends() -> None:
    clock = Clock()
    window = MessageWindow(limit=3, clock=clock)
    window.spend(5)
    assert window.room() == -2
    with pytest.raises(ValueError):
        MessageWindow(limit=0)


def test_budget_grows_with_received_bytes() -> None:
    budget = ByteBudget(factor=2.0, slack=100)
    assert budget.allows(100)
    assert not budget.allows(101)
    budget.spend(100)
    budget.receive(50)
    assert budget.limit == 200
    assert budget.allows(100)
    assert not budget.allows(101)


def test_pacer_ticks_once_per_interval_and_spreads_live_bytes() -> None:
    clock = Clock()
    pacer = Pacer(clock, interval=0.05, floor=768.0)
    assert pacer.received(10)  # the first chunk is looked at at once
    assert pacer.begin_tick()
    pacer.sent(768, live=True)
    pacer.end_tick()
    assert not pacer.received(10)  # within the interval
    clock.now += 0.051
    assert pacer.received(10)
    assert not pacer.begin_tick()  # 768 live bytes at 768 B/s: paced out for a second
    pacer.end_tick()
    clock.now += 1.0
    assert pacer.received(10) and pacer.begin_tick()


def test_pacer_keeps_window_room_for_the_seals_the_input_rate_brings() -> None:
    clock = Clock()
    pacer = Pacer(clock, max_messages=20, seal_size=1000)
    pacer.received(1)
    clock.now += 1.0
    pacer.budget.receive(4999)  # 5 KB/s in all: five seals due within a second
    assert pacer.fits(11, 100)  # 11 + 4 (final render) + 5 (seals) = 20
    assert not pacer.fits(12, 100)
    assert not pacer.fits(11, 100, reserve=1)  # e.g. one shown piece to empty at the end
    assert not pacer.fits(1, 10**9)  # and never past the byte budget
    pacer.sent(100, live=False)  # a sealed segment: counts in the window, not the budget
    assert pacer.window.room() == 19 and pacer.budget.sent == 0
