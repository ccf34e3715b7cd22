"""What a person does from the console, and the queue work behind it: taking over, replying,
releasing, approving drafts, assigning handed-off conversations by capacity, response clocks.

Each service writes in a transaction and publishes its console event after commit.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from channels_app.console.events import console_publish
from channels_app.models import AgentPresence, ReplyDraft, ResponseClock
from channels_app.outbound import send
from channels_app.publisher import SUPERVISORS, customer_group, publish
from memory.models import (
    Channel,
    Conversation,
    Customer,
    CustomerMerge,
    Handoff,
    MergeProposal,
    Message,
    SentimentReading,
)
from memory.roles import AGENTS
from memory.services import (
    conversation_hand_off,
    conversation_set_approval,
    conversation_take_over,
    customer_merge,
    handoff_assign,
    intent_correction_record,
    merge_proposal_decide,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from memory.models import IntentCorrection


class PersonReplyRefused(ValueError):
    """A reply a person may not send from the console (a call is answered on the phone)."""


def _label(user: AbstractBaseUser) -> str:
    return f"user:{user.get_username()}"


# Presence and the queue --------------------------------------------------------------------------


def presence_set(
    *, user: AbstractBaseUser, status: str, capacity: int | None = None
) -> AgentPresence:
    """Say whether an agent can take conversations; coming online pulls from the queue."""
    if status not in AgentPresence.Status.values:
        raise ValueError(f"unknown presence {status!r}")
    with transaction.atomic():
        presence, _ = AgentPresence.objects.select_for_update().get_or_create(user=user)
        presence.status = status
        presence.changed_at = timezone.now()
        fields = ["status", "changed_at"]
        if capacity is not None:
            presence.capacity = max(1, capacity)
            fields.append("capacity")
        presence.save(update_fields=fields)
    if status == AgentPresence.Status.ONLINE:
        queue_assign_waiting()
    return presence


def queue_assign_waiting() -> list[Handoff]:
    """Give waiting, unassigned handoffs to online agents with room: the angriest customers
    first, then the longest waiting; each to the agent with the fewest open conversations.

    The agents' presence rows are locked first, so two assigners never overfill one agent.
    """
    assigned: list[Handoff] = []
    with transaction.atomic():
        presences = list(
            AgentPresence.objects.select_for_update()
            .filter(
                status=AgentPresence.Status.ONLINE,
                user__is_active=True,
                user__groups__name=AGENTS,
            )
            .select_related("user")
            .order_by("changed_at", "pk")
        )
        if not presences:
            return assigned
        loads = dict(
            Handoff.objects.filter(assigned_to__in=[p.user_id for p in presences])
            .exclude(status=Handoff.Status.RELEASED)
            .values("assigned_to")
            .annotate(open=Count("pk"))
            .values_list("assigned_to", "open")
        )
        room = {p.user_id: p.capacity - loads.get(p.user_id, 0) for p in presences}
        people = {p.user_id: p.user for p in presences}
        mood = SentimentReading.objects.filter(
            customer=OuterRef("conversation__customer_id")
        ).order_by("-read_at", "-pk")
        waiting = list(
            Handoff.objects.filter(status=Handoff.Status.WAITING, assigned_to__isnull=True)
            .annotate(mood=Subquery(mood.values("score")[:1]))
            .order_by("created_at", "pk")[:200]
        )
        angry = settings.ORCHESTRATOR_ANGRY_SCORE
        waiting.sort(key=lambda h: (h.mood is None or h.mood > angry, h.created_at, h.pk))
        for handoff in waiting:
            free = [user_id for user_id, left in room.items() if left > 0]
            if not free:
                break
            user_id = max(free, key=lambda uid: room[uid])
            room[user_id] -= 1
            assigned.append(_assign(handoff=handoff, user=people[user_id], previous=None))
    return assigned


def handoff_reassign(
    *, conversation: Conversation, to_user: AbstractBaseUser, by: AbstractBaseUser
) -> Handoff:
    """A supervisor gives a conversation to someone else (one is opened if it had none)."""
    with transaction.atomic():
        handoff = conversation.handoffs.exclude(status=Handoff.Status.RELEASED).first()
        if handoff is None:
            handoff = conversation_hand_off(
                conversation=conversation,
                reason=f"assigned by {by.get_username()}",
                requested_by=_label(by),
            )
        return _assign(handoff=handoff, user=to_user, previous=handoff.assigned_to_id)


def _assign(*, handoff: Handoff, user: AbstractBaseUser, previous: int | None) -> Handoff:
    handoff = handoff_assign(handoff=handoff, user=user)
    ResponseClock.objects.filter(
        conversation_id=handoff.conversation_id, state=ResponseClock.State.RUNNING
    ).update(agent=user)  # the clock is the console's own row, not an audited graph model
    console_publish(
        "conversation.assigned",
        {"agent_id": user.pk, "agent": user.get_username(), "handoff_id": handoff.pk},
        conversation_id=handoff.conversation_id,
        agent_ids=(user.pk, previous),
    )
    return handoff


# Response clocks (SLA) ---------------------------------------------------------------------------


def response_clock_start(
    *, conversation: Conversation, waiting_since: dt.datetime
) -> ResponseClock | None:
    """Start the clock on a customer waiting for a person: the first answer of a handoff, or
    the next one once a person has answered. None when nobody is due to answer."""
    with transaction.atomic():
        handoff = (
            Handoff.objects.select_for_update(no_key=True)
            .filter(conversation=conversation)
            .exclude(status=Handoff.Status.RELEASED)
            .first()
        )
        if handoff is None:
            return None
        running = ResponseClock.objects.filter(
            conversation=conversation, state=ResponseClock.State.RUNNING
        ).first()
        if running is not None:
            return running
        answered_before = Message.objects.filter(
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            author=Message.Author.HUMAN,
            sent_at__gte=handoff.created_at,
        ).exists()
        kind = ResponseClock.Kind.NEXT if answered_before else ResponseClock.Kind.FIRST
        targets = (
            settings.SLA_NEXT_RESPONSE_SECONDS
            if answered_before
            else settings.SLA_FIRST_RESPONSE_SECONDS
        )
        seconds = targets.get(conversation.channel, 600)
        clock = ResponseClock.objects.create(
            conversation=conversation,
            handoff=handoff,
            kind=kind,
            channel=conversation.channel,
            started_at=waiting_since,
            due_at=waiting_since + dt.timedelta(seconds=seconds),
            agent_id=handoff.assigned_to_id,
        )
    console_publish(
        "sla.started",
        {"kind": clock.kind, "due_at": clock.due_at.isoformat()},
        conversation_id=conversation.pk,
        agent_ids=(clock.agent_id,),
    )
    return clock


def _clock_stop(*, conversation: Conversation, state: str, user: AbstractBaseUser | None) -> None:
    for clock in ResponseClock.objects.select_for_update().filter(
        conversation=conversation, state=ResponseClock.State.RUNNING
    ):
        clock.state = state
        fields = ["state"]
        if state == ResponseClock.State.ANSWERED:
            clock.answered_at, clock.agent = timezone.now(), user
            fields += ["answered_at", "agent"]
        clock.save(update_fields=fields)


def conversation_waiting_notify(*, conversation_id: int, waiting_since: dt.datetime) -> None:
    """After commit, start the conversation's clock and route the queue (in a task)."""
    from channels_app.console.tasks import conversation_waiting

    transaction.on_commit(
        lambda: conversation_waiting.delay(conversation_id, waiting_since.isoformat()),
        robust=True,
    )


