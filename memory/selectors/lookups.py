"""Lookups that find a record by what identifies it, without reading anyone's context."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from memory.models import (
    ApiClient,
    Case,
    Channel,
    Conversation,
    Customer,
    Fact,
    Identity,
    IntentCorrection,
    MergeProposal,
    Message,
)

if TYPE_CHECKING:
    from collections.abc import Iterable


def cases_find_by_reference_keys(*, keys: Iterable[str]) -> list[Case]:
    """Cases whose reference, reduced to letters and digits, is one of `keys` (no context)."""
    wanted = {key for key in keys if len(key) >= 5}
    if not wanted:
        return []
    return list(
        Case.objects.filter(reference_key__in=wanted).only(
            "pk", "customer_id", "kind", "reference", "status"
        )
    )


def customer_find(*, customer_id: int) -> Customer | None:
    """The customer with this id (merged away or not), or None: callers answer "not found"."""
    return Customer.objects.filter(pk=customer_id).first()


def customer_get(*, customer_id: int) -> Customer:
    """The customer with this id; raises Customer.DoesNotExist, which the API answers as 404."""
    return Customer.objects.get(pk=customer_id)


def customers_index(
    *, external_id: str = "", identities: Iterable[tuple[str, str]] = ()
) -> QuerySet[Customer]:
    """Customers not merged away, by id, narrowed to an external id and to every one of these
    (already normalised) identities; no context is read. A queryset, so the API pages it in
    SQL rather than loading every customer."""
    rows = Customer.objects.filter(merged_into__isnull=True).order_by("pk")
    if external_id:
        rows = rows.filter(external_id=external_id)
    for kind, value in identities:
        rows = rows.filter(identities__kind=kind, identities__value=value)
    return rows


def customer_find_by_identity(*, kind: str, value: str) -> Customer | None:
    """Which customer holds this (already normalised) identity; no context is read."""
    identity = Identity.objects.select_related("customer").filter(kind=kind, value=value).first()
    return identity.customer if identity is not None else None


def customer_claimers(*, customer_id: int) -> list[Customer]:
    """The records (not merged away) whose senders claimed one of this customer's addresses
    before it wrote from it: each claim is one piece of evidence that they are one person."""
    found: dict[int, Customer] = {}
    for identity in Identity.objects.filter(
        customer_id=customer_id, claimed_by__isnull=False
    ).select_related("claimed_by"):
        claimer = identity.claimed_by
        seen: set[int] = set()
        while claimer is not None and claimer.merged_into_id is not None:
            if claimer.pk in seen:
                break
            seen.add(claimer.pk)
            claimer = Customer.objects.filter(pk=claimer.merged_into_id).first()
        if claimer is not None and claimer.pk != customer_id:
            found[claimer.pk] = claimer
    return list(found.values())


def conversation_find(*, conversation_id: int) -> Conversation | None:
    """The conversation with this id, or None (a task whose row was erased or never made)."""
    return Conversation.objects.filter(pk=conversation_id).first()


def conversation_open_for_thread(*, channel: str, thread_key: str) -> Conversation | None:
    """The thread's conversation that is not closed yet (a call's, by its CallSid), or None."""
    return (
        Conversation.objects.filter(channel=channel, thread_key=thread_key)
        .exclude(status=Conversation.Status.CLOSED)
        .first()
    )


def case_find(*, case_id: int, customer_id: int) -> Case | None:
    """The case with this id if it is this customer's, so a caller cannot reach another's."""
    return Case.objects.filter(pk=case_id, customer_id=customer_id).first()


def case_find_by_reference(*, customer_id: int, reference: str) -> Case | None:
    """This customer's case with this reference, whatever its letter case (agents quote it)."""
    return Case.objects.filter(customer_id=customer_id, reference__iexact=reference).first()


def fact_find_current(*, customer_id: int, key: str, case_id: int | None = None) -> Fact | None:
    """The customer's current fact under `key` (on the case, or on none), to keep a first
    statement rather than replace it."""
    current = Fact.objects.filter(customer_id=customer_id, key=key, valid_until__isnull=True)
    if case_id is None:
        return current.filter(case__isnull=True).first()
    return current.filter(case_id=case_id).first()


def message_with_conversation(*, message_id: int) -> Message | None:
    """A message and its conversation in one query, or None (erased, or never stored)."""
    return Message.objects.select_related("conversation").filter(pk=message_id).first()


def message_find(*, message_id: int, channel: str) -> Message | None:
    """The message with this id on this channel, or None (a provider's callback may name a
    message that is not its channel's)."""
    return Message.objects.filter(pk=message_id, channel=channel).first()


def message_find_by_provider_id(*, channel: str, provider_id: str) -> Message | None:
    """The message a provider knows by this id on this channel: a retried delivery finds the
    first copy."""
    return Message.objects.filter(channel=channel, provider_id=provider_id).first()


def message_inbound_find(*, message_id: int, customer_id: int) -> Message | None:
    """One of this customer's own turns, or None: a person corrects only those."""
    return Message.objects.filter(
        pk=message_id, customer_id=customer_id, direction=Message.Direction.INBOUND
    ).first()


def email_thread_key_find(*, provider_ids: Iterable[str]) -> str | None:
    """The thread key of the newest e-mail Rapport holds among these Message-IDs, so a reply
    joins the conversation of the message it answers."""
    return (
        Message.objects.filter(channel=Channel.EMAIL, provider_id__in=list(provider_ids))
        .select_related("conversation")
        .order_by("-sent_at")
        .values_list("conversation__thread_key", flat=True)
        .first()
    )


def merge_proposal_find(*, proposal_id: int, customer_id: int) -> MergeProposal | None:
    """A merge proposal about this customer (on either side), or None."""
    return MergeProposal.objects.filter(
        Q(customer_id=customer_id) | Q(other_customer_id=customer_id), pk=proposal_id
    ).first()


def intent_corrections_list() -> list[tuple[str, str]]:
    """Every person's intent correction as (message text, corrected intent), oldest first:
    the examples a retrained intent model learns from."""
    return list(
        IntentCorrection.objects.order_by("pk").values_list("message__text", "corrected_intent")
    )


def api_client_find(*, name: str) -> ApiClient | None:
    return ApiClient.objects.filter(name=name).first()


def api_clients_list() -> list[ApiClient]:
    return list(ApiClient.objects.order_by("name"))
