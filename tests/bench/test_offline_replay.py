"""The quick offline replay used while tuning: the real entities agent and context rendering,
replaced values masked as the gate masks them."""

from __future__ import annotations

from bench.recall.offline import replay
from bench.recall.runner import Journey, Probe


def _journey(*bodies: str, needs: tuple[str, ...], stale: tuple[str, ...]) -> Journey:
    events = tuple(
        {
            "t": f"2026-05-01T09:0{index}:00Z",
            "channel": "sms",
            "from": "+15550001111",
            "to": "+15550000100",
            "body": body,
        }
        for index, body in enumerate(bodies)
    )
    return Journey(
        journey_id="t1",
        private=(),
        profiles=(),
        events=events,
        probes=(Probe(after=len(bodies) - 1, needs=needs, stale=stale, sentiment=None),),
    )


def test_a_replaced_plan_is_masked_and_the_new_one_is_current():
    journey = _journey(
        "We're on the Basic Saver plan right now.",
        "we moved across to family max this week",
        needs=("Family Max",),
        stale=("Basic Saver",),
    )

    score = replay([journey])

    assert (score.found, score.asked) == (1, 1)
    assert score.shown == 0, score.failures


def test_a_value_never_replaced_is_counted_as_shown_when_it_is_stale():
    journey = _journey(
        "Please send it to 12 Oak Street, Springfield.",
        "thanks!",
        needs=("12 Oak Street",),
        stale=("12 Oak Street",),
    )

    score = replay([journey])

    assert score.shown == 1 and score.failures