def sla_breaches_escalate(*, now: dt.datetime | None = None) -> list[ResponseClock]:
    """Alert supervisors (and the agent holding it) once for each answer past its target."""
    now = now or timezone.now()
    escalated: list[ResponseClock] = []
    with transaction.atomic():
        for clock in ResponseClock.objects.select_for_update(skip_locked=True).filter(
            state=ResponseClock.State.RUNNING, due_at__lt=now, breached_at__isnull=True
        ):
            clock.breached_at = now
            clock.save(update_fields=["breached_at"])
            console_publish(
                "sla.breached",
                {
                    "kind": clock.kind,
                    "channel": clock.channel,
                    "due_at": clock.due_at.isoformat(),
                    "overdue_seconds": round((now - clock.due_at).total_seconds()),
                },
                conversation_id=clock.conversation_id,
                agent_ids=(clock.agent_id,),
            )
            escalated.append(clock)
    return escalated


# A person's hands on the conversation ------------------------------------------------------------


def conversation_take_over_by_person(
    *, conversation: Conversation, user: AbstractBaseUser
) -> Handoff:
    """A person takes the conversation: automation stops answering until it is released."""
    with transaction.atomic():
        previous = (
            conversation.handoffs.exclude(status=Handoff.Status.RELEASED)
            .values_list("assigned_to", flat=True)
            .first()
        )
        handoff = conversation_take_over(conversation=conversation, user=user)
        ResponseClock.objects.filter(
            conversation=conversation, state=ResponseClock.State.RUNNING
        ).update(agent=user)
        console_publish(
            "conversation.taken_over",
            {"agent_id": user.pk, "agent": user.get_username(), "handoff_id": handoff.pk},
            conversation_id=conversation.pk,
            agent_ids=(user.pk, previous),
        )
    return handoff


