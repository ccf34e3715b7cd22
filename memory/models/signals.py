"""Signals on a customer that the contact center acts on: the risk they leave (churn) and how
ready they are to buy, each with the turns that showed it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

HIGH_AT = 0.7
MEDIUM_AT = 0.4


class CustomerSignal(models.Model):
    """One signal's current strength for one customer, and the evidence behind it.

    `evidence` lists the turns that raised it, newest first: {"message_id", "score", "at",
    "channel"}. The score fades with time and with ordinary turns (see
    `memory.services.signals`), so a threat made months ago no longer reads as one.
    """

    class Kind(models.TextChoices):
        CHURN_RISK = "churn_risk", "Churn risk"
        BUYING_INTENT = "buying_intent", "Buying intent"

    customer = models.ForeignKey(
        "memory.Customer", on_delete=models.CASCADE, related_name="customer_signals"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    score = models.FloatField(default=0.0, help_text="0 (no sign) to 1 (certain).")
    evidence = models.JSONField(default=list, blank=True)
    model_name = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-score"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"], name="customer_signal_one_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=1), name="customer_signal_score_in_range"
            ),
        ]
        indexes = [models.Index(fields=["kind", "-score"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.level} ({self.score:.2f})"

    @property
    def level(self) -> str:
        return signal_level(self.score)

    @property
    def evidence_message_ids(self) -> list[int]:
        return [int(item["message_id"]) for item in self.evidence if "message_id" in item]


def signal_level(score: float) -> str:
    """ "high", "medium" or "low": the words the console and rules use for a score."""
    return "high" if score >= HIGH_AT else "medium" if score >= MEDIUM_AT else "low"
