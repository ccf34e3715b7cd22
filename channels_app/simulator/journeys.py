"""Reading journey files (shared/spec/journeys.md) into one time-ordered stream of events,
and the built-in demo journeys that `simulate --demo` plays.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Event:
    """One inbound contact: what a customer sent on a channel, and when."""

    journey_id: str
    index: int
    at: dt.datetime
    channel: str
    sender: str
    recipient: str
    body: str = ""
    subject: str = ""
    speech: str = ""


def journeys_load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def events_merged(journeys: list[dict[str, Any]]) -> list[Event]:
    """All journeys' events as one stream, ordered by time (ties keep file order)."""
    events = [
        Event(
            journey_id=str(journey.get("id", n)),
            index=i,
            at=dt.datetime.fromisoformat(raw["t"].replace("Z", "+00:00")),
            channel=raw["channel"],
            sender=raw["from"],
            recipient=raw["to"],
            body=raw.get("body", ""),
            subject=raw.get("subject", ""),
            speech=raw.get("speech", ""),
        )
        for n, journey in enumerate(journeys)
        for i, raw in enumerate(journey.get("events", []))
    ]
    # sorted() is stable, so events at the same instant stay in file order.
    return sorted(events, key=lambda event: event.at)


DEMO_JOURNEYS: list[dict[str, Any]] = [
    {
        "id": "demo-ana",
        "events": [
            {
                "t": "2026-11-24T09:00:00Z",
                "channel": "sms",
                "from": "+14155550101",
                "to": "+14155550000",
                "body": "Hi, order 88123 arrived with a cracked screen",
            },
            {
                "t": "2026-11-24T09:20:00Z",
                "channel": "email",
                "from": "ana@example.com",
                "to": "support@shop.example",
                "subject": "Cracked screen, order 88123",
                "body": "Photos attached. Please ship the new one to 9 Elm St.\n\nThanks,\nAna",
            },
            {
                "t": "2026-11-24T10:05:00Z",
                "channel": "voice",
                "from": "+14155550101",
                "to": "+14155550000",
                "speech": "hi I'm calling about the replacement for my phone",
            },
        ],
    },
    {
        "id": "demo-theo",
        "events": [
            {
                "t": "2026-11-24T09:05:00Z",
                "channel": "sms",
                "from": "+14155550202",
                "to": "+14155550000",
                "body": "membership GYM-8812, can I freeze it? broke my ankle",
            },
            {
                "t": "2026-11-24T09:45:00Z",
                "channel": "sms",
                "from": "+14155550202",
                "to": "+14155550000",
                "body": "can I talk to a human please",
            },
        ],
    },
    {
        "id": "demo-priya",
        "events": [
            {
                "t": "2026-11-24T09:10:00Z",
                "channel": "email",
                "from": "priya@example.com",
                "to": "quotes@movers.example",
                "subject": "Move MV-30417",
                "body": "Confirming move MV-30417 on Dec 20. There is a piano on the second floor."
                "\n\nRegards,\nPriya",
            },
            {
                "t": "2026-11-24T11:00:00Z",
                "channel": "email",
                "from": "priya@example.com",
                "to": "quotes@movers.example",
                "subject": "Re: Move MV-30417",
                "body": "We also added a sofa bed.",
            },
            {
                "t": "2026-11-24T11:30:00Z",
                "channel": "voice",
                "from": "+14155550303",
                "to": "+14155550000",
                "speech": "I need to speak to someone about my move",
            },
        ],
    },
]
