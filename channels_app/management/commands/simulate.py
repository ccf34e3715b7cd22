"""`manage.py simulate`: replay journeys as signed webhook traffic against a running server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_app.simulator.journeys import DEMO_JOURNEYS, events_merged, journeys_load
from channels_app.simulator.traffic import Tally, Target, TrafficSender


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
            "--public-url",
            default="",
            help="The URL Twilio would sign (default RAPPORT_PUBLIC_URL, else --url).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["demo"]:
            journeys = DEMO_JOURNEYS
        else:
            path = Path(options["journeys"])
            if not path.exists():
                raise CommandError(f"no journey file at {path}")
            journeys = journeys_load(path)
        events = events_merged(journeys)
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
        tally = Tally()
        sender = TrafficSender(target, tally)
        self.stdout.write(
            f"Replaying {len(events)} events from {len(journeys)} journeys to {url}"
            f" at {rate or 'max'} events/s"
        )
        started = time.perf_counter()
        report_every = max(1, len(events) // 10)
        for n, event in enumerate(events, start=1):
            if rate > 0:
                due = started + (n - 1) / rate
                time.sleep(max(0.0, due - time.perf_counter()))
            sender.send(event)
            if n % report_every == 0 or n == len(events):
                self.stdout.write(
                    f"  {n}/{len(events)} events, {tally.sent} requests,"
                    f" {tally.accepted} accepted, {tally.rejected} rejected"
                )
        elapsed = time.perf_counter() - started
        self._summary(tally, len(events), elapsed)

    def _summary(self, tally: Tally, events: int, elapsed: float) -> None:
        rejections = ", ".join(f"{code}: {n}" for code, n in sorted(tally.rejections.items()))
        self.stdout.write(
            f"Done: {events} events in {elapsed:.2f}s\n"
            f"  sent {tally.sent}, accepted {tally.accepted}, rejected {tally.rejected}"
            f" ({rejections or 'none'}), connection errors {tally.errors}\n"
            f"  latency p50 {tally.percentile(50):.1f} ms, p95 {tally.percentile(95):.1f} ms,"
            f" p99 {tally.percentile(99):.1f} ms"
        )
