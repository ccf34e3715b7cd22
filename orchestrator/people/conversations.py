"""A person's hands on a conversation: taking it over, replying, giving it back to automation,
and having automation's replies approved first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from memory.events import (
    ConversationQueueChanged,
    ConversationReleased,
    ConversationTakenOver,
    ReplySent,
    publish,
)
from memory.models import Channel, Conversation, Message
from memory.selectors import handoff_open_for, message_latest_inbound
from memory.services import handoffs as handoff_rows
from memory.services import message_send
from orchestrator.models import ResponseClock
from orchestrator.people.clocks import response_clock_stop
from orchestrator.people.queue import person_label, queue_assign_waiting

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from memory.models import Handoff


class PersonReplyRefused(ValueError):
    """A reply a person may not send from the console (a call is answered on the phone)."""


def conversation_take_over(*, conversation: Conversation, user: User) -> Handoff:
    """A person takes the conversation: automation stops answering until it is released."""
    with transaction.atomic():
        open_handoff = handoff_open_for(conversation=conversation)
        previous = open_handoff.assigned_to_id if open_handoff is not None else None
        handoff = handoff_rows.conversation_take_over(conversation=conversation, user=user)
        ResponseClock.objects.filter(
            conversation=conversation, state=ResponseClock.State.RUNNING
        ).update(agent=user)
        publish(
            ConversationTakenOver(
                conversation_id=conversation.pk,
                agent_ids=(user.pk, previous),
                agent_id=user.pk,
                agent=user.get_username(),
                handoff_id=handoff.pk,
            )
        )
    return handoff


def conversation_reply_as_person(*, conversation: Conversation, user: User, text: str) -> Message:
    """Send a person's reply on the customer's own channel. Replying takes the conversation
    over first, so automation never answers beside a person."""
    text = text.strip()
    if not text:
        raise PersonReplyRefused("the reply is empty")
    if conversation.channel == Channel.VOICE:
        raise PersonReplyRefused("a call is answered on the phone, not from the console")
    with transaction.atomic():
        if conversation.mode != Conversation.Mode.WITH_PERSON:
            conversation_take_over(conversation=conversation, user=user)
        message = message_send(
            conversation=conversation,
            text=text,
            author=Message.Author.HUMAN,
            author_user=user,
            in_reply_to=message_latest_inbound(conversation=conversation),
        )
        response_clock_stop(
            conversation=conversation, state=ResponseClock.State.ANSWERED, user=user
        )
        publish(
            ReplySent(
                conversation_id=conversation.pk,
                message_id=message.pk,
                author=Message.Author.HUMAN,
                agent_id=user.pk,
            )
        )
    return message


def conversation_release(*, conversation: Conversation, released_by: str) -> Conversation:
    """Give the conversation back to automation: its handoff closes, its clock stops, and the
    person's room goes back to the queue. `released_by` is an actor label (`user:alice`)."""
    with transaction.atomic():
        released = handoff_rows.conversation_release(
            conversation=conversation, released_by=released_by
        )
        response_clock_stop(
            conversation=conversation, state=ResponseClock.State.RELEASED, user=None
        )
        publish(
            ConversationReleased(
                conversation_id=released.pk, released_by=released_by, mode=released.mode
            )
        )
    queue_assign_waiting()
    return released


def conversation_set_approval(
    *, conversation: Conversation, required: bool, user: User
) -> Conversation:
    """Have automation's replies on this conversation approved by a person, or not."""
    with transaction.atomic():
        updated = handoff_rows.conversation_set_approval(
            conversation=conversation, required=required
        )
        publish(
            ConversationQueueChanged(
                conversation_id=updated.pk, mode=updated.mode, by=person_label(user)
            )
        )
    return updated
