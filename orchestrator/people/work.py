"""The work of a conversation from open to resolved: resolving with a wrap-up, snoozing,
reopening, private notes, labels, and correcting the customer's name. Each action writes
through memory's services (audited rows), hands back what a person held, and publishes."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from memory.events import (
    ConversationReopened,
    ConversationResolved,
    ConversationSnoozed,
    CustomerRenamed,
    LabelsChanged,
    NoteAdded,
    publish,
)
from memory.models import Conversation
from memory.selectors import handoff_open_for
from memory.selectors.work import (
    WORK_OPEN,
    WORK_SNOOZED,
    conversation_labels,
    conversation_work_state,
)
from memory.services import customer_update_profile
from memory.services import work as work_rows
from memory.services.work import WorkRefused
from orchestrator.models import Disposition, ResponseClock
from orchestrator.people.queue import person_label

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from memory.models import ConversationNote, ConversationWork, Customer, WrapUp

__all__ = [
    "WorkRefused",
    "conversation_label_add",
    "conversation_label_remove",
    "conversation_note_add",
    "conversation_reopen",
    "conversation_resolve",
    "conversation_snooze",
    "customer_rename",
    "dispositions_enabled",
]

NAME_MAX_CHARS = 200


def dispositions_enabled() -> list[Disposition]:
    """The wrap-up choices, as the admin orders them."""
    return list(Disposition.objects.filter(enabled=True))


def conversation_resolve(
    *, conversation: Conversation, user: User, disposition: str, note: str = ""
) -> WrapUp:
    """Resolve with a wrap-up. Whatever a person held is given back (its handoff released,
    its response clock stopped), so nothing waits on a conversation nobody works."""
    from orchestrator.people.conversations import conversation_release

    known = {d.name: d for d in dispositions_enabled()}
    if disposition not in known:
        raise WorkRefused("pick one of the dispositions")
    with transaction.atomic():
        if handoff_open_for(conversation=conversation) is not None or (
            conversation.mode in Conversation.HUMAN_MODES
        ):
            conversation_release(conversation=conversation, released_by=person_label(user))
        wrap_up = work_rows.conversation_work_resolve(
            conversation=conversation, user=user, disposition=disposition, note=note
        )
        publish(
            ConversationResolved(
                conversation_id=conversation.pk,
                disposition=known[disposition].label,
                by=person_label(user),
            )
        )
    return wrap_up


def conversation_snooze(
    *, conversation: Conversation, user: User, until: dt.datetime
) -> ConversationWork:
    """Out of the queue until `until`, or until the customer writes again. Its response clock
    is paused: the time it had left (or how late it already was) runs on from `until`."""
    with transaction.atomic():
        _response_clock_resume(conversation)  # a second snooze: end the first pause first
        now = timezone.now()
        work = work_rows.conversation_work_snooze(conversation=conversation, user=user, until=until)
        for clock in _running_clocks(conversation):
            clock.due_at += until - now
            clock.save(update_fields=["due_at"])
        publish(
            ConversationSnoozed(
                conversation_id=conversation.pk, until=until.isoformat(), by=person_label(user)
            )
        )
    return work


def conversation_reopen(*, conversation: Conversation, user: User) -> ConversationWork:
    """Back in the queue as open; a paused response clock runs on from now."""
    with transaction.atomic():
        _response_clock_resume(conversation)
        work = work_rows.conversation_work_reopen(conversation=conversation, user=user)
        publish(ConversationReopened(conversation_id=conversation.pk, by=person_label(user)))
    return work


def conversation_note_add(*, conversation: Conversation, user: User, text: str) -> ConversationNote:
    """A private note for the people on this conversation; the event carries no words."""
    with transaction.atomic():
        note = work_rows.conversation_note_add(conversation=conversation, author=user, text=text)
        publish(
            NoteAdded(
                conversation_id=conversation.pk,
                agent_ids=_holder(conversation),
                note_id=note.pk,
                by=person_label(user),
            )
        )
    return note


def conversation_label_add(*, conversation: Conversation, user: User, name: str) -> list[str]:
    """Label the conversation; its labels after."""
    with transaction.atomic():
        work_rows.conversation_label_add(conversation=conversation, name=name, user=user)
        return _labels_changed(conversation, user)


def conversation_label_remove(*, conversation: Conversation, user: User, name: str) -> list[str]:
    with transaction.atomic():
        work_rows.conversation_label_remove(conversation=conversation, name=name)
        return _labels_changed(conversation, user)


def customer_rename(
    *, customer: Customer, conversation: Conversation, user: User, display_name: str
) -> Customer:
    """Correct the name people and agents call the customer by (audited as a profile change,
    the profile version moves on so an agent's write on the old name is caught)."""
    display_name = " ".join(display_name.split())[:NAME_MAX_CHARS]
    if not display_name:
        raise WorkRefused("a name cannot be empty")
    with transaction.atomic():
        renamed = customer_update_profile(customer=customer, display_name=display_name)
        publish(
            CustomerRenamed(
                conversation_id=conversation.pk, customer_id=customer.pk, by=person_label(user)
            )
        )
    return renamed


def _labels_changed(conversation: Conversation, user: User) -> list[str]:
    labels = conversation_labels(conversation_id=conversation.pk)
    publish(LabelsChanged(conversation_id=conversation.pk, labels=labels, by=person_label(user)))
    return labels


def _running_clocks(conversation: Conversation) -> list[ResponseClock]:
    return list(
        ResponseClock.objects.select_for_update().filter(
            conversation=conversation, state=ResponseClock.State.RUNNING
        )
    )


def _response_clock_resume(conversation: Conversation) -> None:
    """Waking a snoozed conversation before its time gives the unused pause back, so its clock
    runs on with the time it had left when snoozed. A snooze that ran out needs nothing: the
    pause was exactly its length. Clocks started after the snooze were never paused."""
    state, work = conversation_work_state(conversation=conversation)
    if state != WORK_SNOOZED or work is None or work.snoozed_until is None:
        return
    unused = work.snoozed_until - timezone.now()
    for clock in _running_clocks(conversation):
        if clock.started_at <= work.changed_at:
            clock.due_at -= unused
            clock.save(update_fields=["due_at"])


def conversation_wake_on_customer_turn(*, conversation: Conversation) -> bool:
    """The customer wrote while the conversation was snoozed: it is open again (the row says
    so, once), and its paused clock gets the unused pause back, so the answer is due in the
    time it had left, not after the snooze would have ended. True when it woke."""
    state, work = conversation_work_state(conversation=conversation)
    now = timezone.now()
    if state != WORK_OPEN or work is None or work.status != WORK_SNOOZED:
        return False
    with transaction.atomic():
        if work.snoozed_until is not None and work.snoozed_until > now:
            unused = work.snoozed_until - now
            for clock in _running_clocks(conversation):
                if clock.started_at <= work.changed_at:
                    clock.due_at -= unused
                    clock.save(update_fields=["due_at"])
        work_rows.conversation_work_reopen(conversation=conversation, user=None)
        publish(ConversationReopened(conversation_id=conversation.pk, by="the customer"))
    return True


def _holder(conversation: Conversation) -> tuple[int | None, ...]:
    handoff = handoff_open_for(conversation=conversation)
    return (handoff.assigned_to_id,) if handoff is not None else ()
