"""Response clocks that must not run: an ended call's (nobody can answer a caller who hung up)
and a snoozed conversation's (paused, running on from where it was on wake or reopen). Driven
through the real entry points: the signed Twilio status callback and the console's forms."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from channels_app.console.selectors import alerts_read
from channels_app.console.selectors.report import sla_report
from memory.models import Channel, Conversation, Handoff
from memory.services import message_record_inbound
from memory.services.handoffs import conversation_hand_off
from orchestrator.models import ResponseClock
from orchestrator.people.clocks import response_clock_start, sla_breaches_escalate
from tests.channels_app.conftest import new_sid

ACCOUNT = "AC" + "1" * 32


def _overdue_alerts(conversation: Conversation) -> list[str]:
    return [
        a.title for a in alerts_read() if a.kind == "sla" and a.conversation_id == conversation.pk
    ]


def _waiting_call(sid: str, *, waited: dt.timedelta) -> Conversation:
    call = message_record_inbound(
        channel=Channel.VOICE,
        sender="+14155550191",
        recipient="+14155550000",
        text="I need to speak to somebody",
        thread_key=sid,
    ).message.conversation
    conversation_hand_off(conversation=call, reason="asked for a person", requested_by="t")
    response_clock_start(conversation=call, waiting_since=timezone.now() - waited)
    return call


@pytest.mark.parametrize("status", ["completed", "no-answer", "busy"])
def test_an_ended_call_stops_its_clock_but_keeps_the_customers_handoff(twilio_post, status):
    sid = new_sid("CA")
    call = _waiting_call(sid, waited=dt.timedelta(hours=1))
    assert _overdue_alerts(call)  # the alert the call raises while it is still going

    response = twilio_post(
        "/twilio/voice/status/",
        {"CallSid": sid, "CallStatus": status, "AccountSid": ACCOUNT, "CallDuration": "42"},
    )

    assert response.status_code == 200
    clock = ResponseClock.objects.get(conversation=call)
    assert clock.state == ResponseClock.State.RELEASED
    assert clock.answered_at is None
    assert not _overdue_alerts(call)
    assert sla_breaches_escalate() == []  # the sweep finds nothing to escalate
    by_channel, _ = sla_report(since=timezone.now() - dt.timedelta(days=1))
    assert all(share.label != Channel.VOICE for share in by_channel)  # not a missed target
    # The handoff is the customer's, not the call's: it is still waiting for a person.
    handoff = Handoff.objects.get(conversation=call)
    assert handoff.status != Handoff.Status.RELEASED


def test_a_ringing_status_leaves_the_clock_running(twilio_post):
    sid = new_sid("CA")
    call = _waiting_call(sid, waited=dt.timedelta(hours=1))
    twilio_post(
        "/twilio/voice/status/",
        {"CallSid": sid, "CallStatus": "in-progress", "AccountSid": ACCOUNT},
    )
    assert ResponseClock.objects.get(conversation=call).state == ResponseClock.State.RUNNING
    assert _overdue_alerts(call)


def test_a_late_waiting_task_does_not_restart_the_clock_of_an_ended_call(twilio_post):
    sid = new_sid("CA")
    call = _waiting_call(sid, waited=dt.timedelta(minutes=1))
    twilio_post(
        "/twilio/voice/status/", {"CallSid": sid, "CallStatus": "completed", "AccountSid": ACCOUNT}
    )
    from orchestrator.tasks import conversation_waiting

    assert conversation_waiting.apply(args=(call.pk, timezone.now().isoformat())).get() is None
    assert not ResponseClock.objects.filter(conversation=call, state="running").exists()


# Snoozing pauses the clock ------------------------------------------------------------------------


def _waiting_sms(handed_off, *, waited: dt.timedelta) -> tuple[Conversation, ResponseClock]:
    conversation = handed_off(sender="+14155550192")
    clock = response_clock_start(conversation=conversation, waiting_since=timezone.now() - waited)
    assert clock is not None
    return conversation, clock


def test_a_snoozed_conversation_raises_no_overdue_alert(boss, client_as, handed_off):
    conversation, clock = _waiting_sms(handed_off, waited=dt.timedelta(hours=2))
    assert _overdue_alerts(conversation)
    client = client_as(boss)
    url = f"/console/conversations/{conversation.pk}/"

    assert client.post(url + "snooze/", {"preset": "1h"}).status_code == 302

    assert not _overdue_alerts(conversation)
    assert sla_breaches_escalate() == []  # no breach escalated while it sleeps
    clock.refresh_from_db()
    assert clock.breached_at is None and clock.state == ResponseClock.State.RUNNING
    page = client.get("/console/").context["page"]
    overdue = next((g.alerts for g in page.alerts if g.kind == "sla"), ())
    assert all(a.conversation_id != conversation.pk for a in overdue)

    # Reopened: the clock runs on, as late as it was when snoozed, and escalates.
    assert client.post(url + "reopen/").status_code == 302
    assert _overdue_alerts(conversation)
    assert [c.pk for c in sla_breaches_escalate()] == [clock.pk]


def test_the_clock_keeps_the_time_it_had_left_across_a_snooze(boss, client_as, handed_off):
    conversation, clock = _waiting_sms(handed_off, waited=dt.timedelta(seconds=30))
    left = clock.due_at - timezone.now()
    assert left > dt.timedelta(seconds=60)
    client = client_as(boss)
    url = f"/console/conversations/{conversation.pk}/"

    client.post(url + "snooze/", {"preset": "4h"})
    clock.refresh_from_db()
    work_until = conversation.work.snoozed_until
    # Paused: due the time it had left after the snooze ends, not before.
    assert abs((clock.due_at - work_until) - left) < dt.timedelta(seconds=5)
    # Woken early by reopening: the unused pause is given back.
    client.post(url + "reopen/")
    clock.refresh_from_db()
    assert abs((clock.due_at - timezone.now()) - left) < dt.timedelta(seconds=5)


def test_a_second_snooze_pauses_once_not_twice(boss, client_as, handed_off):
    conversation, clock = _waiting_sms(handed_off, waited=dt.timedelta(seconds=30))
    left = clock.due_at - timezone.now()
    client = client_as(boss)
    url = f"/console/conversations/{conversation.pk}/"
    client.post(url + "snooze/", {"preset": "4h"})
    client.post(url + "snooze/", {"preset": "1h"})
    clock.refresh_from_db()
    conversation.work.refresh_from_db()
    assert abs((clock.due_at - conversation.work.snoozed_until) - left) < dt.timedelta(seconds=5)


def test_the_customer_writing_wakes_it_and_the_clock_runs_on_from_then(boss, client_as, handed_off):
    conversation, clock = _waiting_sms(handed_off, waited=dt.timedelta(seconds=30))
    left = clock.due_at - timezone.now()
    client = client_as(boss)
    client.post(f"/console/conversations/{conversation.pk}/snooze/", {"preset": "4h"})
    turn = message_record_inbound(
        channel=Channel.SMS,
        sender="+14155550192",
        recipient="+14155550000",
        text="hello? anyone there?",
    ).message
    assert turn.conversation_id == conversation.pk
    from orchestrator.tasks import conversation_waiting

    # The task the pipeline enqueues when a customer waits for a person.
    assert conversation_waiting.apply(args=(conversation.pk, turn.sent_at.isoformat())).get() == (
        clock.pk
    )
    clock.refresh_from_db()
    assert abs((clock.due_at - timezone.now()) - left) < dt.timedelta(seconds=5)
    conversation.work.refresh_from_db()
    assert conversation.work.status == "open"
    # Given back once: the next turn changes nothing.
    conversation_waiting.apply(args=(conversation.pk, timezone.now().isoformat())).get()
    due = clock.due_at
    clock.refresh_from_db()
    assert clock.due_at == due
