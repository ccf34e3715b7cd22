"""What the webhook stored is recorded as a message exactly once: by the queued task, by the
request itself when the broker is away, or by the sweeper when the queue lost the task."""

from __future__ import annotations

import pytest

from channels_app.models import InboundDelivery
from channels_app.tasks import inbound_record, inbound_sweep
from memory.models import Message
from orchestrator.models import PipelineRun
from tests.channels_app.conftest import sms_params

pytestmark = pytest.mark.django_db


def test_a_delivery_whose_task_was_lost_is_recorded_once_by_the_sweeper(
    twilio_post, customer, settings, django_capture_on_commit_callbacks
):
    params = sms_params()
    with django_capture_on_commit_callbacks(execute=False):  # the task never reaches a worker
        assert twilio_post("/twilio/sms/", params).status_code == 200
    assert not Message.objects.filter(provider_id=params["MessageSid"]).exists()

    settings.INBOUND_SWEEP_GRACE_SECONDS = 60
    assert inbound_sweep.delay().get() == 0  # not yet: its task may still be on its way

    settings.INBOUND_SWEEP_GRACE_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound_sweep.delay().get() == 1
    message = Message.objects.get(provider_id=params["MessageSid"])
    assert PipelineRun.objects.get(inbound_message=message).status == PipelineRun.Status.REPLIED

    with django_capture_on_commit_callbacks(execute=True):
        assert inbound_sweep.delay().get() == 0
        inbound_record.delay(InboundDelivery.objects.get().pk)  # a late duplicate task
    assert Message.objects.filter(provider_id=params["MessageSid"]).count() == 1
    assert Message.objects.filter(direction=Message.Direction.OUTBOUND).count() == 1


def test_with_the_broker_away_the_request_records_the_message_itself(
    twilio_post, customer, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Error 111 connecting to redis")

    monkeypatch.setattr(inbound_record, "delay", broker_down)
    params = sms_params()
    with django_capture_on_commit_callbacks(execute=True):
        assert twilio_post("/twilio/sms/", params).status_code == 200
    message = Message.objects.get(provider_id=params["MessageSid"])
    assert message.customer == customer
    assert InboundDelivery.objects.get(provider_id=params["MessageSid"]).recorded_at is not None


def test_an_address_that_cannot_be_an_identity_is_refused_at_the_edge(twilio_post):
    response = twilio_post("/twilio/sms/", sms_params(From="+1555"))
    assert response.status_code == 400
    assert not InboundDelivery.objects.exists()
