"""The people a conversation can be given to, and where a person is (available, away)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model

from memory.roles import AGENTS, SUPERVISORS
from orchestrator.models import AgentPresence

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet


def people_assignable() -> QuerySet[Any]:
    """Agents and supervisors a conversation can be given to, with their presence."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[AGENTS, SUPERVISORS])
        .select_related("presence")
        .distinct()
        .order_by("username")
    )


def presence_of(*, user: User) -> AgentPresence | None:
    """The person's own presence and capacity, None until they first set it."""
    return AgentPresence.objects.filter(user=user).first()
