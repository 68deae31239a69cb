"""The engine's own timers: the agenda of calls due later, and a desk's lines of retries.

Both replace simpy timers one for one, so what they must keep is simpy's order: a call fires at
the time its own timer would have, to the bit, and calls due at the same time fire in the order
they were set.
"""

from __future__ import annotations

import random

import simpy

from simfunnel.model.desk import Retries
from simfunnel.model.queues import Agenda


def test_calls_fire_at_their_timer_s_time_in_the_order_they_were_set() -> None:
    env = simpy.Environment()
    agenda = Agenda(env)
    fired: list[tuple[float, int]] = []
    rng = random.Random(1)
    delays = [rng.choice([0.5, 3.0, 30.0, 1000.0]) * rng.random() for _ in range(2000)]
    delays += [48.0] * 5  # several at the same time
    expected = []
    for i, delay in enumerate(delays):
        agenda.add(delay, lambda i: fired.append((env.now, i)), i)
        expected.append((env.now + delay, i))
    env.run()
    assert fired == sorted(expected)


def test_a_call_sees_the_clock_its_own_timer_would_have_shown() -> None:
    """Set at 0.1 h for 0.2 h on: simpy's own timer fires at 0.1 + 0.2, which is not 0.3."""
    env = simpy.Environment()
    agenda = Agenda(env)
    seen: list[float] = []
    timer_seen: list[float] = []

    def later() -> simpy.events.ProcessGenerator:
        yield env.timeout(0.1)
        agenda.add(0.2, lambda _: seen.append(env.now), None)
        yield env.timeout(0.2)
        timer_seen.append(env.now)

    env.process(later())
    env.run()
    assert seen == timer_seen == [0.1 + 0.2]


def test_calls_set_while_others_fire_keep_the_order() -> None:
    env = simpy.Environment()
    agenda = Agenda(env)
    fired: list[str] = []

    def first(_: None) -> None:
        fired.append("first")
        agenda.add(0.0, lambda _: fired.append("same time, set later"), None)
        agenda.add(50.0, lambda _: fired.append("two days on"), None)
        agenda.add(1.0, lambda _: fired.append("an hour on"), None)

    agenda.add(10.0, first, None)
    agenda.add(10.0, lambda _: fired.append("second"), None)
    env.run()
    assert fired == ["first", "second", "same time, set later", "an hour on", "two days on"]


def test_an_agenda_call_goes_before_an_ordinary_event_of_the_same_moment() -> None:
    """As a timer set long before would: a rep's shift starting then was set later."""
    env = simpy.Environment()
    agenda = Agenda(env)
    fired: list[str] = []
    agenda.add(100.0, lambda _: fired.append("agenda"), None)

    def rep() -> simpy.events.ProcessGenerator:
        yield env.timeout(50.0)
        yield env.timeout(50.0)
        fired.append("rep")

    env.process(rep())
    env.run()
    assert fired == ["agenda", "rep"]


def test_retries_come_out_in_due_order_across_lines_and_out_of_order_ones_too() -> None:
    retries = Retries(3)
    rng = random.Random(2)
    touches = []
    for seq in range(1, 500):
        line = rng.randrange(3)
        at = seq + 10.0 * line + rng.random()  # each line in order, the lines interleaved
        touches.append((line, (at, seq, seq, 0)))
    touches.append((0, (0.5, 999, 999, 0)))  # set after the others but due first
    touches.append((1, (150.0, 1000, 1000, 0)))  # out of order within its line
    for line, touch in touches:
        retries.add(line, touch)
    out = []
    while retries:
        assert retries.at == retries.heads[0][0]
        out.append(retries.pop())
    assert out == sorted(t for _, t in touches)
    assert retries.at == float("inf")
