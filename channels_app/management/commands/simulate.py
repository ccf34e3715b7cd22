"""`manage.py simulate`: replay journeys as signed webhook traffic against a running server,
as fast as asked (`--rate`) or spread over a stretch of time keeping their rhythm (`--over`),
once or in rounds (the demo's later rounds are new customers)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_app.simulator.journeys import (
    Event,
    demo_journeys,
    events_merged,
    events_schedule,
    journeys_load,
)
from channels_app.simulator.traffic import Tally, Target, TrafficSender

# How much of a message a progress line shows.
PREVIEW_CHARS = 60


class Command(BaseCommand):
    help = "Replay a journey file (or the built-in demo) as Twilio and SendGrid webhook traffic."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--journeys", type=Path, help="A journey file (JSON Lines).")
        source.add_argument("--demo", action="store_true", help="Play the built-in demo journeys.")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Server to post to.")
        parser.add_argument(
            "--rate", type=float, default=10.0, help="Events per second; 0 for as fast as it goes."
        )
        parser.add_argument(
            "--over",
            type=float,
            default=0.0,
            help="Spread each round over this many seconds, keeping the journeys' own gaps "
            "(instead of --rate).",
        )
        parser.add_argument(
            "--rounds",
            type=int,
            default=1,
            help="Play it this many times; 0 for until stopped. With --demo, each later "
            "round is new customers.",
        )
        parser.add_argument(
            "--public-url",
            default="",
            help="The URL Twilio would sign (default RAPPORT_PUBLIC_URL, else --url).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["demo"]:
            journeys = demo_journeys()
        else:
            path = Path(options["journeys"])
            if not path.exists():
                raise CommandError(f"no journey file at {path}")
            journeys = journeys_load(path)
        url = options["url"].rstrip("/")
        target = Target(
            url=url,
            public_url=(options["public_url"] or settings.RAPPORT_PUBLIC_URL or url).rstrip("/"),
            twilio_token=settings.TWILIO_AUTH_TOKEN,
            account_sid=settings.TWILIO_ACCOUNT_SID or "AC" + "0" * 32,
            email_user=settings.EMAIL_INBOUND_USER,
            email_password=settings.EMAIL_INBOUND_PASSWORD,
        )
        if not target.twilio_token:
            self.stderr.write("TWILIO_AUTH_TOKEN is not set: the server will refuse Twilio traffic")
        rate: float = options["rate"]
        over: float = options["over"]
        tally = Tally()
        sender = TrafficSender(target, tally)
        started = time.perf_counter()
        played = 0
        rounds = itertools.count() if options["rounds"] <= 0 else range(options["rounds"])
        for round_number in rounds:
            if options["demo"] and round_number:
                journeys = demo_journeys(round_number)
            events = events_merged(journeys)
            pace = f"over {over:g}s" if over > 0 else f"at {rate or 'max'} events/s"
            self.stdout.write(
                f"Round {round_number + 1}: replaying {len(events)} events from "
                f"{len(journeys)} journeys to {url} {pace}"
            )
            self._play(events, sender, tally, rate=rate, over=over, verbose=over > 0)
            played += len(events)
        self._summary(tally, played, time.perf_counter() - started)

    def _play(
        self,
        events: list[Event],
        sender: TrafficSender,
        tally: Tally,
        *,
        rate: float,
        over: float,
        verbose: bool,
    ) -> None:
        """Send one round: each event at its scaled moment (`over`), at a steady rate, or as
        fast as the server answers; progress every tenth, or every event when paced."""
        if not events:
            return
        started = time.perf_counter()
        schedule = events_schedule(events, over=over, rate=rate)
        report_every = max(1, len(events) // 10)
        for n, (event, offset) in enumerate(zip(events, schedule, strict=True), start=1):
            time.sleep(max(0.0, started + offset - time.perf_counter()))
            rejected = tally.rejected
            sender.send(event)
            if verbose:
                words = " ".join((event.body or event.speech or "").split())[:PREVIEW_CHARS]
                outcome = "" if tally.rejected == rejected else "  (rejected)"
                self.stdout.write(
                    f"  {time.perf_counter() - started:6.1f}s {event.channel:5} "
                    f"{event.journey_id}: {words}{outcome}"
                )
            elif n % report_every == 0 or n == len(events):
                self.stdout.write(
                    f"  {n}/{len(events)} events, {tally.sent} requests,"
                    f" {tally.accepted} accepted, {tally.rejected} rejected"
                )

    def _summary(self, tally: Tally, events: int, elapsed: float) -> None:
        rejections = ", ".join(f"{code}: {n}" for code, n in sorted(tally.rejections.items()))
        self.stdout.write(
            f"Done: {events} events in {elapsed:.2f}s\n"
            f"  sent {tally.sent}, accepted {tally.accepted}, rejected {tally.rejected}"
            f" ({rejections or 'none'}), connection errors {tally.errors}\n"
            f"  latency p50 {tally.percentile(50):.1f} ms, p95 {tally.percentile(95):.1f} ms,"
            f" p99 {tally.percentile(99):.1f} ms"
        )
