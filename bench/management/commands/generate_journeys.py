"""`manage.py generate_journeys`: write a development or test journey file for the recall
benchmark, made by `bench.journeys` from a seed and a phrase family."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench.journeys import FAMILIES, generate_journeys, write_journeys


class Command(BaseCommand):
    help = "Generate customer journeys (JSON Lines) for the recall benchmark."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=40, help="how many journeys")
        parser.add_argument("--seed", type=int, default=7, help="same seed, same file")
        parser.add_argument(
            "--family",
            choices=FAMILIES,
            default="dev",
            help="phrase family: dev (tuning allowed), heldout, heldout2 or heldout3 (held out)",
        )
        parser.add_argument(
            "--out", type=Path, help="file to write (default var/journeys-<family>.jsonl)"
        )
        parser.add_argument(
            "--strangers",
            type=int,
            default=0,
            help="also this many people quoting another journey's reference (leak checks)",
        )
        parser.add_argument(
            "--new-phones",
            type=int,
            default=0,
            help="also this many known customers texting from a new number with name and key",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["count"] < 1:
            raise CommandError("--count must be at least 1")
        family = options["family"]
        out = options["out"] or Path(f"var/journeys-{family}.jsonl")
        self.stderr.write(
            f"generating {options['count']} journeys with seed {options['seed']}"
            f" ({family} phrasings)..."
        )
        journeys = generate_journeys(
            count=options["count"],
            seed=options["seed"],
            family=family,
            strangers=options["strangers"],
            new_phones=options["new_phones"],
        )
        write_journeys(out, journeys)
        self.stderr.write(f"wrote {out}")
        for line in summary_lines(journeys):
            self.stdout.write(line)


def summary_lines(journeys: list[dict[str, Any]]) -> list[str]:
    """Counts a reader needs to judge a file's mix: sizes, tags, identity cases, domains."""
    events = sum(len(j["events"]) for j in journeys)
    probes = [p for j in journeys for p in j["probes"]]
    tags = Counter(tag for j in journeys for tag in j["tags"])
    cases = Counter(j["identity_case"] for j in journeys)
    domains = Counter(j["domain"] for j in journeys)
    channels = Counter(e["channel"] for j in journeys for e in j["events"])
    sentiments = Counter(p.get("sentiment", "-") for p in probes)
    needs = sum(len(p["needs"]) for p in probes)
    stale = sum(len(p["stale"]) for p in probes)

    def counts(counter: Counter[str]) -> str:
        return ", ".join(f"{name} {n}" for name, n in sorted(counter.items()))

    return [
        f"journeys: {len(journeys)}  events: {events}  probes: {len(probes)}  "
        f"needs: {needs}  stale: {stale}",
        f"identity cases: {counts(cases)}",
        f"tags: {counts(tags)}",
        f"domains: {counts(domains)}",
        f"channels: {counts(channels)}",
        f"probe sentiment: {counts(sentiments)}",
    ]
