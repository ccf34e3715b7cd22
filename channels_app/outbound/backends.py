"""The shape every outbound backend has, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from memory.models import Message


@dataclass(frozen=True)
class Delivery:
    """What the provider said when it took the message: its id and the status it reported."""

    provider_id: str | None
    status: str


@dataclass(frozen=True)
class Addressing:
    """Who the message goes to and from, and the e-mail threading headers when there are any."""

    recipient: str
    sender: str
    subject: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()


class SendFailed(Exception):
    """The provider did not take the message. Transient failures are retried with backoff;
    permanent ones (a rejected number, bad credentials) fail the message at once.
    """

    def __init__(self, reason: str, *, permanent: bool = False, code: str = "") -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.code = code


class OutboundBackend(Protocol):
    """Hands one stored outbound message to a provider."""

    name: str

    def deliver(self, *, message: Message, addressing: Addressing) -> Delivery: ...
