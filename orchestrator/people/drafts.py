"""Drafts in approval mode: automation's reply held until a person approves, edits or
discards it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from memory.events import ReplyDiscarded, ReplyDrafted, ReplySent, publish
from memory.models import Message
from memory.services import message_send
from orchestrator.models import ReplyDraft, ResponseClock
from orchestrator.people.clocks import response_clock_stop

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from memory.models import Conversation


def reply_draft_store(
    *, conversation: Conversation, inbound: Message | None, text: str, author_agent: str
) -> ReplyDraft:
    """Hold automation's reply for a person to approve; a newer draft replaces a pending one."""
    with transaction.atomic():
        ReplyDraft.objects.filter(
            conversation=conversation, status=ReplyDraft.Status.PENDING
        ).update(status=ReplyDraft.Status.DISCARDED, decided_at=timezone.now())
        draft = ReplyDraft.objects.create(
            conversation=conversation, inbound_message=inbound, text=text, author_agent=author_agent
        )
        publish(
            ReplyDrafted(
                conversation_id=conversation.pk,
                draft_id=draft.pk,
                message_id=inbound.pk if inbound else None,
            )
        )
    return draft


def reply_draft_approve(
    *, draft: ReplyDraft, user: User, text: str | None = None
) -> Message | None:
    """Send a drafted reply as it is, or as the person edited it; None if already decided."""
    with transaction.atomic():
        locked = (
            ReplyDraft.objects.select_for_update().select_related("conversation").get(pk=draft.pk)
        )
        if locked.status != ReplyDraft.Status.PENDING:
            return None
        final = (text if text is not None else locked.text).strip() or locked.text
        edited = final != locked.text
        message = message_send(
            conversation=locked.conversation,
            text=final,
            author=Message.Author.HUMAN if edited else Message.Author.AGENT,
            author_agent=locked.author_agent,
            author_user=user,
            in_reply_to=locked.inbound_message,
        )
        locked.status, locked.edited = ReplyDraft.Status.SENT, edited
        locked.decided_by, locked.decided_at = user, timezone.now()
        locked.sent_message = message
        locked.save(update_fields=["status", "edited", "decided_by", "decided_at", "sent_message"])
        response_clock_stop(
            conversation=locked.conversation, state=ResponseClock.State.ANSWERED, user=user
        )
        publish(
            ReplySent(
                conversation_id=locked.conversation_id,
                message_id=message.pk,
                draft_id=locked.pk,
                edited=edited,
            )
        )
    return message


def reply_draft_discard(*, draft: ReplyDraft, user: User) -> ReplyDraft:
    """Throw a pending draft away; nothing is sent."""
    with transaction.atomic():
        locked = ReplyDraft.objects.select_for_update().get(pk=draft.pk)
        if locked.status == ReplyDraft.Status.PENDING:
            locked.status, locked.decided_by = ReplyDraft.Status.DISCARDED, user
            locked.decided_at = timezone.now()
            locked.save(update_fields=["status", "decided_by", "decided_at"])
            publish(ReplyDiscarded(conversation_id=locked.conversation_id, draft_id=locked.pk))
    return locked


def reply_drafts_scrub(*, conversation_ids: list[int], **_: object) -> dict[str, int]:
    """Erasure: blank the words of the drafts in these conversations."""
    return {
        "reply_drafts": ReplyDraft.objects.filter(conversation_id__in=conversation_ids).update(
            text=""
        )
    }
