"""Automated e-mail (out-of-office notes, auto-responders, bulk and list mail, bounces) is
stored and shown but never answered, so two auto-responders cannot mail each other forever
(RFC 3834). Through the SendGrid Inbound Parse webhook and the pipeline after commit."""

from __future__ import annotations

import pytest

from memory.models import Channel, Message
from orchestrator.models import PipelineRun
from tests.channels_app.test_email_webhook import parse_fields

pytestmark = pytest.mark.django_db

TEXT = "Thank you for your message. I am away until Monday 30 November with no access to e-mail."


@pytest.mark.parametrize(
    ("extra_headers", "subject", "reason"),
    [
        ("Auto-Submitted: auto-replied\n", "Re: Order 88123", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: auto-generated\n", "Your ticket", "Auto-Submitted: auto-generated"),
        ("X-Autoreply: yes\n", "Re: Order 88123", "X-Autoreply: yes"),
        ("X-Autorespond: vacation\n", "Re: Order 88123", "X-Autorespond: vacation"),
        ("Precedence: bulk\n", "Weekly deals", "Precedence: bulk"),
        ("Precedence: junk\n", "Re: Order 88123", "Precedence: junk"),
        ("List-Id: <deals.shop.example>\n", "Deals", "List-Id: mailing list"),
        ("", "Out of Office: Re: Order 88123", "out-of-office subject"),
        ("", "Automatic reply: Order 88123", "out-of-office subject"),
        ("", "Ana Ruiz is out of the office", "out-of-office subject"),
        ("", "Abwesenheitsnotiz: Bestellung 88123", "out-of-office subject"),
        ("", "Réponse automatique : Commande 88123", "out-of-office subject"),
        ("", "Respuesta automática: Pedido 88123", "out-of-office subject"),
        ("", "Risposta automatica: Ordine 88123", "out-of-office subject"),
    ],
)
def test_automated_email_is_stored_but_never_answered(
    email_post, customer, django_capture_on_commit_callbacks, extra_headers, subject, reason
):
    message_id = "<auto-1@mail.example.com>"
    fields = parse_fields(
        message_id=message_id, text=TEXT, subject=subject, extra_headers=extra_headers
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert email_post(fields).status_code == 200

    message = Message.objects.get(channel=Channel.EMAIL, provider_id=message_id)
    assert message.text == TEXT
    assert message.channel_metadata["auto_reply"] == reason
    run = PipelineRun.objects.get(inbound_message=message)
    assert run.is_final
    assert run.decision["route"] == "no_reply"
    assert run.reply_message is None
    assert run.agent_runs.count() == 0
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()


def test_a_person_marking_mail_not_automated_is_answered(
    email_post, customer, django_capture_on_commit_callbacks
):
    """`Auto-Submitted: no` is what a person's mail says; an office-chair order is no
    out-of-office note."""
    fields = parse_fields(
        message_id="<person-1@mail.example.com>",
        text="Where is the office chair I ordered, order 88123?",
        subject="Office chair, order 88123",
        extra_headers="Auto-Submitted: no\n",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert email_post(fields).status_code == 200

    message = Message.objects.get(provider_id="<person-1@mail.example.com>")
    assert "auto_reply" not in message.channel_metadata
    assert PipelineRun.objects.get(inbound_message=message).reply_message is not None
    assert Message.objects.filter(direction=Message.Direction.OUTBOUND).count() == 1
