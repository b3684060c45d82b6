"""Throttle, message window and byte budget, driven by a hand-moved clock."""

from __future__ import annotations

import pytest

from nbstream.throttle import ByteBudget, MessageWindow, Throttle


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
