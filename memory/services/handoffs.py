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
    """Give the conversation back to automation and close its open handoff."""
    with transaction.atomic():
        locked = conversation_lock(conversation)
        for handoff in locked.handoffs.exclude(status=Handoff.Status.RELEASED):
            handoff.status = Handoff.Status.RELEASED
            handoff.released_at = timezone.now()
            handoff.released_by = released_by
            handoff.save(update_fields=["status", "released_at", "released_by"])
        locked.mode = Conversation.Mode.AUTOMATED
        locked.save(update_fields=["mode"])
    conversation.mode = locked.mode
    return locked


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
