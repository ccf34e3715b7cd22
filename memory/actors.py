"""Who reads customer context: AI agents with declared scopes, or people with permissions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class Partition(StrEnum):
    """The parts of a customer's context an actor may be allowed to read."""

    PROFILE = "profile"
    IDENTITIES = "identities"
    MESSAGES = "messages"
    BUSINESS = "business"
    EMOTION = "emotion"
    PII = "pii"

    @classmethod
    def parse(
        cls, names: str | list[str] | tuple[str, ...] | frozenset[str]
    ) -> frozenset[Partition]:
        """Turn "profile,messages" or a list of names into partitions; unknown names raise."""
        if isinstance(names, str):
            names = [n for n in (part.strip() for part in names.split(",")) if n]
        try:
            return frozenset(cls(name) for name in names)
        except ValueError as error:
            known = ", ".join(p.value for p in cls)
            raise ValueError(f"{error}; known partitions: {known}") from None


ALL_PARTITIONS: frozenset[Partition] = frozenset(Partition)


@runtime_checkable
class Actor(Protocol):
    """Anything that may ask the gate for customer context."""

    @property
    def label(self) -> str: ...

    @property
    def user(self) -> User | None: ...

    def may_read(self, partition: Partition) -> bool: ...


@dataclass(frozen=True)
class _ScopedActor:
    """A non-person reader allowed exactly the partitions in its scope; the label's prefix
    says which kind it is."""

    name: str
    scopes: frozenset[Partition] = field(default_factory=frozenset)

    @property
    def prefix(self) -> str:
        raise NotImplementedError

    @property
    def label(self) -> str:
        return f"{self.prefix}:{self.name}"

    @property
    def user(self) -> None:
        return None

    def may_read(self, partition: Partition) -> bool:
        return partition in self.scopes


@dataclass(frozen=True)
class AgentActor(_ScopedActor):
    """An AI agent, allowed exactly the partitions in its scope."""

    @property
    def prefix(self) -> str:
        return "agent"


@dataclass(frozen=True)
class UserActor:
    """A person signed in to Rapport; each partition is a `memory.read_context_*` permission."""

    user: User

    @classmethod
    def of(cls, user: User | AnonymousUser) -> UserActor:
        """The actor for a request's user; an anonymous one may read nothing, so it is refused
        here rather than turned into an actor with no permissions."""
        if not user.is_authenticated:
            raise PermissionError("an anonymous user is not an actor")
        return cls(user=user)

    @property
    def label(self) -> str:
        return f"user:{self.user.get_username() or 'anonymous'}"

    def may_read(self, partition: Partition) -> bool:
        return bool(
            self.user.is_active and self.user.has_perm(f"memory.read_context_{partition.value}")
        )


@dataclass(frozen=True)
class SystemActor(_ScopedActor):
    """Rapport itself, for housekeeping that must read context (summaries, exports)."""

    scopes: frozenset[Partition] = ALL_PARTITIONS

    @property
    def prefix(self) -> str:
        return "system"


@dataclass(frozen=True)
class ApiClientActor(_ScopedActor):
    """Another system reading through the REST API (`api:crm`) or the MCP server (`mcp:bot`),
    allowed exactly the partitions its client token was granted."""

    via: str = "api"

    @property
    def prefix(self) -> str:
        return self.via
