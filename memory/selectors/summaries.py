"""Reads a conversation's closing summary needs: the values it changed, each with the value
it replaced, so the summary says which one is current."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from memory.models import Conversation, Fact


@dataclass(frozen=True)
class ValueChange:
    """One key's values during a conversation, oldest first; `current` is the one standing
    now ("" if the conversation's value has itself been replaced since)."""

    key: str
    case_reference: str
    values: tuple[str, ...]
    current: str


def conversation_value_changes(*, conversation: Conversation) -> list[ValueChange]:
    """Every key the conversation stated a value for and changed (a rebooking from one time
    to another), oldest value first: the versions stated in it, and the one it replaced. One
    query."""
    stated_keys = Fact.objects.filter(
        customer_id=conversation.customer_id, source_message__conversation_id=conversation.pk
    ).values("key")
    versions = (
        Fact.objects.filter(customer_id=conversation.customer_id, key__in=stated_keys)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=conversation.started_at))
        .select_related("case", "source_message")
        .order_by("case_id", "key", "valid_from", "pk")
    )
    grouped: dict[tuple[str, str], list[Fact]] = {}
    for fact in versions:
        reference = fact.case.reference if fact.case is not None else ""
        grouped.setdefault((fact.key, reference), []).append(fact)
    changes: list[ValueChange] = []
    for (key, reference), facts in grouped.items():
        here = [
            f
            for f in facts
            if f.source_message is not None and f.source_message.conversation_id == conversation.pk
        ]
        if not here:
            continue
        first = facts.index(here[0])
        # The value standing when the conversation first spoke of it, then each said in it.
        chain = facts[max(0, first - 1) : facts.index(here[-1]) + 1]
        values = tuple(dict.fromkeys(f.value for f in chain))
        if len(values) < 2:
            continue
        standing = next((f.value for f in reversed(facts) if f.valid_until is None), "")
        changes.append(
            ValueChange(
                key=key,
                case_reference=reference,
                values=values,
                current=standing if standing == values[-1] else "",
            )
        )
    return changes
