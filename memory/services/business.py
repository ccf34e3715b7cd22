"""Business state: cases and versioned facts with provenance, and writes from other systems."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from memory.identities import normalize_identity
from memory.models import (
    Case,
    Customer,
    Fact,
    Identity,
    Message,
    WriteConflict,
)
from memory.services.customers import customer_create, customer_update_profile, identity_link
from memory.text_limits import fact_value

if TYPE_CHECKING:
    from django.contrib.auth.models import User


# Business state -------------------------------------------------------------------------------


def _lock_customer(customer: Customer) -> Customer:
    """Take the customer's row lock: business writes for one customer happen one at a time."""
    return (
        Customer.objects.select_for_update(no_key=True)
        .only("pk", "business_version")
        .get(pk=customer.pk)
    )


def _bump_business_version(locked: Customer) -> int:
    # A counter, not customer data: left out of the change log so every fact is not logged twice.
    locked.business_version += 1
    Customer.objects.filter(pk=locked.pk).update(business_version=locked.business_version)
    return locked.business_version


def _stated_by_person(asserted_by: str) -> bool:
    return asserted_by in {Fact.AssertedBy.HUMAN, Fact.AssertedBy.CUSTOMER}


def case_open(
    *,
    customer: Customer,
    kind: str,
    reference: str,
    title: str = "",
    status: str = Case.Status.OPEN,
    source_message: Message | None = None,
    opened_at: dt.datetime | None = None,
) -> Case:
    """The customer's case with this reference, opened if new (idempotent by reference)."""
    reference = reference.strip()
    case = Case.objects.filter(customer=customer, kind=kind, reference__iexact=reference).first()
    if case is not None:
        return case
    try:
        with transaction.atomic():
            locked = _lock_customer(customer)
            return Case.objects.create(
                customer=customer,
                kind=kind,
                reference=reference,
                reference_key=reference_key(reference),
                title=title,
                status=status,
                source_message=source_message,
                opened_at=opened_at or timezone.now(),
                written_version=_bump_business_version(locked),
            )
    except IntegrityError:
        return Case.objects.get(customer=customer, kind=kind, reference=reference)


def reference_key(reference: str) -> str:
    """A reference as upper-case letters and digits: HO-364415, ho 364415 and HO364415 meet."""
    return re.sub(r"[^A-Z0-9]", "", reference.upper())


def case_set_status(
    *, case: Case, status: str, expected_version: int | None = None, writer: str = ""
) -> Case:
    """Move a case to a new status; closing it stamps when.

    A writer that names the business version it decided on loses to a status change made
    after that version (the later decision stands), and the clash is recorded.
    """
    if status not in Case.Status.values:
        raise ValueError(f"unknown case status {status!r}")
    with transaction.atomic():
        customer = _lock_customer(case.customer)
        locked = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
        if locked.status == status:
            return locked
        if expected_version is not None and locked.written_version > expected_version:
            WriteConflict.objects.create(
                customer_id=locked.customer_id,
                partition="business",
                key=f"case:{locked.reference}:status",
                writer=writer,
                attempted_value=status,
                kept_value=locked.status,
                expected_version=expected_version,
                actual_version=customer.business_version,
                resolution=WriteConflict.Resolution.KEPT_NEWER,
            )
            return locked
        locked.status = status
        closing = status not in Case.OPEN_STATUSES
        locked.closed_at = timezone.now() if closing else None
        locked.written_version = _bump_business_version(customer)
        locked.save(update_fields=["status", "closed_at", "written_version", "updated_at"])
    return locked


