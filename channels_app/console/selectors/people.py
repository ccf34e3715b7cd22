"""The people a conversation can be given to, where a person is (online, busy, away), and the
roster a supervisor watches: presence, capacity and how many conversations each holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model

from memory.roles import AGENTS, SUPERVISORS
from memory.selectors import handoff_loads
from orchestrator.models import AgentPresence

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet


@dataclass(frozen=True)
class RosterEntry:
    """One person on the roster."""

    user_id: int
    name: str
    status: str
    capacity: int
    load: int

    @property
    def room(self) -> int:
        return max(self.capacity - self.load, 0)

    @property
    def load_share(self) -> int:
        return min(100, round(100 * self.load / self.capacity)) if self.capacity else 100


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


def roster_read() -> list[RosterEntry]:
    """Everyone who works conversations: online first, then busy, then away; two queries."""
    people = list(people_assignable())
    loads = handoff_loads(user_ids=[p.pk for p in people])
    order: dict[str, int] = {
        AgentPresence.Status.ONLINE.value: 0,
        AgentPresence.Status.BUSY.value: 1,
    }
    entries = []
    for person in people:
        presence = getattr(person, "presence", None)
        entries.append(
            RosterEntry(
                user_id=person.pk,
                name=person.get_full_name() or person.get_username(),
                status=presence.status if presence else AgentPresence.Status.AWAY,
                capacity=presence.capacity if presence else 0,
                load=loads.get(person.pk, 0),
            )
        )
    return sorted(entries, key=lambda e: (order.get(e.status, 2), -e.room, e.name))
