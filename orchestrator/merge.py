"""The merge: applies what the agents proposed to the graph through memory's services, each
write naming the business version its agent read, so a change made since is caught.

The rule for a clash is memory's (`fact_assert`, `case_set_status`): the later statement
wins, on a tie a person beats an agent, and a status change made after the version the agent
read stands. Every clash is recorded as a WriteConflict and listed in the merge record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction

from memory import services as memory_services
from memory.identities import InvalidAddress, normalize_identity
from memory.models import Case, Customer, Fact, Identity, Message
from memory.selectors import (
    case_find,
    case_find_by_reference,
    cases_find_by_reference_keys,
    customer_claimers,
    customer_find_by_identity,
    customer_get,
    fact_find_current,
    merge_proposals_pending_for,
)
from memory.services import LinkEvidence
from memory.services.proposals import names_match
from orchestrator.agents.base import ProposedWrite, WriteKind
from orchestrator.intelligence.postcodes import postcodes_in

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgentWrites:
    """One agent's proposed writes, as the merge takes them."""

    agent: str
    writes: tuple[ProposedWrite, ...]


@dataclass(frozen=True)
class MergeResult:
    """What the merge changed, and which writes lost to a newer one."""

    applied: tuple[dict[str, Any], ...] = ()
    conflicts: tuple[dict[str, Any], ...] = ()
    refused: tuple[dict[str, Any], ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "applied": list(self.applied),
            "conflicts": list(self.conflicts),
            "refused": list(self.refused),
        }


# Kept as first stated; a later statement does not replace them.
FIRST_STATEMENT_KEYS = frozenset({"issue"})

# Who the customer is first (evidence may fold a stranger record into a known one), then
# cases (facts may be filed on them), then what the turn said, then status changes.
_ORDER = {
    WriteKind.LINK: 0,
    WriteKind.IDENTITY: 1,
    WriteKind.PROFILE: 2,
    WriteKind.CASE_OPEN: 3,
    WriteKind.SENTIMENT: 4,
    WriteKind.GIST: 4,
    WriteKind.SIGNAL: 4,
    WriteKind.FACT: 5,
    WriteKind.TAG: 5,
    WriteKind.CASE_STATUS: 6,
}


def writes_apply(
    *, message: Message, proposals: list[AgentWrites], may_write: dict[str, frozenset[WriteKind]]
) -> MergeResult:
    """Apply every agent's graph writes in one transaction; a write an agent may not make is
    refused and named. Replies, handoffs and priorities are the router's, not applied here.
    """
    applied: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    ordered = sorted(
        ((p.agent, w) for p in proposals for w in p.writes if w.kind in _ORDER),
        key=lambda item: _ORDER[item[1].kind],
    )
    cases: dict[str, Case] = {}
    with transaction.atomic():
        customer_before = message.customer_id
        for agent, write in ordered:
            if write.kind not in may_write.get(agent, frozenset()):
                refused.append({"agent": agent, "kind": write.kind.value, "key": write.key})
                continue
            if message.customer_id != customer_before:
                # The turn now belongs to another record: the versions agents read are moot.
                write = replace(write, based_on_version=None)
            outcome = _apply(agent=agent, write=write, message=message, cases=cases)
            entry = {"agent": agent, "kind": write.kind.value, "key": write.key, **outcome}
            (conflicts if outcome.get("conflict") else applied).append(entry)
    if conflicts:
        logger.info("message #%s: %s write(s) lost to newer ones", message.pk, len(conflicts))
    return MergeResult(applied=tuple(applied), conflicts=tuple(conflicts), refused=tuple(refused))


