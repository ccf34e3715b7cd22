"""Who may see what in the console. Roles come from Django groups: supervisors see and
monitor everything, agents see what is assigned to them and the queue they may pick from,
anyone else (a compliance officer) sees no live traffic.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from memory.roles import AGENTS, SUPERVISORS
from memory.selectors import conversation_ids_held, conversations_visible_to

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.db.models import QuerySet

    from memory.models import Conversation


class ConsoleRole(StrEnum):
    SUPERVISOR = "supervisor"
    AGENT = "agent"


def console_role(user: User | AnonymousUser) -> ConsoleRole | None:
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


def conversations_visible(*, user: User, role: ConsoleRole) -> QuerySet[Conversation]:
    """The conversations a person may open: all for a supervisor; for an agent, those handed
    to them and those waiting in the queue for anyone."""
    return conversations_visible_to(user_id=user.pk, supervisor=role is ConsoleRole.SUPERVISOR)


def conversation_visible(*, user: User, role: ConsoleRole, conversation_id: int) -> bool:
    return conversations_visible(user=user, role=role).filter(pk=conversation_id).exists()


def conversation_ids_assigned(*, user: User) -> list[int]:
    """The conversations whose open handoff is the agent's: their websocket follows these."""
    return conversation_ids_held(user_id=user.pk)
