"""Change entries say who made the change, outside a request too: a Celery task's writes are
the task's, and a block inside a person's request hands the attribution back when it ends."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from memory.audit import acting_as
from memory.models import AuditEntry, Fact, SentimentReading
from memory.services import fact_assert
from orchestrator.tasks import message_process_inbound


def test_writes_made_by_a_celery_task_are_attributed_to_the_task(
    say, customer, django_capture_on_commit_callbacks
):
    message = say("my order 88123 arrived broken and I'm really unhappy about it")
    with django_capture_on_commit_callbacks(execute=True):
        message_process_inbound.delay(message.pk)
    readings = ContentType.objects.get_for_model(SentimentReading)
    written = AuditEntry.objects.filter(content_type=readings, action=AuditEntry.Action.CREATE)
    assert written.exists()
    labels = set(written.values_list("actor_label", flat=True))
    assert labels and all(label.startswith("task:orchestrator.") for label in labels), labels


def test_an_inner_attribution_hands_back_to_the_outer_one(customer):
    facts = ContentType.objects.get_for_model(Fact)
    with acting_as(label="api:crm"):
        with acting_as(label="task:inner"):
            fact_assert(customer=customer, key="plan", value="gold", asserted_by="agent")
        fact_assert(customer=customer, key="tier", value="vip", asserted_by="agent")
    labels = dict(
        AuditEntry.objects.filter(content_type=facts, action=AuditEntry.Action.CREATE).values_list(
            "object_repr", "actor_label"
        )
    )
    assert sorted(labels.values()) == ["api:crm", "task:inner"]