def _apply(
    *, agent: str, write: ProposedWrite, message: Message, cases: dict[str, Case]
) -> dict[str, Any]:
    customer = message.customer
    if write.kind == WriteKind.CASE_OPEN:
        case = memory_services.case_open(
            customer=customer,
            kind=write.key,
            reference=write.case_reference,
            title=f"{write.key.title()} {write.case_reference}",
            source_message=message,
            opened_at=message.sent_at,
        )
        cases[case.reference.casefold()] = case
        return {"value": case.reference, "case_id": case.pk}
    if write.kind == WriteKind.SENTIMENT:
        reading = memory_services.sentiment_record(
            message=message,
            label=write.value,
            score=float(write.detail.get("score", 0.0)),
            confidence=write.confidence,
            model_name=str(write.detail.get("model", "")),
        )
        return {"value": reading.label}
    if write.kind == WriteKind.SIGNAL:
        signal = memory_services.customer_signal_record(
            message=message,
            kind=write.key,
            score=write.confidence,
            model_name=str(write.detail.get("model", "")),
        )
        return {"value": f"{signal.score:.2f}", "evidence": signal.evidence_message_ids}
    if write.kind == WriteKind.IDENTITY:
        return _identity_link(agent=agent, write=write, message=message)
    if write.kind == WriteKind.LINK:
        return _link_by_evidence(agent=agent, write=write, message=message)
    if write.kind == WriteKind.PROFILE:
        if message.customer.display_name:
            return {"value": write.value, "skipped": "name already known"}
        memory_services.customer_update_profile(customer=message.customer, display_name=write.value)
        return {"value": write.value}
    if write.kind == WriteKind.GIST:
        memory_services.message_set_gist(
            message=message, gist=write.value, is_filler=bool(write.detail.get("is_filler"))
        )
        return {"value": write.value[:80]}
    if write.kind in (WriteKind.FACT, WriteKind.TAG):
        return _fact_assert(agent=agent, write=write, message=message, cases=cases)
    return _case_status(agent=agent, write=write, message=message)


def _fact_assert(
    *, agent: str, write: ProposedWrite, message: Message, cases: dict[str, Case]
) -> dict[str, Any]:
    key = f"tag_{write.key}" if write.kind == WriteKind.TAG else write.key
    value = write.value or "yes"
    case = None
    if write.case_reference:
        case = cases.get(write.case_reference.casefold()) or case_find_by_reference(
            customer_id=message.customer_id, reference=write.case_reference
        )
    if key in FIRST_STATEMENT_KEYS and (
        described := fact_find_current(
            customer_id=message.customer_id, key=key, case_id=case.pk if case else None
        )
    ):
        # How the customer first described a problem stays: follow-ups are not new problems.
        return {"value": value, "skipped": "already described", "fact_id": described.pk}
    fact = memory_services.fact_assert(
        customer=message.customer,
        case=case,
        key=key,
        value=value,
        asserted_by=Fact.AssertedBy.AGENT,
        asserted_by_agent=agent,
        confidence=max(0.0, min(1.0, write.confidence)),
        source_message=message,
        expected_version=write.based_on_version,
    )
    lost = not fact.is_current or fact.value.casefold() != value.casefold()
    outcome: dict[str, Any] = {"value": value, "fact_id": fact.pk}
    if lost:
        outcome.update(conflict=True, kept=fact.value if fact.is_current else None)
    return outcome


def _case_status(*, agent: str, write: ProposedWrite, message: Message) -> dict[str, Any]:
    case_id = write.detail.get("case_id")
    case = (
        case_find(case_id=case_id, customer_id=message.customer_id) if case_id is not None else None
    )
    if case is None:
        return {"value": write.value, "skipped": "no such open case"}
    result = memory_services.case_set_status(
        case=case, status=write.value, expected_version=write.based_on_version, writer=agent
    )
    outcome: dict[str, Any] = {"value": write.value, "case": result.reference}
    if result.status != write.value:
        outcome.update(conflict=True, kept=result.status)
    return outcome


