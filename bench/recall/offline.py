"""A quick, database-free stand-in for `evaluate recall` while tuning the memory's reading.

Each journey is replayed on its own through the entities agent (the same reading, filing and
replacement code the pipeline runs), its fact writes applied to an in-memory history the way
memory's `fact_assert` keeps one, and the context rendered by the real `ContextPack` with the
replaced values worked out as the gate works them out. Identity, merges, replies and the
other agents are left out: it answers "is the value current, and is the old one masked?" in
seconds instead of the tens of minutes a full replay takes on a busy machine. The full
`evaluate recall` stays the measurement; this is for finding out why.

Usage: python -m bench.recall.offline FILE [--budget 150] [--show N] [--only ID,ID]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class _FactRow:
    key: str
    value: str
    case_reference: str | None
    valid_from: dt.datetime
    valid_until: dt.datetime | None = None
    source: int | None = None


@dataclass
class _Memory:
    facts: list[_FactRow] = field(default_factory=list)
    cases: dict[str, str] = field(default_factory=dict)  # reference -> kind
    turns: list[tuple[dt.datetime, str, str, bool, str]] = field(default_factory=list)
    version: int = 0
    name: str = ""


def _assert_fact(
    memory: _Memory, key: str, value: str, case: str | None, at: dt.datetime, source: int
) -> None:
    current = next(
        (
            f
            for f in memory.facts
            if f.key == key and f.case_reference == case and f.valid_until is None
        ),
        None,
    )
    if current is not None:
        if key == "issue" or current.value.casefold() == value.casefold():
            return
        current.valid_until = at
    memory.facts.append(_FactRow(key, value, case, at, source=source))
    memory.version += 1


def _pack(memory: _Memory, at: dt.datetime) -> Any:
    from memory.actors import Partition
    from memory.context import (
        CaseView,
        ContextPack,
        FactView,
        ProfileView,
        TurnView,
        superseded_values,
    )

    current = [f for f in memory.facts if f.valid_until is None]
    still_true = {f.value.casefold() for f in current} | {r.casefold() for r in memory.cases}
    replaced = [
        f.value
        for f in sorted(memory.facts, key=lambda f: f.valid_from, reverse=True)
        if f.valid_until is not None
        and f.value.casefold() not in still_true
        and (len(f.value.split()) > 1 or not f.key.startswith(("preferred", "avoid")))
    ]
    facts = tuple(
        FactView(
            fact_id=i,
            key=f.key,
            value=f.value,
            confidence=0.9,
            valid_from=f.valid_from,
            asserted_by="agent",
            source_message_id=f.source,
            case_reference=f.case_reference,
        )
        for i, f in enumerate(sorted(current, key=lambda f: f.valid_from, reverse=True))
    )
    cases = tuple(
        CaseView(i, kind, ref, "open", f"{kind.title()} {ref}", at, at)
        for i, (ref, kind) in enumerate(memory.cases.items())
    )
    turns = tuple(
        TurnView(100 + i, 1, channel, "inbound", "customer", text, sent, gist, filler)
        for i, (sent, channel, text, filler, gist) in reversed(list(enumerate(memory.turns)))
    )
    return ContextPack(
        customer_id=1,
        actor_label="offline",
        purpose="offline",
        partitions=frozenset(Partition),
        read_at=at,
        profile=ProfileView(1, memory.name, at),
        open_cases=cases,
        facts=facts,
        turns=turns,
        versions={"business": memory.version},
        superseded=superseded_values(replaced, still_true),
    )


def _ingest(memory: _Memory, event: dict[str, Any]) -> None:
    from channels_app.inbound_email import reply_new_part
    from orchestrator.agents.base import InboundTurn, WriteKind
    from orchestrator.agents.entities import EntitiesAgent

    at = dt.datetime.fromisoformat(event["t"].replace("Z", "+00:00"))
    channel = event["channel"]
    if channel == "voice":
        text = event.get("speech", "")
    elif channel == "email":
        text = reply_new_part(event.get("body", ""))
    else:
        text = event.get("body", "")
    message_id = 100 + len(memory.turns)
    turn = InboundTurn(message_id, 1, 1, channel, text, at)
    outcome = EntitiesAgent().run(pack=_pack(memory, at), turn=turn)
    gist, filler = "", False
    for write in outcome.writes:
        if write.kind == WriteKind.CASE_OPEN:
            memory.cases.setdefault(write.case_reference, write.key)
        elif write.kind == WriteKind.PROFILE and not memory.name:
            memory.name = write.value
        elif write.kind == WriteKind.GIST:
            gist, filler = write.value, bool(write.detail.get("is_filler"))
        elif write.kind == WriteKind.FACT:
            value = write.value or "yes"
            _assert_fact(memory, write.key, value, write.case_reference or None, at, message_id)
        elif write.kind == WriteKind.CASE_STATUS and write.value == "closed":
            refs = list(memory.cases)
            case_id = write.detail.get("case_id")
            if isinstance(case_id, int) and 0 <= case_id < len(refs):
                memory.cases.pop(refs[case_id])
    memory.turns.append((at, channel, text, filler, gist))


@dataclass
class OfflineScore:
    """Counts of one offline replay, and the failing probes written out for a reader."""

    asked: int = 0
    found: int = 0
    listed: int = 0
    shown: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.asked if self.asked else 0.0

    @property
    def stale_rate(self) -> float:
        return self.shown / self.listed if self.listed else 0.0


def replay(journeys: list[Any], *, budget: int = 150) -> OfflineScore:
    """Each journey on its own through the entities agent, scored at its probes."""
    from bench.recall.runner import fold

    score = OfflineScore()
    for journey in journeys:
        memory = _Memory(name=next((p.get("name", "") for p in journey.profiles), ""))
        probes = {p.after: p for p in journey.probes}
        for index, event in enumerate(journey.events):
            _ingest(memory, event)
            probe = probes.get(index)
            if probe is None:
                continue
            at = dt.datetime.fromisoformat(event["t"].replace("Z", "+00:00"))
            text = _pack(memory, at).render_text(word_budget=budget)
            folded = fold(text)
            missed = [n for n in probe.needs if fold(n) not in folded]
            stale = [s for s in probe.stale if fold(s) in folded]
            score.asked += len(probe.needs)
            score.found += len(probe.needs) - len(missed)
            score.listed += len(probe.stale)
            score.shown += len(stale)
            if missed or stale:
                said = "\n".join(
                    f"    {i}: {_said(e)}" for i, e in enumerate(journey.events[: index + 1])
                )
                history = "\n".join(
                    f"    {f.key}={f.value!r}" + (" (replaced)" if f.valid_until else "")
                    for f in memory.facts
                )
                score.failures.append(
                    f"== {journey.journey_id} after {index}: missed {missed} stale {stale}\n"
                    f"{said}\n  facts:\n{history}\n  context:\n    " + text.replace("\n", "\n    ")
                )
    return score


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("journeys", type=Path)
    parser.add_argument("--budget", type=int, default=150)
    parser.add_argument("--show", type=int, default=0, help="print this many failing probes")
    parser.add_argument("--only", default="", help="journey ids, comma-separated")
    args = parser.parse_args(argv)
    import importlib

    import django
    from django.conf import settings

    # The admin is not needed here, and leaving it out keeps this quick check working while
    # someone's admin module is half edited.
    project = importlib.import_module(os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"))
    values = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    values["INSTALLED_APPS"] = [a for a in values["INSTALLED_APPS"] if a != "django.contrib.admin"]
    settings.configure(**values)
    django.setup()
    from bench.recall.runner import load_journeys

    journeys = load_journeys(args.journeys)
    if args.only:
        wanted = set(args.only.split(","))
        journeys = [j for j in journeys if j.journey_id in wanted]
    score = replay(journeys, budget=args.budget)
    for failure in score.failures[: args.show]:
        print(failure)
    print(
        f"{args.journeys.name}: {len(journeys)} journeys, recall {score.recall:.3f}"
        f" ({score.found}/{score.asked}), stale {score.stale_rate:.3f}"
        f" ({score.shown}/{score.listed}), failing probes {len(score.failures)}",
        file=sys.stderr,
    )


def _said(event: dict[str, Any]) -> str:
    text = event.get("speech") or event.get("body") or ""
    return f"[{event['channel']}] " + " ".join(text.split())[:300]


if __name__ == "__main__":
    main()
