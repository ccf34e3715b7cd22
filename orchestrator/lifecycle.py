"""The conversation lifecycle: active, inactive after a quiet period, closed after a longer one
(per channel, in settings). Going quiet writes the conversation's summary and reconciles what
it taught into facts, so memory never waits for a person to close a ticket.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from memory import selectors
from memory.actors import AgentActor, Partition
from memory.events import ConversationStatus, publish
from memory.models import Conversation, Fact, Message
from memory.redaction import Redactor
from memory.selectors import context_read
from memory.selectors.summaries import conversation_value_changes
from memory.services import conversation_go_quiet, fact_assert
from orchestrator.agents.entities import stated_facts
from orchestrator.models import PipelineRun

if TYPE_CHECKING:
    from memory.context import ContextPack

# Reconciling statements into facts reads what the customer said in clear (an address, a
# phone they gave), so the summariser holds `pii` as the entities agent does; its reads are
# audited as such, and the words it works from are only those the gate handed it.
SUMMARIZER = AgentActor(
    name="summarizer",
    scopes=frozenset({Partition.MESSAGES, Partition.BUSINESS, Partition.EMOTION, Partition.PII}),
)
SUMMARY_TURNS = 200


def conversations_due(*, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(conversation id, new status) for each conversation due to go inactive or close."""
    return selectors.conversations_due(now=now or timezone.now())


@dataclass(frozen=True)
class Reconciled:
    """What a conversation taught, against what was known before it started."""

    new: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    confirmed: tuple[str, ...] = ()
    contradicted: tuple[str, ...] = ()
    conflicts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "new": list(self.new),
            "updated": list(self.updated),
            "confirmed": list(self.confirmed),
            "contradicted": list(self.contradicted),
            "conflicts": self.conflicts,
        }


@dataclass(frozen=True)
class WrapUp:
    conversation: Conversation
    status: str
    summary: str
    reconciled: Reconciled = field(default_factory=Reconciled)


def conversation_wrap_up(*, conversation_id: int, status: str) -> WrapUp:
    """Summarise the conversation, reconcile its statements into facts, and mark it
    inactive or closed (safe to repeat: a summarised closed conversation stays as it was; one
    closed without a summary, a call ended by its status callback, gets its summary)."""
    conversation = selectors.conversation_find(conversation_id=conversation_id)
    if conversation is None:
        raise Conversation.DoesNotExist(f"conversation #{conversation_id}")
    if conversation.status == Conversation.Status.CLOSED and conversation.summarized_at:
        return WrapUp(
            conversation=conversation, status=conversation.status, summary=conversation.summary
        )
    if conversation.status == Conversation.Status.CLOSED:
        status = Conversation.Status.CLOSED
    pack = context_read(
        actor=SUMMARIZER,
        customer=conversation.customer_id,
        partitions=SUMMARIZER.scopes,
        purpose=f"summarise {conversation.channel} conversation #{conversation.pk} going {status}",
        correlation_id=f"conversation:{conversation.pk}",
        recent_turns=SUMMARY_TURNS,
    )
    reconciled = _facts_reconcile(conversation=conversation, pack=pack)
    summary = _summary(conversation=conversation, pack=pack, reconciled=reconciled)
    quiet = conversation_go_quiet(
        conversation=conversation,
        status=status,
        summary=summary,
        metadata={"reconciled": reconciled.to_json()},
    )
    # The live event reaches every console watching, agents without `pii` among them: it
    # carries the summary masked; the stored one is masked on the way out by each reader.
    publish(
        ConversationStatus(
            conversation_id=quiet.pk, status=quiet.status, summary=Redactor().text(summary)
        )
    )
    return WrapUp(conversation=quiet, status=quiet.status, summary=summary, reconciled=reconciled)