def conversation_reply_as_person(
    *, conversation: Conversation, user: AbstractBaseUser, text: str
) -> Message:
    """Send a person's reply on the customer's own channel. Replying takes the conversation
    over first, so automation never answers beside a person."""
    text = text.strip()
    if not text:
        raise PersonReplyRefused("the reply is empty")
    if conversation.channel == Channel.VOICE:
        raise PersonReplyRefused("a call is answered on the phone, not from the console")
    with transaction.atomic():
        if conversation.mode != Conversation.Mode.WITH_PERSON:
            conversation_take_over_by_person(conversation=conversation, user=user)
        message = send(
            conversation=conversation,
            text=text,
            author=Message.Author.HUMAN,
            author_user=user,
            in_reply_to=_latest_inbound(conversation),
        )
        _clock_stop(conversation=conversation, state=ResponseClock.State.ANSWERED, user=user)
        console_publish(
            "reply.sent",
            {"message_id": message.pk, "author": Message.Author.HUMAN, "agent_id": user.pk},
            conversation_id=conversation.pk,
            queue=False,
        )
    return message


def _latest_inbound(conversation: Conversation) -> Message | None:
    return (
        Message.objects.filter(conversation=conversation, direction=Message.Direction.INBOUND)
        .order_by("-sent_at", "-pk")
        .first()
    )


def conversation_release_by_person(
    *, conversation: Conversation, user: AbstractBaseUser
) -> Conversation:
    """Give the conversation back to automation; the person's room goes back to the queue."""
    from orchestrator.services import conversation_return_to_automation

    with transaction.atomic():
        released = conversation_return_to_automation(
            conversation=conversation, released_by=_label(user)
        )
        _clock_stop(conversation=conversation, state=ResponseClock.State.RELEASED, user=None)
        console_publish(
            "conversation.queue_changed", {"mode": released.mode}, conversation_id=released.pk
        )
    queue_assign_waiting()
    return released


def conversation_approval_set(
    *, conversation: Conversation, required: bool, user: AbstractBaseUser
) -> Conversation:
    """Have automation's replies on this conversation approved by a person, or not."""
    with transaction.atomic():
        updated = conversation_set_approval(conversation=conversation, required=required)
        console_publish(
            "conversation.queue_changed",
            {"mode": updated.mode, "by": user.get_username()},
            conversation_id=updated.pk,
        )
    return updated


