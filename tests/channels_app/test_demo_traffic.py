"""The demo's traffic keeps flowing: an hour of customers on every channel, played back spread
over minutes with its own rhythm (not a burst), each later round new customers."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import call_command

from channels_app.simulator.journeys import demo_journeys, events_merged, events_schedule
from memory.demo import DEMO_CUSTOMERS


def test_the_demo_hour_is_spread_over_the_time_asked_with_no_long_silence():
    events = events_merged(demo_journeys())
    schedule = events_schedule(events, over=360)

    assert len(events) >= 20
    assert {e.channel for e in events} == {"sms", "voice", "email"}
    assert schedule[0] == 0 and schedule[-1] == pytest.approx(360)
    assert schedule == sorted(schedule)
    gaps = [later - earlier for earlier, later in zip(schedule, schedule[1:], strict=False)]
    assert max(gaps) < 30, "no half-minute without traffic"
    assert sum(1 for at in schedule if at > 180) >= len(events) // 3, "still busy late on"


def test_each_round_is_new_customers_apart_from_the_seeded_ones():
    seeded = {c.phone for c in DEMO_CUSTOMERS} | {c.email for c in DEMO_CUSTOMERS}
    rounds = [{e.sender for e in events_merged(demo_journeys(n))} for n in range(3)]

    assert not rounds[0] & rounds[1] and not rounds[1] & rounds[2]
    assert not any(senders & seeded for senders in rounds)


def test_a_steady_rate_and_as_fast_as_it_goes_still_work():
    events = events_merged(demo_journeys())
    assert events_schedule(events, rate=2)[:3] == [0.0, 0.5, 1.0]
    assert set(events_schedule(events)) == {0.0}


def test_simulate_paces_the_demo_and_says_what_each_customer_sent():
    # Nobody listens on the discard port: every send fails at once, so the time taken is the
    # pacing alone (the webhooks themselves are tested in test_simulator).
    out = StringIO()
    started = time.perf_counter()

    call_command("simulate", demo=True, url="http://127.0.0.1:9", over=3, rounds=2, stdout=out)

    elapsed = time.perf_counter() - started
    log = out.getvalue()
    assert elapsed >= 6, "two rounds of three seconds each"
    assert "Round 1:" in log and "Round 2:" in log
    events = len(events_merged(demo_journeys()))
    lines = [line for line in log.splitlines() if line.startswith("  ") and "s " in line]
    assert sum(" demo-" in line for line in lines) == 2 * events
    assert "demo-rosa: the blender" in log and "demo-rosa-1: the blender" in log
    assert "(rejected)" in log and "accepted 0," in log