def _facts_reconcile(*, conversation: Conversation, pack: ContextPack) -> Reconciled:
    """State again, in order, what the customer said in this conversation, and sort each key
    by what was current when the conversation started: new, updated, confirmed, or
    contradicted (a newer value, stated elsewhere since, stands).

    The words are the turns the gate handed over in this read, and only in clear: a
    statement read masked would file the mask as the customer's address. Without `pii` and
    `business` nothing is reconciled."""
    if not {Partition.PII, Partition.BUSINESS, Partition.MESSAGES} <= pack.partitions:
        return Reconciled()
    version = pack.versions.get(Partition.BUSINESS.value)
    words = {t.message_id: t.text for t in pack.turns if t.conversation_id == conversation.pk}
    inbound = [
        message
        for message in selectors.messages_inbound_in_order(conversation=conversation)
        if message.pk in words
    ]
    last_said: dict[str, tuple[str, float, Message]] = {}
    for message in inbound:
        for key, value, confidence in stated_facts(
            words[message.pk], at=message.sent_at, channel=message.channel
        ):
            last_said[key] = (value, confidence, message)
    if not last_said:
        return Reconciled()
    before = selectors.facts_current_at(
        customer_id=conversation.customer_id, keys=list(last_said), at=conversation.started_at
    )
    sorted_keys: dict[str, list[str]] = {
        "new": [],
        "updated": [],
        "confirmed": [],
        "contradicted": [],
    }
    conflicts = 0
    for key, (value, confidence, message) in last_said.items():
        fact = fact_assert(
            customer=conversation.customer,
            key=key,
            value=value,
            asserted_by=Fact.AssertedBy.AGENT,
            asserted_by_agent=SUMMARIZER.name,
            confidence=confidence,
            source_message=message,
            expected_version=version,
        )
        stands = fact.is_current and fact.value.casefold() == value.casefold()
        label = f"{key}={value}"
        if not stands:
            conflicts += 1
            current = (
                fact
                if fact.is_current
                else selectors.fact_find_current(customer_id=conversation.customer_id, key=key)
            )
            now = f" (now {current.value})" if current is not None else ""
            sorted_keys["contradicted"].append(f"{label}{now}")
        elif key not in before:
            sorted_keys["new"].append(label)
        elif before[key].casefold() == value.casefold():
            sorted_keys["confirmed"].append(label)
        else:
            sorted_keys["updated"].append(f"{key}: {before[key]} -> {value}")
    return Reconciled(
        new=tuple(sorted_keys["new"]),
        updated=tuple(sorted_keys["updated"]),
        confirmed=tuple(sorted_keys["confirmed"]),
        contradicted=tuple(sorted_keys["contradicted"]),
        conflicts=conflicts,
    )


def _changes_lines(conversation: Conversation) -> list[str]:
    """One line per value the conversation changed, newest form first, as current: a
    rebooking reads "Now: time 14:00 (replaced 10:00)", never the old time as if it stood."""
    lines = []
    for change in conversation_value_changes(conversation=conversation):
        what = change.key.replace("_", " ")
        if change.case_reference:
            what = f"{change.case_reference} {what}"
        replaced = ", ".join(reversed(change.values[:-1]))
        if change.current:
            lines.append(f"Now: {what} {change.current} (replaced {replaced}).")
        else:
            lines.append(
                f"Changed here: {what} to {change.values[-1]} (replaced {replaced});"
                " changed again since."
            )
    return lines


def _summary(*, conversation: Conversation, pack: ContextPack, reconciled: Reconciled) -> str:
    turns = [t for t in pack.turns if t.conversation_id == conversation.pk]
    said = [t for t in turns if t.direction == Message.Direction.INBOUND]
    intents = list(
        dict.fromkeys(
            intent
            for intent in PipelineRun.objects.filter(conversation=conversation)
            .order_by("pk")
            .values_list("decision__intent", flat=True)
            if intent
        )
    )
    lines = [
        f"{conversation.get_channel_display()} conversation: {len(said)} customer turn(s),"
        f" {len(turns) - len(said)} answer(s), {conversation.started_at:%Y-%m-%d %H:%M}"
        f" to {conversation.last_message_at:%Y-%m-%d %H:%M}."
    ]
    if intents:
        lines.append("Asked about: " + ", ".join(intents) + ".")
    if pack.open_cases:
        lines.append(
            "Open: "
            + "; ".join(f"{c.kind} {c.reference} {c.status}" for c in pack.open_cases)
            + "."
        )
    for label, items in (
        ("Learned", reconciled.new),
        ("Updated", reconciled.updated),
        ("Confirmed", reconciled.confirmed),
        ("Contradicted by newer", reconciled.contradicted),
    ):
        if items:
            lines.append(f"{label}: " + "; ".join(items) + ".")
    lines += _changes_lines(conversation)
    if pack.emotion is not None:
        lines.append(f"Mood: {pack.emotion.label}, {pack.emotion.direction}.")
    if conversation.mode in Conversation.HUMAN_MODES:
        lines.append("With a person.")
    return "\n".join(lines)
