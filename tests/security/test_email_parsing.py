"""Inbound e-mail that the email package chokes on, or that would not fit its columns, is
stored in a form that fits (or refused with a 400), never a 500."""

from __future__ import annotations

import pytest

from memory.models import Message

pytestmark = pytest.mark.django_db

SENDER = "Ana Ruiz <ana@example.com>"


def mime(headers: str, body: str = "Where is my refund?") -> bytes:
    return (f"From: {SENDER}\r\nTo: help@shop.example\r\n{headers}\r\n\r\n{body}\r\n").encode()


def test_malformed_message_id_header_is_kept_as_its_raw_text(email_post):
    response = email_post({"email": mime("Message-ID: <[>\r\nSubject: refund")})

    assert response.status_code == 200, response.content
    message = Message.objects.get()
    assert message.provider_id == "<[>"


def test_unknown_charset_in_raw_mime_is_read_as_utf8(email_post):
    raw = (
        f"From: {SENDER}\r\nTo: help@shop.example\r\nMessage-ID: <c1@example.com>\r\n"
        "Content-Type: text/plain; charset=bogus\r\n\r\nMy parcel never came\r\n"
    ).encode()

    assert email_post({"email": raw}).status_code == 200
    assert Message.objects.get().text == "My parcel never came"


def test_overlong_message_ids_are_digested_and_still_thread(email_post):
    long_id = "<" + "x" * 400 + "@example.com>"
    first = email_post({"email": mime(f"Message-ID: {long_id}\r\nReferences: {long_id}")})
    reply = email_post(
        {
            "email": mime(
                f"Message-ID: <r2@example.com>\r\nIn-Reply-To: {long_id}\r\nReferences: {long_id}"
            )
        }
    )

    assert first.status_code == reply.status_code == 200
    stored, answered = Message.objects.order_by("pk")
    assert len(stored.provider_id) <= 300
    assert stored.conversation_id == answered.conversation_id


def test_nul_bytes_in_parsed_fields_are_dropped(email_post):
    response = email_post(
        {
            "from": SENDER,
            "to": "help@shop.example",
            "subject": "late\x00 order",
            "text": "It has been\x00 two weeks",
            "headers": "Message-ID: <n1@example.com>\x00\r\n",
        }
    )

    assert response.status_code == 200, response.content
    message = Message.objects.get()
    assert "\x00" not in message.text and message.text == "It has been two weeks"


def test_a_sender_address_longer_than_an_address_is_400(email_post):
    response = email_post({"from": "a" * 300 + "@example.com", "text": "hi"})

    assert response.status_code == 400
    assert not Message.objects.exists()


def test_a_charsets_field_json_cannot_read_is_ignored(email_post):
    fields = {"from": SENDER, "text": "hello", "charsets": "9" * 5000}

    assert email_post(fields).status_code == 200
    assert Message.objects.get().text == "hello"
