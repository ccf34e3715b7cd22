"""Hand-offs across channels, measured: after a customer switches channel, did the party that
should answer (people, for a customer handed off and not released; else the route of what they
were in the middle of) answer the first turn on the new channel? And the escalation model on a
held-out set written apart from its training set, with a sanity read on public airline tweets.

Scenarios go in as signed Twilio and SendGrid webhooks through the real views, services and
pipeline (tasks inline), in a scratch database. Their wording is written here, for this bench.
"""

from __future__ import annotations

import csv
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connections
from django.test import override_settings
from django.utils import timezone

from bench.escalation_held_out import HELD_OUT
from bench.recall.rapport import RapportSystem, benchmark_settings
from channels_app.simulator.journeys import Event
from config.celery import app as celery_app
from memory.models import Channel, ChannelSwitch, Conversation, Message
from memory.services import customer_create
from memory.services.handoffs import conversation_release
from orchestrator.intelligence.escalation import NEITHER, escalation_model, escalation_read
from orchestrator.models import IntentRoute, PipelineRun

Progress = Callable[[str], None]
PEOPLE = "people"
SHOP_NUMBER = "+15550009000"
SHOP_EMAIL = "help@shop.example"
AIRLINE_TEST = Path(__file__).resolve().parents[2] / "shared/data/airline_sentiment/test.csv"


@dataclass(frozen=True)
class Turn:
    channel: str
    words: str


@dataclass(frozen=True)
class SwitchScenario:
    """Turns on one channel, then the first turn on another, and who should answer it:
    PEOPLE, or the intent whose route answers (the topic carried over, or a new one)."""

    name: str
    before: tuple[Turn, ...]
    after: Turn
    expected: str
    released_before_switch: bool = False


SCENARIOS: tuple[SwitchScenario, ...] = (
    SwitchScenario(
        "rebooking by text, then a call confirming it",
        (Turn("sms", "I need to move my booking to Wednesday afternoon"),),
        Turn("voice", "yes that's why I'm ringing"),
        "appointment_change",
    ),
    SwitchScenario(
        "rebooking by text, then an e-mail saying yes",
        (Turn("sms", "could I shift my appointment to later in the week"),),
        Turn("email", "Yes please."),
        "appointment_change",
    ),
    SwitchScenario(
        "address change by call, then a text confirming",
        (Turn("voice", "I'd like to update the address you deliver to"),),
        Turn("sms", "yep"),
        "address_change",
    ),
    SwitchScenario(
        "asked for a person by text, then calls",
        (Turn("sms", "can an actual member of your staff phone me please"),),
        Turn("voice", "hello I'm calling about my account"),
        PEOPLE,
    ),
    SwitchScenario(
        "asked for a person by text, then e-mails",
        (Turn("sms", "I'd really rather speak with a human about this"),),
        Turn("email", "Following up on my text message from earlier today."),
        PEOPLE,
    ),
    SwitchScenario(
        "furious by e-mail, then texts",
        (Turn("email", "Third missed delivery in a row. I am livid, this is a total shambles."),),
        Turn("sms", "any news?"),
        PEOPLE,
    ),
    SwitchScenario(
        "asked for a supervisor on a call, then e-mails",
        (Turn("voice", "put me through to a supervisor please"),),
        Turn("email", "Hello, I called earlier, just checking someone has my details."),
        PEOPLE,
    ),
    SwitchScenario(
        "billing dispute routed to people, then texts",
        (Turn("email", "There are two identical charges for one order on my card."),),
        Turn("sms", "did you get my email"),
        PEOPLE,
    ),
    SwitchScenario(
        "opening hours by text, then a call about a password",
        (Turn("sms", "what time do you open on sunday"),),
        Turn("voice", "I can't log in, how do I reset my password"),
        "account_access",
    ),
    SwitchScenario(
        "order by e-mail, then a text with a new question",
        (Turn("email", "Where is my parcel? It was due yesterday."),),
        Turn("sms", "also what are your opening hours on saturday"),
        "opening_hours",
    ),
    SwitchScenario(
        "handed off by text and released, then calls to rebook",
        (Turn("sms", "please get a person to call me"),),
        Turn("voice", "I want to reschedule my appointment"),
        "appointment_change",
        released_before_switch=True,
    ),
    SwitchScenario(
        "pause by call, then an e-mail agreeing",
        (Turn("voice", "can I put my membership on hold for a month"),),
        Turn("email", "Yes, that's right."),
        "pause",
    ),
)


