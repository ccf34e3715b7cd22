"""Customer signals: churn risk and buying intent, raised by the turns that show them and
fading with time and with ordinary turns."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from memory.models import CustomerSignal, Message

# A turn at or above this reads as evidence; under it, it eases the signal a little.
EVIDENCE_AT = 0.5
# A signal halves every two weeks without new evidence; each ordinary turn keeps 90% of it.
HALF_LIFE_DAYS = 14.0
ORDINARY_TURN_KEEPS = 0.9
EVIDENCE_KEPT = 5


def customer_signal_record(
    *, message: Message, kind: str, score: float, model_name: str = ""
) -> CustomerSignal:
    """Fold one inbound turn's reading into the customer's signal of `kind`.

    Evidence accumulates (two strong turns say more than one: 1 - (1-a)(1-b)); the turn is
    named in the evidence so a person can read what raised it. Re-recording the same turn
    (a redelivered task) changes nothing.
    """
    if kind not in CustomerSignal.Kind.values:
        raise ValueError(f"unknown signal kind {kind!r}")
    score = max(0.0, min(1.0, score))
    with transaction.atomic():
        signal, _ = CustomerSignal.objects.select_for_update(no_key=True).get_or_create(
            customer_id=message.customer_id, kind=kind
        )
        if any(item.get("message_id") == message.pk for item in signal.evidence):
            return signal
        now = timezone.now()
        elapsed_days = max(0.0, (now - signal.updated_at).total_seconds() / 86400)
        faded = signal.score * 0.5 ** (elapsed_days / HALF_LIFE_DAYS)
        if score >= EVIDENCE_AT:
            signal.score = signal_score_with_turn(faded, score)
            turn = {
                "message_id": message.pk,
                "score": round(score, 3),
                "at": message.sent_at.isoformat(),
                "channel": message.channel,
            }
            signal.evidence = [turn, *signal.evidence][:EVIDENCE_KEPT]
        else:
            signal.score = faded * ORDINARY_TURN_KEEPS
        signal.score = round(max(0.0, min(1.0, signal.score)), 4)
        signal.model_name, signal.updated_at = model_name, now
        signal.save(update_fields=["score", "evidence", "model_name", "updated_at"])
    return signal


def signal_score_with_turn(current: float, turn: float) -> float:
    """A signal after one more turn: evidence accumulates (two strong turns say more than
    one: 1 - (1-a)(1-b)); a turn under EVIDENCE_AT leaves it as it was."""
    if turn < EVIDENCE_AT:
        return current
    return 1 - (1 - current) * (1 - turn)


def customer_signals_merge(*, source_id: int, target_id: int) -> int:
    """Fold a merged-away customer's signals into the record that absorbs it: a kind both
    hold keeps the stronger reading with both sets of evidence (newest first), so a churn
    threat made under a second phone number is not lost by the merge. Returns how many moved."""
    target_signals = {
        signal.kind: signal
        for signal in CustomerSignal.objects.select_for_update(no_key=True).filter(
            customer_id=target_id
        )
    }
    moved = 0
    for signal in CustomerSignal.objects.select_for_update(no_key=True).filter(
        customer_id=source_id
    ):
        twin = target_signals.get(signal.kind)
        if twin is None:
            signal.customer_id = target_id
            signal.save(update_fields=["customer"])
        else:
            evidence = sorted(
                [*twin.evidence, *signal.evidence],
                key=lambda turn: turn.get("at", ""),
                reverse=True,
            )
            twin.score = round(max(twin.score, signal.score), 4)
            twin.evidence = evidence[:EVIDENCE_KEPT]
            twin.updated_at = max(twin.updated_at, signal.updated_at)
            twin.save(update_fields=["score", "evidence", "updated_at"])
            signal.delete()
        moved += 1
    return moved
