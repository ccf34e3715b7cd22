"""Reads the reliability sweeps make: stored messages that may never have been handed on, and
replies whose delivery was lost on the way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from memory.models import Message

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable


def inbound_message_ids_stored_between(
    *,
    since: dt.datetime,
    until: dt.datetime,
    channels: Iterable[str],
    excluding: QuerySet[Any, int] | Iterable[int] = (),
    limit: int = 500,
) -> list[int]:
    """Ids of inbound messages a provider delivered (their addressing is in the metadata, which
    seeded and imported history lacks) stored in [since, until), oldest first, less
    `excluding` (a queryset of ids is kept in the database as a subquery)."""
    stored = (
        Message.objects.filter(
            direction=Message.Direction.INBOUND,
            channel__in=list(channels),
            created_at__gte=since,
            created_at__lt=until,
            channel_metadata__has_key="from",
        )
        .exclude(pk__in=excluding)
        .order_by("created_at", "pk")
    )
    return list(stored.values_list("pk", flat=True)[:limit])


def outbound_message_ids_pending_between(
    *, since: dt.datetime, until: dt.datetime, limit: int = 500
) -> list[int]:
    """Ids of outbound messages still `pending` that were stored in [since, until), oldest
    first: past every retry's backoff, their delivery task was lost."""
    pending = Message.objects.filter(
        direction=Message.Direction.OUTBOUND,
        delivery_status=Message.DeliveryStatus.PENDING,
        created_at__gte=since,
        created_at__lt=until,
    ).order_by("created_at", "pk")
    return list(pending.values_list("pk", flat=True)[:limit])


def outbound_messages_sending_between(
    *, since: dt.datetime, until: dt.datetime, limit: int = 200
) -> list[Message]:
    """Outbound messages still `sending` that were stored in [since, until), oldest first, with
    their conversation (for the addressing): an attempt that began and never recorded an end.
    Whether each is really stuck is judged by when its attempt was claimed."""
    sending = (
        Message.objects.filter(
            direction=Message.Direction.OUTBOUND,
            delivery_status=Message.DeliveryStatus.SENDING,
            created_at__gte=since,
            created_at__lt=until,
        )
        .select_related("conversation")
        .order_by("created_at", "pk")
    )
    return list(sending[:limit])