# Drafts in approval mode -------------------------------------------------------------------------


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
        console_publish(
            "reply.drafted",
            {"draft_id": draft.pk, "message_id": inbound.pk if inbound else None},
            conversation_id=conversation.pk,
        )
    return draft


def reply_draft_approve(
    *, draft: ReplyDraft, user: AbstractBaseUser, text: str | None = None
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
        message = send(
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
        _clock_stop(conversation=locked.conversation, state=ResponseClock.State.ANSWERED, user=user)
        console_publish(
            "reply.sent",
            {"message_id": message.pk, "draft_id": locked.pk, "edited": edited},
            conversation_id=locked.conversation_id,
        )
    return message


def reply_draft_discard(*, draft: ReplyDraft, user: AbstractBaseUser) -> ReplyDraft:
    with transaction.atomic():
        locked = ReplyDraft.objects.select_for_update().get(pk=draft.pk)
        if locked.status == ReplyDraft.Status.PENDING:
            locked.status, locked.decided_by = ReplyDraft.Status.DISCARDED, user
            locked.decided_at = timezone.now()
            locked.save(update_fields=["status", "decided_by", "decided_at"])
            console_publish(
                "reply.discarded", {"draft_id": locked.pk}, conversation_id=locked.conversation_id
            )
    return locked


# Teaching and tidying ----------------------------------------------------------------------------


def message_intent_correct(
    *, message: Message, intent: str, user: AbstractBaseUser
) -> IntentCorrection:
    """Keep a person's correction of a predicted intent, as a training example."""
    from orchestrator.models import PipelineRun

    predicted = (
        PipelineRun.objects.filter(inbound_message=message)
        .values_list("decision__intent", flat=True)
        .first()
    )
    with transaction.atomic():
        correction = intent_correction_record(
            message=message,
            corrected_intent=intent,
            predicted_intent=str(predicted or ""),
            corrected_by=user,
        )
        console_publish(
            "intent.corrected",
            {"message_id": message.pk, "intent": correction.corrected_intent},
            conversation_id=message.conversation_id,
            queue=False,
        )
    return correction


def customers_merge_by_person(
    *, source: Customer, target: Customer, user: AbstractBaseUser, reason: str = ""
) -> CustomerMerge:
    """Fold a duplicate customer record into the one a person says it belongs to."""
    with transaction.atomic():
        merge = customer_merge(
            source=source,
            target=target,
            merged_by=_label(user),
            reason=reason or "merged by a person",
        )
        publish(
            "customer.merged",
            {"customer_id": target.pk, "source_customer_id": source.pk},
            groups=(SUPERVISORS, customer_group(target.pk), customer_group(source.pk)),
        )
    return merge


def merge_proposal_settle(
    *, proposal: MergeProposal, accept: bool, user: AbstractBaseUser
) -> MergeProposal:
    """Accept (merge) or reject a suspicion that two records are one customer."""
    with transaction.atomic():
        decided = merge_proposal_decide(proposal=proposal, accept=accept, decided_by=_label(user))
        publish(
            "customer.merge_decided",
            {"proposal_id": decided.pk, "status": decided.status},
            groups=(SUPERVISORS, customer_group(decided.customer_id)),
        )
    return decided


__all__ = [
    "PersonReplyRefused",
    "conversation_approval_set",
    "conversation_release_by_person",
    "conversation_reply_as_person",
    "conversation_take_over_by_person",
    "conversation_waiting_notify",
    "customers_merge_by_person",
    "handoff_reassign",
    "merge_proposal_settle",
    "message_intent_correct",
    "presence_set",
    "queue_assign_waiting",
    "reply_draft_approve",
    "reply_draft_discard",
    "reply_draft_store",
    "response_clock_start",
    "sla_breaches_escalate",
]
