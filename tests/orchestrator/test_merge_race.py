"""Two messages that prove the same two records are one customer, merged at once: the run that
loses the race retries and finds the records already one, instead of failing. PostgreSQL only
(the other run commits its merge from another connection)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from config.celery import app as celery_app
from memory import services
from memory.models import Customer, CustomerMerge, Message
from memory.services import proposals
from orchestrator.models import PipelineRun
from orchestrator.tasks import message_process_inbound

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


@pytest.fixture
def retries_inline():
    """Eager Celery re-runs a retried task inline only when it does not propagate the Retry."""
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = True


def test_a_merge_another_run_made_first_is_retried_not_failed(say, monkeypatch, retries_inline):
    elif_ = services.customer_create(
        display_name="Elif Oyelowo",
        identities=[("phone", "+17015550141"), ("email", "elif80@example.com")],
        source="crm",
    )
    services.case_open(customer=elif_, kind="order", reference="HO-364415")
    message = say(
        "Elif Oyelowo here on my neighbour's phone, about order HO-364415",
        sender="+12075550163",
        provider_id="SM" + "e" * 32,
    )
    stranger_id = message.customer_id
    real_merge = proposals.customer_merge
    raced: list[int] = []

    def merge_after_another_run(*, source, target, merged_by, reason=""):
        if not raced:
            # Another message's run merges the same records and commits first.
            def other_run() -> None:
                try:
                    real_merge(
                        source=Customer.objects.get(pk=source.pk),
                        target=Customer.objects.get(pk=target.pk),
                        merged_by="agent:other-run",
                        reason="the same evidence in another message",
                    )
                finally:
                    connection.close()

            thread = threading.Thread(target=other_run)
            thread.start()
            thread.join(timeout=20)
            raced.append(source.pk)
        return real_merge(source=source, target=target, merged_by=merged_by, reason=reason)

    monkeypatch.setattr(proposals, "customer_merge", merge_after_another_run)

    message_process_inbound.delay(message.pk)

    assert raced == [stranger_id]
    run = PipelineRun.objects.get(inbound_message=message)
    assert run.status == PipelineRun.Status.REPLIED
    assert Customer.objects.get(pk=stranger_id).merged_into_id == elif_.pk
    assert CustomerMerge.objects.filter(source_customer_id=stranger_id).count() == 1
    message.refresh_from_db()
    assert message.customer_id == elif_.pk
    assert Message.objects.filter(direction=Message.Direction.OUTBOUND).count() == 1