def fact_assert(
    *,
    customer: Customer,
    key: str,
    value: str,
    asserted_by: str,
    case: Case | None = None,
    confidence: float = 1.0,
    source_message: Message | None = None,
    asserted_by_agent: str = "",
    asserted_by_user: User | None = None,
    valid_from: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Fact:
    """State a value for a key; the value it replaces leaves "current" and stays as history.

    Restating the current value changes nothing. A statement older than the current value
    (a delayed delivery) is filed as history instead of overwriting newer knowledge.

    Optimistic concurrency: a writer passes the business version it read. If the key was
    changed after that version, the rule is "the later statement wins; on a tie a person
    beats an agent", and the clash is recorded as a WriteConflict either way.
    """
    if case is not None and case.customer_id != customer.pk:
        raise ValueError("the case belongs to another customer")
    key = key.strip().lower()
    # A fact is a short value; anything longer is cut to RAPPORT_MAX_FACT_CHARS, so no writer
    # can hand every later context read megabytes to mask.
    value = fact_value(value.strip())
    if not key or not value:
        raise ValueError("a fact needs a key and a value")
    if valid_from is None:
        valid_from = source_message.sent_at if source_message is not None else timezone.now()
    provenance = {
        "confidence": confidence,
        "source_message": source_message,
        "asserted_by": asserted_by,
        "asserted_by_agent": asserted_by_agent,
        "asserted_by_user": asserted_by_user,
    }
    with transaction.atomic():
        # One writer at a time per customer keeps "one current value per key" simple to hold.
        locked = _lock_customer(customer)
        current = Fact.objects.filter(
            customer=customer, case=case, key=key, valid_until__isnull=True
        ).first()
        if current is not None and current.value.casefold() == value.casefold():
            if confidence > current.confidence:
                current.confidence = confidence
                current.save(update_fields=["confidence"])
            return current
        if (
            current is not None
            and expected_version is not None
            and current.written_version > expected_version
        ):
            incoming_wins = valid_from > current.valid_from or (
                valid_from == current.valid_from
                and _stated_by_person(asserted_by)
                and not _stated_by_person(current.asserted_by)
            )
            WriteConflict.objects.create(
                customer=customer,
                partition="business",
                key=key if case is None else f"case:{case.reference}:{key}",
                writer=asserted_by_agent or asserted_by,
                attempted_value=value,
                kept_value=value if incoming_wins else current.value,
                expected_version=expected_version,
                actual_version=locked.business_version,
                resolution=(
                    WriteConflict.Resolution.APPLIED
                    if incoming_wins
                    else WriteConflict.Resolution.KEPT_NEWER
                ),
            )
            if not incoming_wins:
                return current
        if current is not None and valid_from < current.valid_from:
            already_known = Fact.objects.filter(
                customer=customer, case=case, key=key, value__iexact=value
            ).first()
            if already_known is not None:
                return already_known
            return Fact.objects.create(
                customer=customer,
                case=case,
                key=key,
                value=value,
                valid_from=valid_from,
                valid_until=current.valid_from,
                written_version=_bump_business_version(locked),
                **provenance,
            )
        if current is not None:
            current.valid_until = valid_from
            current.save(update_fields=["valid_until"])
        fact = Fact.objects.create(
            customer=customer,
            case=case,
            key=key,
            value=value,
            valid_from=valid_from,
            written_version=_bump_business_version(locked),
            **provenance,
        )
        if current is not None:
            current.replaced_by = fact
            current.save(update_fields=["replaced_by"])
    return fact


# Writes from other systems (the REST API) -------------------------------------------------


class StaleVersion(Exception):
    """A writer named a business version older than the value it meant to replace."""

    def __init__(self, current: Fact, expected_version: int) -> None:
        super().__init__(
            f"{current.key} was changed at version {current.written_version}, "
            f"after version {expected_version} the writer read"
        )
        self.current = current
        self.expected_version = expected_version


def fact_assert_unless_stale(
    *,
    customer: Customer,
    key: str,
    value: str,
    expected_version: int,
    asserted_by: str,
    asserted_by_agent: str = "",
    case: Case | None = None,
) -> Fact:
    """State a value for a key only if the key has not changed since `expected_version`.

    Unlike `fact_assert`, which settles a clash by "the later statement wins", a client that
    decided on a stale view is refused (StaleVersion) and must read again.
    """
    with transaction.atomic():
        _lock_customer(customer)
        current = Fact.objects.filter(
            customer=customer, case=case, key=key.strip().lower(), valid_until__isnull=True
        ).first()
        if current is not None and current.written_version > expected_version:
            raise StaleVersion(current, expected_version)
        return fact_assert(
            customer=customer,
            key=key,
            value=value,
            asserted_by=asserted_by,
            asserted_by_agent=asserted_by_agent,
            case=case,
        )


@dataclass(frozen=True)
class CustomerUpsert:
    """What one CRM profile did: the customer it landed on, and whether it was new."""

    customer: Customer
    created: bool


def customer_upsert(
    *,
    display_name: str,
    external_id: str | None = None,
    identities: list[tuple[str, str]] | None = None,
    source: str = "",
) -> CustomerUpsert:
    """Create or update a customer from a CRM profile, found by its external id or else by any
    of its identities; the same profile twice changes nothing the second time."""
    identities = identities or []
    wanted = [(kind, normalize_identity(kind, raw)) for kind, raw in identities]
    with transaction.atomic():
        found = None
        if external_id:
            found = Customer.objects.filter(external_id=external_id).first()
        if found is None and wanted:
            matches = Q()
            for kind, value in wanted:
                matches |= Q(kind=kind, value=value)
            holder = Identity.objects.filter(matches).select_related("customer").first()
            found = holder.customer if holder is not None else None
        if found is None:
            customer = customer_create(
                display_name=display_name,
                external_id=external_id,
                identities=identities,
                source=source,
            )
            return CustomerUpsert(customer=customer, created=True)
        customer = Customer.objects.select_for_update(no_key=True).get(pk=found.pk)
        if external_id and customer.external_id != external_id:
            customer.external_id = external_id
            customer.profile_version += 1
            customer.save(update_fields=["external_id", "profile_version", "updated_at"])
        if display_name and display_name != customer.display_name:
            customer = customer_update_profile(customer=customer, display_name=display_name)
        for kind, raw in identities:
            identity_link(customer=customer, kind=kind, address=raw, source=source, verified=True)
    return CustomerUpsert(customer=customer, created=False)
