"""The merge: applies what the agents proposed to the graph through memory's services, each
write naming the business version its agent read, so a change made since is caught.

The rule for a clash is memory's (`fact_assert`, `case_set_status`): the later statement
wins, on a tie a person beats an agent, and a status change made after the version the agent
read stands. Every clash is recorded as a WriteConflict and listed in the merge record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from memory import services as memory_services
from memory.identities import InvalidAddress
from memory.models import Case, Fact, Identity, Message
from orchestrator.agents.base import ProposedWrite, WriteKind

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


# Cases first (facts may be filed on them), then identities and facts, then status changes.
_ORDER = {
    WriteKind.CASE_OPEN: 0,
    WriteKind.SENTIMENT: 1,
    WriteKind.IDENTITY: 2,
    WriteKind.FACT: 3,
    WriteKind.TAG: 3,
    WriteKind.CASE_STATUS: 4,
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
        for agent, write in ordered:
            if write.kind not in may_write.get(agent, frozenset()):
                refused.append({"agent": agent, "kind": write.kind.value, "key": write.key})
                continue
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
    if write.kind == WriteKind.IDENTITY:
        return _identity_link(agent=agent, write=write, message=message)
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
        case = cases.get(write.case_reference.casefold()) or (
            Case.objects.filter(
                customer=message.customer, reference__iexact=write.case_reference
            ).first()
        )
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
    case = Case.objects.filter(pk=case_id, customer=message.customer).first()
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
    """Link a stated e-mail or phone, or ask a person about a merge when someone else has it."""
    kind = Identity.Kind.EMAIL if write.key == "email" else Identity.Kind.PHONE
    try:
        identity = memory_services.identity_link(
            customer=message.customer,
            kind=kind,
            address=write.value,
            source=f"stated in message #{message.pk}",
        )
    except memory_services.IdentityBelongsToAnotherCustomer as clash:
        proposal = memory_services.merge_propose(
            customer=message.customer,
            other_customer=clash.identity.customer,
            reason=(
                f"customer stated {kind} {write.value} in message #{message.pk};"
                f" it belongs to customer #{clash.identity.customer_id}"
            ),
            proposed_by=f"agent:{agent}",
            evidence_message=message,
        )
        return {"value": write.value, "merge_proposal": proposal.pk}
    except InvalidAddress:
        return {"value": write.value, "skipped": "not a usable address"}
    return {"value": identity.value}
