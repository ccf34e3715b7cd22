"""Who may see what in the console. Roles come from Django groups: supervisors see and
monitor everything, agents see what is assigned to them and the queue they may pick from,
anyone else (a compliance officer) sees no live traffic.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet

from memory.models import Conversation, Handoff
from memory.roles import AGENTS, SUPERVISORS

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class ConsoleRole(StrEnum):
    SUPERVISOR = "supervisor"
    AGENT = "agent"


def console_role(user: AbstractBaseUser | AnonymousUser) -> ConsoleRole | None:
    """The user's role in the console, None for anyone who may not watch live traffic."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return ConsoleRole.SUPERVISOR
    names = set(user.groups.values_list("name", flat=True))
    if SUPERVISORS in names:
        return ConsoleRole.SUPERVISOR
    if AGENTS in names:
        return ConsoleRole.AGENT
    return None


def conversations_visible(*, user: AbstractBaseUser, role: ConsoleRole) -> QuerySet[Conversation]:
    """The conversations a person may open: all for a supervisor; for an agent, those handed
    to them and those waiting in the queue for anyone."""
    conversations = Conversation.objects.all()
    if role is ConsoleRole.SUPERVISOR:
        return conversations
    open_handoffs = Handoff.objects.filter(conversation=OuterRef("pk")).exclude(
        status=Handoff.Status.RELEASED
    )
    mine = open_handoffs.filter(assigned_to=user)
    up_for_grabs = open_handoffs.filter(status=Handoff.Status.WAITING, assigned_to__isnull=True)
    return conversations.filter(Q(Exists(mine)) | Q(Exists(up_for_grabs)))


def conversation_visible(
    *, user: AbstractBaseUser, role: ConsoleRole, conversation_id: int
) -> bool:
    return conversations_visible(user=user, role=role).filter(pk=conversation_id).exists()


def conversation_ids_assigned(*, user: AbstractBaseUser) -> list[int]:
    """The conversations whose open handoff is the agent's: their websocket follows these."""
    return list(
        Handoff.objects.filter(assigned_to=user)
        .exclude(status=Handoff.Status.RELEASED)
        .values_list("conversation_id", flat=True)
    )
