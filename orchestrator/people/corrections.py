"""A person teaching automation: correcting the intent it read in a message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from memory.services import intent_correction_record
from orchestrator.models import PipelineRun

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from memory.models import IntentCorrection, Message


def message_intent_correct(*, message: Message, intent: str, user: User) -> IntentCorrection:
    """Keep a person's correction of a predicted intent, as a training example."""
    predicted = (
        PipelineRun.objects.filter(inbound_message=message)
        .values_list("decision__intent", flat=True)
        .first()
    )
    return intent_correction_record(
        message=message,
        corrected_intent=intent,
        predicted_intent=str(predicted or ""),
        corrected_by=user,
    )