def _identity_link(*, agent: str, write: ProposedWrite, message: Message) -> dict[str, Any]:
    """Link a stated e-mail or phone as a claim to verify; when another customer holds it,
    a person is asked about a merge: knowing someone's address never makes you them.
    """
    kind = Identity.Kind.EMAIL if write.key == "email" else Identity.Kind.PHONE
    try:
        identity = memory_services.identity_link(
            customer=message.customer,
            kind=kind,
            address=write.value,
            source=f"stated in message #{message.pk}",
        )
    except memory_services.IdentityBelongsToAnotherCustomer as clash:
        holder = clash.identity.customer
        if holder.merged_into_id is not None:
            return {"value": write.value, "skipped": "held by a merged-away record"}
        memory_services.merge_propose(
            customer=message.customer,
            other_customer=holder,
            reason=(
                f"customer stated {kind} {write.value}, held by customer #{holder.pk}"
                f" (message #{message.pk})"
            ),
            proposed_by=f"agent:{agent}",
            evidence_message=message,
            evidence=[LinkEvidence.CONTACT],
        )
        return {"value": write.value, "merge_proposed_with": holder.pk}
    except InvalidAddress:
        return {"value": write.value, "skipped": "not a usable address"}
    return {"value": identity.value}


def _link_by_evidence(*, agent: str, write: ProposedWrite, message: Message) -> dict[str, Any]:
    """Weigh what the customer quoted against each record that holds some of it: a reference,
    a stated e-mail or phone, a name, a postcode. Memory's rule decides what it is enough for
    (two independent pieces link; one asks a person).
    """
    detail = write.detail
    name = str(detail.get("name") or "") or message.customer.display_name
    found: dict[int, set[str]] = {}
    quoted: dict[int, list[str]] = {}
    keys = [str(key) for key in detail.get("keys", [])]
    for case in cases_find_by_reference_keys(keys=keys):
        if case.customer_id != message.customer_id:
            found.setdefault(case.customer_id, set()).add(LinkEvidence.REFERENCE)
            quoted.setdefault(case.customer_id, []).append(f"{case.kind} {case.reference}")
    for kind, raw in detail.get("contacts", []):
        holder = _contact_holder(str(kind), str(raw))
        if holder is not None and holder != message.customer_id:
            found.setdefault(holder, set()).add(LinkEvidence.CONTACT)
            quoted.setdefault(holder, []).append(f"{kind} {raw}")
    # Whoever claimed the address this sender writes from: one piece, which what they say
    # now (a name, a reference of the claimer's) may complete.
    for claimer in customer_claimers(customer_id=message.customer_id):
        found.setdefault(claimer.pk, set()).add(LinkEvidence.CLAIMED)
        quoted.setdefault(claimer.pk, []).append("the address they write from (claimed)")
    if not found:
        return {"value": "", "skipped": "no other record holds what was quoted"}
    postcodes = {str(code) for code in detail.get("postcodes", [])}
    holders = {holder_id: customer_get(customer_id=holder_id) for holder_id in sorted(found)}
    _join_through_pending(name=name, holders=holders, found=found, quoted=quoted, agent=agent)
    for holder_id in holders:
        if postcodes and postcodes & _postcodes_of(holder_id):
            found[holder_id].add(LinkEvidence.POSTCODE)
            quoted[holder_id].append("postcode")
    # Several records may hold a quoted reference (a stranger who quoted it before keeps a
    # copy on their own record): the one that two pieces point to is the person, if only one.
    strong = [
        holder_id
        for holder_id, other in holders.items()
        if other.merged_into_id is None
        and len(found[holder_id] | _name_piece(name, other.display_name)) >= 2
    ]
    outcomes = []
    for holder_id, other in holders.items():
        if other.merged_into_id is not None:
            continue
        evidence = set(found[holder_id])
        outcomes.append(
            _one_person(
                agent=agent,
                message=message,
                other=other,
                evidence=frozenset(evidence),
                reason=(
                    f"customer quoted {', '.join(quoted[holder_id])}, held by customer #{holder_id}"
                ),
                stated_name=name,
                may_link=len(found) == 1 or strong == [holder_id],
            )
        )
        if message.customer_id == holder_id:
            break
    return outcomes[-1] if outcomes else {"value": "", "skipped": "only merged-away records"}