@dataclass
class SwitchOutcome:
    scenario: str
    expected: str
    answered_by: str
    summary_before_answer: bool

    @property
    def right(self) -> bool:
        return self.answered_by == self.expected


@dataclass
class HandoverReport:
    outcomes: list[SwitchOutcome] = field(default_factory=list)
    escalation: dict[str, Any] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        right = sum(o.right for o in self.outcomes)
        summarised = sum(o.summary_before_answer for o in self.outcomes)
        return {
            "re_delegation": {"right": right, "journeys": len(self.outcomes)},
            "summary_before_first_answer": {"made": summarised, "journeys": len(self.outcomes)},
            "journeys": [vars(o) | {"right": o.right} for o in self.outcomes],
            "escalation": self.escalation,
        }

    def table(self) -> str:
        lines = ["journey | should answer | answered | summary first", "--- | --- | --- | ---"]
        lines += [
            f"{o.scenario} | {o.expected} | {o.answered_by}{'' if o.right else ' (miss)'}"
            f" | {'yes' if o.summary_before_answer else 'no'}"
            for o in self.outcomes
        ]
        figures = self.figures()
        lines.append(
            f"re-delegation after a channel switch: {figures['re_delegation']['right']} of"
            f" {figures['re_delegation']['journeys']} journeys; handover summary before the"
            f" first answer: {figures['summary_before_first_answer']['made']} of"
            f" {figures['summary_before_first_answer']['journeys']}"
        )
        for name, value in self.escalation.items():
            lines.append(f"escalation {name}: {value}")
        return "\n".join(lines)


# Replaying the switches ---------------------------------------------------------------------


def switches_replay(progress: Progress) -> list[SwitchOutcome]:
    """Each scenario for a customer of its own, through the webhooks; who answered after."""
    IntentRoute.objects.update_or_create(
        intent="billing_dispute", defaults={"target": IntentRoute.Target.HUMAN, "enabled": True}
    )
    system = RapportSystem()
    outcomes = []
    for number, scenario in enumerate(SCENARIOS):
        phone = f"+1555001{number:04d}"
        email = f"switch{number}-{uuid.uuid4().hex[:6]}@customers.example"
        customer = customer_create(
            display_name=f"Customer {number}",
            identities=[("phone", phone), ("email", email)],
            source="bench",
        )
        for index, turn in enumerate(scenario.before):
            _send(system, scenario, index, turn, phone=phone, email=email)
        if scenario.released_before_switch:
            for conversation in Conversation.objects.filter(customer=customer):
                conversation_release(conversation=conversation, released_by="user:bench")
        last = Message.objects.filter(customer=customer).order_by("-pk").values("pk").first()
        _send(system, scenario, len(scenario.before), scenario.after, phone=phone, email=email)
        outcome = _outcome(scenario, customer_id=customer.pk, after_pk=last["pk"] if last else 0)
        progress(f"{scenario.name}: {outcome.answered_by} ({'right' if outcome.right else 'miss'})")
        outcomes.append(outcome)
    return outcomes


def _send(
    system: RapportSystem,
    scenario: SwitchScenario,
    index: int,
    turn: Turn,
    *,
    phone: str,
    email: str,
) -> None:
    on_email = turn.channel == Channel.EMAIL
    system.sender.send(
        Event(
            journey_id=scenario.name,
            index=index,
            at=timezone.now(),
            channel=turn.channel,
            sender=email if on_email else phone,
            recipient=SHOP_EMAIL if on_email else SHOP_NUMBER,
            body="" if turn.channel == Channel.VOICE else turn.words,
            subject="my account" if on_email else "",
            speech=turn.words if turn.channel == Channel.VOICE else "",
        )
    )


