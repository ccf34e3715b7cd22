"""Changes people make to a conversation's work: resolving it with a wrap-up, snoozing it,
reopening it, private notes and labels. Each change is one audited row (auditlog registers
these models); the workflow of people (`orchestrator.people.work`) adds events and handoffs."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from memory.models import ConversationLabel, ConversationNote, ConversationWork, WrapUp

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from memory.models import Conversation

NOTE_MAX_CHARS = 2000
LABEL_MAX_CHARS = 40


class WorkRefused(ValueError):
    """A change to a conversation's work that makes no sense (a snooze into the past)."""


def _work_set(
    *, conversation: Conversation, status: str, user: User | None, until: dt.datetime | None
) -> ConversationWork:
    work, _ = ConversationWork.objects.select_for_update().get_or_create(conversation=conversation)
    work.status, work.snoozed_until = status, until
    work.changed_at, work.changed_by = timezone.now(), user
    work.save(update_fields=["status", "snoozed_until", "changed_at", "changed_by"])
    return work


def conversation_work_resolve(
    *, conversation: Conversation, user: User | None, disposition: str, note: str = ""
) -> WrapUp:
    """Resolve a conversation with its wrap-up: how it ended and a note for whoever reads it
    next. A new turn from the customer reopens it."""
    disposition = disposition.strip()
    if not disposition:
        raise WorkRefused("a wrap-up needs a disposition")
    with transaction.atomic():
        _work_set(
            conversation=conversation,
            status=ConversationWork.Status.RESOLVED,
            user=user,
            until=None,
        )
        return WrapUp.objects.create(
            conversation=conversation,
            disposition=disposition[:60],
            note=note.strip()[:NOTE_MAX_CHARS],
            resolved_by=user,
        )


def conversation_work_snooze(
    *, conversation: Conversation, user: User | None, until: dt.datetime
) -> ConversationWork:
    """Put a conversation out of the queue until a time; a new turn brings it back sooner."""
    if until <= timezone.now():
        raise WorkRefused("snooze until a time still to come")
    with transaction.atomic():
        return _work_set(
            conversation=conversation,
            status=ConversationWork.Status.SNOOZED,
            user=user,
            until=until,
        )


def conversation_work_reopen(*, conversation: Conversation, user: User | None) -> ConversationWork:
    """Back in the queue, open."""
    with transaction.atomic():
        return _work_set(
            conversation=conversation, status=ConversationWork.Status.OPEN, user=user, until=None
        )


def conversation_note_add(
    *, conversation: Conversation, author: User | None, text: str
) -> ConversationNote:
    """A private note between people: kept beside the conversation, never sent, never in a
    context pack."""
    text = text.strip()
    if not text:
        raise WorkRefused("the note is empty")
    return ConversationNote.objects.create(
        conversation=conversation, author=author, text=text[:NOTE_MAX_CHARS]
    )


def conversation_label_add(
    *, conversation: Conversation, name: str, user: User | None
) -> ConversationLabel:
    """Label a conversation (`vip`, `billing`); adding one it has changes nothing."""
    slug = slugify(name)[:LABEL_MAX_CHARS]
    if not slug:
        raise WorkRefused("a label is a short word such as billing")
    with transaction.atomic():
        label, _ = ConversationLabel.objects.get_or_create(
            conversation=conversation, name=slug, defaults={"added_by": user}
        )
    return label


def conversation_label_remove(*, conversation: Conversation, name: str) -> bool:
    """Take a label off; False when it had none such. Deleted row by row, so each is audited."""
    removed = False
    with transaction.atomic():
        for label in ConversationLabel.objects.filter(conversation=conversation, name=name):
            label.delete()
            removed = True
    return removed
