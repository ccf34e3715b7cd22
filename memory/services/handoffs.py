"""Who answers a conversation: handoffs to people and back, and approval mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from memory.models import (
    Conversation,
    Handoff,
    Message,
)
from memory.selectors.handoffs import customer_handoff_open
from memory.services.messages import conversation_lock

if TYPE_CHECKING:
    from django.contrib.auth.models import User


# Who answers: handoffs to people and back ---------------------------------------------------


def conversation_hand_off(
    *,
    conversation: Conversation,
    reason: str,
    requested_by: str,
    trigger_message: Message | None = None,
) -> Handoff:
    """Hand the conversation to people: automation stops replying until it is released.

    Handing off a conversation that is already with people returns the open handoff.
    """
    with transaction.atomic():
        locked = conversation_lock(conversation)
        open_handoff = locked.handoffs.exclude(status=Handoff.Status.RELEASED).first()
        if open_handoff is not None:
            return open_handoff
        locked.mode = Conversation.Mode.HANDED_OFF
        locked.save(update_fields=["mode"])
        conversation.mode = locked.mode
        return Handoff.objects.create(
            conversation=locked,
            reason=reason[:200],
            requested_by=requested_by,
            trigger_message=trigger_message,
        )


def customer_hand_off_follow(
    *, conversation: Conversation, trigger_message: Message | None = None
) -> Handoff | None:
    """Keep a customer with people wherever they turn up: if a handoff of theirs on another
    conversation is still open, this conversation is handed off too (to the same person, if
    one has it), until a person releases it. Returns this conversation's open handoff, if
    any, so a caller can tell "with people" from "automation may answer".
    """
    with transaction.atomic():
        locked = conversation_lock(conversation)
        own = locked.handoffs.exclude(status=Handoff.Status.RELEASED).first()
        if own is not None:
            return own
        held = customer_handoff_open(
            customer_id=locked.customer_id, excluding_conversation_id=locked.pk
        )
        if held is None:
            return None
        locked.mode = Conversation.Mode.HANDED_OFF
        locked.save(update_fields=["mode"])
        conversation.mode = locked.mode
        if held.requested_by.startswith("handoff:"):
            # Already a carried handoff: name the one that started it, not a chain of carries.
            reason, requested_by = held.reason, held.requested_by
        else:
            reason = (
                f"still with people: handoff #{held.pk} on {held.conversation.channel}"
                f" conversation #{held.conversation_id} ({held.reason})"
            )[:200]
            requested_by = f"handoff:{held.pk}"
        return Handoff.objects.create(
            conversation=locked,
            reason=reason,
            requested_by=requested_by,
            trigger_message=trigger_message,
            assigned_to=held.assigned_to,
        )


def conversation_take_over(*, conversation: Conversation, user: User) -> Handoff:
    """A person takes the conversation; one is opened if automation had not handed it off."""
    with transaction.atomic():
        handoff = conversation_hand_off(
            conversation=conversation,
            reason="taken over by a person",
            requested_by=f"user:{user.get_username()}",
        )
        locked = conversation_lock(conversation)
        locked.mode = Conversation.Mode.WITH_PERSON
        locked.save(update_fields=["mode"])
        conversation.mode = locked.mode
        handoff.status = Handoff.Status.TAKEN
        handoff.assigned_to = user
        handoff.taken_at = timezone.now()
        handoff.save(update_fields=["status", "assigned_to", "taken_at"])
    return handoff


def conversation_release(*, conversation: Conversation, released_by: str) -> Conversation:
    """Give the customer back to automation: close the open handoff of this conversation and
    of the customer's other conversations (a handoff follows the customer across channels, so
    releasing it anywhere releases it everywhere)."""
    with transaction.atomic():
        locked = conversation_lock(conversation)
        held = [locked]
        while (
            other := customer_handoff_open(
                customer_id=locked.customer_id, excluding_conversation_id=locked.pk
            )
        ) is not None and other.conversation_id not in {c.pk for c in held}:
            held.append(conversation_lock(other.conversation))
            _handoffs_release(conversation=held[-1], released_by=released_by)
        _handoffs_release(conversation=locked, released_by=released_by)
        if locked.mode != Conversation.Mode.AUTOMATED:
            locked.mode = Conversation.Mode.AUTOMATED
            locked.save(update_fields=["mode"])
    conversation.mode = locked.mode
    return locked


def _handoffs_release(*, conversation: Conversation, released_by: str) -> None:
    """Close a locked conversation's open handoffs; automation answers it again."""
    for handoff in conversation.handoffs.exclude(status=Handoff.Status.RELEASED):
        handoff.status = Handoff.Status.RELEASED
        handoff.released_at = timezone.now()
        handoff.released_by = released_by
        handoff.save(update_fields=["status", "released_at", "released_by"])
    if conversation.mode in Conversation.HUMAN_MODES:
        conversation.mode = Conversation.Mode.AUTOMATED
        conversation.save(update_fields=["mode"])


def handoff_assign(*, handoff: Handoff, user: User | None) -> Handoff:
    """Give an open handoff to a person (or back to the queue with None); a released handoff
    is left as it is."""
    with transaction.atomic():
        locked = Handoff.objects.select_for_update(no_key=True).get(pk=handoff.pk)
        if locked.status != Handoff.Status.RELEASED and locked.assigned_to_id != (
            user.pk if user is not None else None
        ):
            locked.assigned_to = user
            locked.save(update_fields=["assigned_to"])
    handoff.assigned_to_id, handoff.status = locked.assigned_to_id, locked.status
    return locked


def conversation_set_approval(*, conversation: Conversation, required: bool) -> Conversation:
    """Switch approval mode: automation drafts replies and a person approves them."""
    with transaction.atomic():
        locked = conversation_lock(conversation)
        if locked.mode in Conversation.HUMAN_MODES:
            return locked
        locked.mode = Conversation.Mode.APPROVAL if required else Conversation.Mode.AUTOMATED
        locked.save(update_fields=["mode"])
    conversation.mode = locked.mode
    return locked
