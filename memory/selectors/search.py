"""Search: finding customers and what they said, each customer's hits read through the gate.

Every free-text match is a case-insensitive substring (`icontains`), so a phone number, a case
reference or part of a word is found as typed. On PostgreSQL each searched column has a pg_trgm
GIN index over the very expression Django writes for it (migration 0014_search), so a search
reads the index instead of scanning every message; on SQLite the same query scans.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, Q, QuerySet

from memory.actors import Actor, Partition
from memory.models import (
    Case,
    Conversation,
    Customer,
    Fact,
    Identity,
    Message,
)
from memory.redaction import Redactor
from memory.selectors.dossier import json_ready
from memory.selectors.gate import ContextAccessRefused, access_gate, customers_admit
from memory.watch import actor_is_quarantined

if TYPE_CHECKING:
    from collections.abc import Iterable


# Search: finding customers and what they said, each customer's hits read through the gate -----


@dataclass(frozen=True)
class SearchHit:
    """One thing found: a customer, case, fact, conversation or message, with a short snippet."""

    kind: str
    customer_id: int
    object_id: int
    snippet: str
    at: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return json_ready(asdict(self))


_HIT_PARTITIONS = {
    "customer": Partition.PROFILE,
    "case": Partition.BUSINESS,
    "fact": Partition.BUSINESS,
    "conversation": Partition.MESSAGES,
    "message": Partition.MESSAGES,
}


def context_search(
    *,
    actor: Actor,
    query: str,
    purpose: str,
    channel: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    sentiment: str = "",
    limit: int = 10,
    correlation_id: str = "",
) -> tuple[SearchHit, ...]:
    """Find customers, cases, facts, conversations and messages by free text, phone, e-mail
    or case reference, among only the kinds the actor's partitions cover.

    The channel, time and sentiment filters narrow conversations and messages (and a
    sentiment filter leaves only messages). Every customer whose records are shown is a read
    through the gate, audited and watched. A customer is found by a phone or e-mail only for
    an actor holding `identities` (else the search would say whose number it is). A quarantined
    actor, or one the watch stops midway, is refused the whole search, not answered with less.
    On PostgreSQL one statement finds every kind of hit and one writes the page's entries (a
    person's search); elsewhere a query per kind. An agent or client is judged per customer.
    """
    query = query.strip()
    if actor_is_quarantined(actor):
        raise ContextAccessRefused(actor, frozenset(), "quarantined")
    if not query:
        return ()
    allowed = {kind for kind, partition in _HIT_PARTITIONS.items() if actor.may_read(partition)}
    if sentiment:
        allowed &= {"message"}
    if not actor.may_read(Partition.PII) and _is_contact_detail(query):
        # A phone or e-mail found inside words would name its owner to an actor who may only
        # see it masked: such a query finds customers by their identities, or nothing.
        allowed &= {"customer"}
    found, customers = _hits_found(
        query,
        allowed=allowed,
        by_identity=actor.may_read(Partition.IDENTITIES),
        channel=channel,
        since=since,
        until=until,
        sentiment=sentiment,
        limit=limit,
    )
    with_pii = actor.may_read(Partition.PII)
    redactor = None if with_pii else Redactor()
    shown: list[SearchHit] = []
    by_customer: dict[int, list[SearchHit]] = {}
    for hit in found:
        by_customer.setdefault(hit.customer_id, []).append(hit)
    asked_of = {
        customer_id: frozenset(
            {_HIT_PARTITIONS[hit.kind] for hit in hits} | ({Partition.PII} if with_pii else set())
        )
        for customer_id, hits in by_customer.items()
    }
    admitted = customers_admit(
        actor=actor,
        customers=[(customers[pk], asked) for pk, asked in asked_of.items()],
        purpose=purpose,
        correlation_id=correlation_id,
    )
    if admitted is not None:
        # A person's search: every customer's read recorded at once, none judged by the watch.
        for hits, refusal in zip(by_customer.values(), admitted, strict=True):
            if refusal is None:
                shown += [
                    hit if redactor is None else replace(hit, snippet=redactor.text(hit.snippet))
                    for hit in hits
                ]
        return tuple(shown)
    for customer_id, hits in by_customer.items():
        asked = set(asked_of[customer_id])
        try:
            with access_gate(
                actor=actor,
                customer=customers[customer_id],
                asked=frozenset(asked),
                purpose=purpose,
                correlation_id=correlation_id,
            ):
                pass
        except ContextAccessRefused as refused:
            if refused.reason:
                raise  # the watch stopped the actor: nothing more is shown, not even this page
            continue
        shown += [
            hit if redactor is None else replace(hit, snippet=redactor.text(hit.snippet))
            for hit in hits
        ]
    return tuple(shown)


def _is_contact_detail(query: str) -> bool:
    """Whether the query reads as a phone number or an e-mail address."""
    from memory.identities import normalize_identity

    for kind in (Identity.Kind.PHONE, Identity.Kind.EMAIL):
        try:
            normalize_identity(kind, query)
        except ValueError:
            continue
        return True
    return False


def _snippet(text: str, query: str, width: int = 120) -> str:
    flat = " ".join(text.split())
    at = max(0, flat.casefold().find(query.casefold()))
    start = max(0, at - width // 3)
    cut = flat[start : start + width]
    return ("..." if start else "") + cut + ("..." if start + width < len(flat) else "")


def _hits_found(
    query: str,
    *,
    allowed: set[str],
    by_identity: bool,
    channel: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
    sentiment: str,
    limit: int,
) -> tuple[list[SearchHit], dict[int, Customer]]:
    """The page's hits, kind by kind (customers, cases, facts, conversations, messages: the
    newest of each first, the page cut to `limit`), and the customers they belong to (their id
    and name: what the gate records of them). On PostgreSQL one statement for every kind;
    elsewhere a query per kind, and one for the customers."""
    searches: list[tuple[str, QuerySet[Any]]] = []
    if "customer" in allowed:
        searches.append(("customer", _customers_rows(query, limit=limit, by_identity=by_identity)))
    if "case" in allowed:
        searches.append(("case", _cases_rows(query, limit=limit)))
    if "fact" in allowed:
        searches.append(("fact", _facts_rows(query, limit=limit)))
    if "conversation" in allowed:
        searches.append(
            (
                "conversation",
                _conversations_rows(query, channel=channel, since=since, until=until, limit=limit),
            )
        )
    if "message" in allowed:
        searches.append(
            (
                "message",
                _messages_rows(
                    query,
                    channel=channel,
                    since=since,
                    until=until,
                    sentiment=sentiment,
                    limit=limit,
                ),
            )
        )
    rows_by_kind: list[list[dict[str, Any]]] = []
    if connection.vendor == "postgresql":
        rows_by_kind = _rows_in_one_statement([rows for _, rows in searches])
    else:
        for _, queryset in searches:
            rows_by_kind.append(list(queryset))
            if sum(len(found) for found in rows_by_kind) >= limit:
                break
    found: list[SearchHit] = []
    names: dict[int, str] = {}
    for (kind, _), kind_rows in zip(searches, rows_by_kind, strict=False):
        for row in kind_rows:
            hit = _HIT_OF[kind](row, query)
            found.append(hit)
            names[hit.customer_id] = row.get("customer_name", row.get("display_name", ""))
    found = list(dict.fromkeys(found))[:limit]
    fields = ["id", "display_name"]
    customers = {
        hit.customer_id: Customer.from_db(
            "default", fields, [hit.customer_id, names[hit.customer_id]]
        )
        for hit in found
    }
    return found, customers


def _rows_in_one_statement(searches: list[QuerySet[Any]]) -> list[list[dict[str, Any]]]:
    """Each search's rows (as `values()` gives them), all in one SELECT: each a scalar
    subquery aggregating its rows, in their order, into a JSON array."""
    parts: list[str] = []
    params: list[Any] = []
    for rows in searches:
        try:
            sql, sub_params = rows.query.sql_with_params()
        except EmptyResultSet:
            parts.append("NULL")
            continue
        parts.append(f"(SELECT json_agg(t) FROM ({sql}) t)")  # noqa: S608 - the ORM's SQL
        params += sub_params
    if not parts:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return [
        [
            {
                key: dt.datetime.fromisoformat(value) if key in _MOMENTS and value else value
                for key, value in item.items()
            }
            for item in found or ()
        ]
        for found in row
    ]


# The columns each search orders its hits by, which JSON hands back as text.
_MOMENTS = frozenset({"updated_at", "valid_from", "last_message_at", "sent_at"})


def _customers_rows(query: str, *, limit: int, by_identity: bool) -> QuerySet[Any]:
    from memory.identities import normalize_identity

    matches = Q(display_name__icontains=query) | Q(external_id=query)
    for kind in (Identity.Kind.PHONE, Identity.Kind.EMAIL) if by_identity else ():
        try:
            value = normalize_identity(kind, query)
        except ValueError:
            continue
        matches |= Q(identities__kind=kind, identities__value=value)
    return (
        Customer.objects.filter(matches, merged_into__isnull=True)
        .distinct()
        .order_by("-updated_at")
        .values("pk", "display_name", "updated_at")[:limit]
    )


def _customer_hit(row: dict[str, Any], query: str) -> SearchHit:
    return SearchHit(
        kind="customer",
        customer_id=row["pk"],
        object_id=row["pk"],
        snippet=row["display_name"] or f"Customer #{row['pk']}",
        at=row["updated_at"],
    )


def _cases_rows(query: str, *, limit: int) -> QuerySet[Any]:
    from memory.services import reference_key

    matches = Q(title__icontains=query)
    key = reference_key(query)
    if len(key) >= 3:
        matches |= Q(reference_key=key)
    return (
        Case.objects.filter(matches)
        .order_by("-updated_at")
        .values(
            "pk",
            "customer_id",
            "kind",
            "reference",
            "status",
            "title",
            "updated_at",
            customer_name=F("customer__display_name"),
        )[:limit]
    )


def _case_hit(row: dict[str, Any], query: str) -> SearchHit:
    return SearchHit(
        kind="case",
        customer_id=row["customer_id"],
        object_id=row["pk"],
        snippet=f"{row['kind']} {row['reference']} ({row['status']}) {row['title']}".strip(),
        at=row["updated_at"],
    )


def _facts_rows(query: str, *, limit: int) -> QuerySet[Any]:
    return (
        Fact.objects.filter(
            Q(value__icontains=query) | Q(key__icontains=query), valid_until__isnull=True
        )
        .order_by("-valid_from")
        .values(
            "pk",
            "customer_id",
            "key",
            "value",
            "valid_from",
            customer_name=F("customer__display_name"),
        )[:limit]
    )


def _fact_hit(row: dict[str, Any], query: str) -> SearchHit:
    return SearchHit(
        kind="fact",
        customer_id=row["customer_id"],
        object_id=row["pk"],
        snippet=f"{row['key']}: {_snippet(row['value'], query)}",
        at=row["valid_from"],
    )


def _conversations_rows(
    query: str,
    *,
    channel: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
) -> QuerySet[Any]:
    rows = Conversation.objects.filter(Q(subject__icontains=query) | Q(summary__icontains=query))
    rows = _in_window(rows, "last_message_at", channel=channel, since=since, until=until)
    found: QuerySet[Any] = rows.order_by("-last_message_at").values(
        "pk",
        "customer_id",
        "subject",
        "summary",
        "last_message_at",
        customer_name=F("customer__display_name"),
    )[:limit]
    return found


def _conversation_hit(row: dict[str, Any], query: str) -> SearchHit:
    return SearchHit(
        kind="conversation",
        customer_id=row["customer_id"],
        object_id=row["pk"],
        snippet=_snippet(row["subject"] + " " + row["summary"], query),
        at=row["last_message_at"],
    )


def _messages_rows(
    query: str,
    *,
    channel: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
    sentiment: str,
    limit: int,
) -> QuerySet[Any]:
    rows = Message.objects.filter(text__icontains=query)
    rows = _in_window(rows, "sent_at", channel=channel, since=since, until=until)
    if sentiment:
        rows = rows.filter(sentiment__label=sentiment)
    found: QuerySet[Any] = rows.order_by("-sent_at", "-pk").values(
        "pk",
        "customer_id",
        "text",
        "sent_at",
        customer_name=F("customer__display_name"),
    )[:limit]
    return found


def _message_hit(row: dict[str, Any], query: str) -> SearchHit:
    return SearchHit(
        kind="message",
        customer_id=row["customer_id"],
        object_id=row["pk"],
        snippet=_snippet(row["text"], query),
        at=row["sent_at"],
    )


_HIT_OF = {
    "customer": _customer_hit,
    "case": _case_hit,
    "fact": _fact_hit,
    "conversation": _conversation_hit,
    "message": _message_hit,
}


def _in_window(
    rows: Any,
    time_field: str,
    *,
    channel: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Any:
    if channel:
        rows = rows.filter(channel=channel)
    if since is not None:
        rows = rows.filter(**{f"{time_field}__gte": since})
    if until is not None:
        rows = rows.filter(**{f"{time_field}__lt": until})
    return rows


def customers_shown(
    *,
    actor: Actor,
    customers: Iterable[Customer],
    partitions: frozenset[Partition],
    purpose: str,
    correlation_id: str = "",
) -> list[Customer]:
    """The customers a list page shows (an API index page, an admin list), each a read through
    the gate of the partitions the page shows of them: audited and watched like any other
    read, so a sweep through the index is seen. A quarantined actor, or one stopped midway,
    is refused the page (ContextAccessRefused)."""
    if actor_is_quarantined(actor):
        raise ContextAccessRefused(actor, partitions, "quarantined")
    shown = list(customers)
    if all(actor.may_read(p) for p in partitions):
        admitted = customers_admit(
            actor=actor,
            customers=[(customer, partitions) for customer in shown],
            purpose=purpose,
            correlation_id=correlation_id,
        )
        if admitted is not None:
            return shown
    for customer in shown:
        with access_gate(
            actor=actor,
            customer=customer,
            asked=partitions,
            purpose=purpose,
            correlation_id=correlation_id,
        ):
            pass
    return shown