def _outcome(scenario: SwitchScenario, *, customer_id: int, after_pk: int) -> SwitchOutcome:
    """Who answered the first turn on the new channel, and whether the switch's summary was
    written before anything answered there."""
    conversation = (
        Conversation.objects.filter(customer_id=customer_id, channel=scenario.after.channel)
        .order_by("-pk")
        .first()
    )
    if conversation is None:
        return SwitchOutcome(scenario.name, scenario.expected, "nothing stored", False)
    switch = ChannelSwitch.objects.filter(to_conversation=conversation).first()
    first_answer = (
        Message.objects.filter(conversation=conversation, direction=Message.Direction.OUTBOUND)
        .order_by("created_at", "pk")
        .first()
    )
    summarised = switch is not None and (
        first_answer is None or switch.created_at <= first_answer.created_at
    )
    inbound = (
        Message.objects.filter(
            conversation=conversation, direction=Message.Direction.INBOUND, pk__gt=after_pk
        )
        .order_by("pk")
        .first()
    )
    run = PipelineRun.objects.filter(inbound_message=inbound).first() if inbound else None
    if run is None:
        # A call put through at its greeting never runs the pipeline.
        held = conversation.mode in Conversation.HUMAN_MODES
        return SwitchOutcome(
            scenario.name, scenario.expected, PEOPLE if held else "no answer", summarised
        )
    route = (run.decision or {}).get("route")
    if route in ("with_person", "hand_off"):
        answered = PEOPLE
    else:
        answered = str((run.decision or {}).get("intent") or "")
    return SwitchOutcome(scenario.name, scenario.expected, answered, summarised)


# The escalation model ----------------------------------------------------------------------


def escalation_figures(*, airline: Path = AIRLINE_TEST) -> dict[str, Any]:
    """Held-out accuracy of the escalation model (its own set, never trained on), and how it
    reads public airline tweets: negative ones should often escalate, positive ones rarely,
    and tweets asking for a person or for customer service should read as wanting one."""
    model = escalation_model()
    right = wanted = caught = flagged = flagged_right = 0
    for text, label in HELD_OUT:
        reading = escalation_read(text, model=model)
        right += reading.label == label
        if label != NEITHER:
            wanted += 1
            caught += reading.escalate
        if reading.escalate:
            flagged += 1
            flagged_right += label != NEITHER
    figures: dict[str, Any] = {
        "held_out_examples": len(HELD_OUT),
        "held_out_accuracy": round(right / len(HELD_OUT), 3),
        "held_out_escalation_recall": round(caught / wanted, 3) if wanted else None,
        "held_out_escalation_precision": round(flagged_right / flagged, 3) if flagged else None,
    }
    if airline.exists():
        figures.update(_airline_read(airline, model=model))
    return figures


def _airline_read(path: Path, *, model: Any) -> dict[str, Any]:
    counts = {"negative": [0, 0], "positive": [0, 0], "asks": [0, 0]}
    asks = ("speak to", "talk to", "customer service", "a human", "a person", "call me")
    with path.open(encoding="utf-8", newline="") as rows:
        for row in csv.DictReader(rows):
            text, label = row["text"], row["sentiment"]
            reading = escalation_read(text, model=model)
            if label in counts:
                counts[label][0] += 1
                counts[label][1] += reading.escalate
            if any(phrase in text.casefold() for phrase in asks):
                counts["asks"][0] += 1
                counts["asks"][1] += reading.label != NEITHER
    return {
        f"airline_{name}_escalated": f"{hit} of {total}"
        + (f" ({hit / total:.1%})" if total else "")
        for name, (total, hit) in counts.items()
    }


# The run --------------------------------------------------------------------------------------


@contextmanager
def _replay_settings() -> Iterator[None]:
    eager_before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    logging.disable(logging.INFO)
    try:
        with override_settings(
            **benchmark_settings(),
            HUMAN_HANDOFF_NUMBER="+15550009999",
            VOICE_REPLY_DEADLINE_SECONDS=30,
        ):
            yield
    finally:
        celery_app.conf.task_always_eager = eager_before
        logging.disable(logging.NOTSET)
        connections.close_all()


def handover_run(*, progress: Progress, journeys: bool = True) -> HandoverReport:
    """The escalation figures, and (with `journeys`) the switch scenarios replayed in the
    database Django is pointed at (the command points it at a scratch one)."""
    report = HandoverReport(escalation=escalation_figures())
    if journeys:
        with _replay_settings():
            report.outcomes = switches_replay(progress)
    return report