def _join_through_pending(
    *,
    name: str,
    holders: dict[int, Customer],
    found: dict[int, set[str]],
    quoted: dict[int, list[str]],
    agent: str,
) -> None:
    """A nameless record the sender quoted (their reference) may be waiting on a person's
    decision about a record it said it was (it stated that record's e-mail, say): when the
    sender gives that record's full name, the reference and the name point at one person
    through the pair. Three pieces across three records (the pair's own, the reference,
    the name) decide the pair, and the merged record stands in for both below.

    ("I'll send the details from ana@example.com" from a new phone, then a call from a third
    phone: "Ana Ruiz here, about order 88123".) Names that clash, or a pair a person was
    asked about because of them, are left to the person.
    """
    if not name:
        return
    for holder_id in list(holders):
        holder = holders.get(holder_id)
        if holder is None or holder.display_name or holder.merged_into_id is not None:
            continue
        for proposal in merge_proposals_pending_for(customer_id=holder_id):
            partner = (
                proposal.other_customer if proposal.customer_id == holder_id else proposal.customer
            )
            # Only a pair resting on the holder's stating the partner's own e-mail or phone:
            # a pair made by quoting a reference is someone asking after another's case, and
            # a name said later must not fold the asker into the owner.
            if set(proposal.evidence) != {LinkEvidence.CONTACT}:
                continue
            if partner.merged_into_id is not None:
                continue
            if not names_match(name, partner.display_name):
                continue
            memory_services.merge_proposal_decide(
                proposal=proposal, accept=True, decided_by=f"agent:{agent}"
            )
            survivor = customer_get(customer_id=holder_id)
            if survivor.merged_into_id is not None:
                survivor = customer_get(customer_id=survivor.merged_into_id)
            pieces = found.pop(holder_id, set()) | found.pop(partner.pk, set())
            said = quoted.pop(holder_id, []) + quoted.pop(partner.pk, [])
            holders.pop(holder_id, None)
            holders.pop(partner.pk, None)
            holders[survivor.pk] = survivor
            found[survivor.pk] = pieces
            quoted[survivor.pk] = [*said, f"joined with customer #{partner.pk} by name"]
            break


def _name_piece(stated: str, held: str) -> set[str]:
    return {LinkEvidence.NAME} if stated and names_match(stated, held) else set()


def _contact_holder(kind: str, raw: str) -> int | None:
    try:
        value = normalize_identity(kind, raw)
    except InvalidAddress:
        return None
    holder = customer_find_by_identity(kind=kind, value=value)
    return holder.pk if holder is not None else None


def _postcodes_of(customer_id: int) -> frozenset[str]:
    """The postcodes in the addresses a record holds (its current address and postcode)."""
    codes: set[str] = set()
    for key in ("address", "postcode", "zip"):
        fact = fact_find_current(customer_id=customer_id, key=key)
        if fact is not None:
            codes |= postcodes_in(fact.value) or (
                {fact.value.replace(" ", "").upper()} if key != "address" else set()
            )
    return frozenset(codes)


def _one_person(
    *,
    agent: str,
    message: Message,
    other: Customer,
    evidence: frozenset[str],
    reason: str,
    stated_name: str = "",
    may_link: bool = True,
) -> dict[str, Any]:
    """Act on evidence that the message's customer is `other` too, by memory's rule."""
    before = message.customer_id
    customer = memory_services.customer_link_evidence(
        customer=message.customer,
        other=other,
        evidence=evidence if may_link else frozenset(),
        reason=f"{reason} (message #{message.pk})",
        decided_by=f"agent:{agent}",
        message=message,
        stated_name=stated_name,
    )
    message.refresh_from_db(fields=["customer"])
    if customer.pk != before or message.customer_id != before:
        return {
            "value": str(message.customer_id),
            "merged_into": message.customer_id,
            "evidence": sorted(evidence),
        }
    return {"value": str(other.pk), "merge_proposed_with": other.pk, "evidence": sorted(evidence)}
