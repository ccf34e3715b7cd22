"""One owner per action: an action's rows, events and follow-ups happen whoever calls it, the
admin, the console or automation."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from memory import events
from memory.models import Customer
from memory.services import customer_merge
from orchestrator.models import ResponseClock
from orchestrator.people import queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[events.Event]:
    """Every event sent, whatever module sent it (all go through `memory.events.publish`)."""
    sent: list[events.Event] = []
    real = events.publish

    def record(event: events.Event, *, groups=()) -> None:
        sent.append(event)
        real(event, groups=groups)

    for module in ("memory.services.customers", "orchestrator.people.queue"):
        monkeypatch.setattr(f"{module}.publish", record)
    return sent


def test_a_merge_from_the_admin_tells_the_console_like_one_from_the_console(
    published, make_customer, client_as, boss
):
    older = make_customer(name="Ana Ruiz")
    newer = make_customer(name="Ana R.")
    User.objects.filter(pk=boss.pk).update(is_staff=True, is_superuser=True)
    response = client_as(boss).post(
        "/admin/memory/customer/",
        {"action": "merge_selected", "_selected_action": [older.pk, newer.pk]},
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk=newer.pk).merged_into_id == older.pk
    merged = [e for e in published if isinstance(e, events.CustomerMerged)]
    assert [(e.customer_id, e.source_customer_id) for e in merged] == [(older.pk, newer.pk)]
    assert merged[0].merged_by == "user:boss"


def test_an_automatic_merge_publishes_too(published, make_customer):
    older, newer = make_customer(), make_customer()
    customer_merge(source=newer, target=older, merged_by="agent:entities", reason="stated email")
    assert [type(e) for e in published] == [events.CustomerMerged]


def test_reassigning_a_conversation_nobody_held_opens_a_handoff_and_starts_its_clock(
    published, inbound_sms, boss, agent
):
    message = inbound_sms(sender="+14155550301", text="where is my parcel")
    queue.handoff_reassign(conversation=message.conversation, to_user=agent, by=boss)
    clock = ResponseClock.objects.get(conversation_id=message.conversation_id)
    assert clock.state == ResponseClock.State.RUNNING and clock.agent == agent
    assert any(isinstance(e, events.ConversationAssigned) for e in published)
