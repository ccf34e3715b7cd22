"""Inbound e-mail through HTTP: credentials, the optional ECDSA signature, threading by
In-Reply-To/References, and the new part of real-looking replies (quotes, signatures,
HTML-only, multipart MIME, a non-UTF-8 charset).
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from channels_app.inbound_email import reply_new_part
from memory.models import Channel, Message
from tests.channels_app.conftest import BOUNDARY, basic_auth, multipart_body

pytestmark = pytest.mark.django_db

FIRST_ID = "<CAH1first@mail.gmail.com>"


def parse_fields(
    *,
    message_id: str,
    text: str = "",
    html: str = "",
    extra_headers: str = "",
    subject: str = "Order 88123",
    charsets: dict | None = None,
) -> dict:
    headers = (
        f"Received: by mx.sendgrid.net\nMessage-ID: {message_id}\n"
        f"Date: Tue, 24 Nov 2026 09:12:00 +0000\nFrom: Ana Ruiz <ana@example.com>\n"
        f"To: support@shop.example\nSubject: {subject}\n{extra_headers}"
    )
    fields = {
        "headers": headers,
        "from": "Ana Ruiz <ana@example.com>",
        "to": "support@shop.example",
        "subject": subject,
        "envelope": json.dumps({"to": ["support@shop.example"], "from": "ana@example.com"}),
        "charsets": json.dumps(
            charsets or {"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "UTF-8"}
        ),
        "spam_score": "0.1",
        "SPF": "pass",
    }
    if text:
        fields["text"] = text
    if html:
        fields["html"] = html
    return fields


def test_email_is_stored_with_new_part_and_raw_text_and_replied_after_commit(
    email_post, customer, django_capture_on_commit_callbacks
):
    text = (
        "Hi, the replacement for order 88123 still hasn't shipped.\n"
        "Please send it to 9 Elm St.\n\n"
        "Thanks,\nAna Ruiz\nHead of Ops | Ruiz Ltd\n\n"
        "On Mon, Nov 23, 2026 at 4:02 PM Shop Support <support@shop.example> wrote:\n"
        "> Hi Ana,\n> Your replacement is on its way.\n"
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = email_post(parse_fields(message_id=FIRST_ID, text=text))
    assert response.status_code == 200
    message = Message.objects.get(channel=Channel.EMAIL, provider_id=FIRST_ID)
    assert message.customer == customer
    assert message.text == (
        "Hi, the replacement for order 88123 still hasn't shipped.\nPlease send it to 9 Elm St."
    )
    assert "Your replacement is on its way." in message.raw_text
    assert message.conversation.subject == "Order 88123"
    assert message.conversation.thread_key == FIRST_ID
    assert callbacks  # the orchestrator, then the reply's delivery, ran after commit
    assert message.conversation.messages.filter(direction=Message.Direction.OUTBOUND).count() == 1


def test_reply_threads_into_the_same_conversation_by_in_reply_to_and_references(
    email_post, customer
):
    email_post(parse_fields(message_id=FIRST_ID, text="Where is order 88123?"))
    first = Message.objects.get(provider_id=FIRST_ID)
    reply_headers = (
        f"In-Reply-To: <ours-1@shop.example>\nReferences: {FIRST_ID} <ours-1@shop.example>\n"
    )
    email_post(
        parse_fields(
            message_id="<CAH2second@mail.gmail.com>",
            text="Any news?",
            subject="Re: Order 88123",
            extra_headers=reply_headers,
        )
    )
    second = Message.objects.get(provider_id="<CAH2second@mail.gmail.com>")
    assert second.conversation_id == first.conversation_id

    only_reply_to = "In-Reply-To: <CAH2second@mail.gmail.com>\n"
    email_post(parse_fields(message_id="<CAH3@x>", text="Hello?", extra_headers=only_reply_to))
    assert Message.objects.get(provider_id="<CAH3@x>").conversation_id == first.conversation_id

    email_post(parse_fields(message_id="<CAH4new@x>", text="A new question", subject="Billing"))
    assert Message.objects.get(provider_id="<CAH4new@x>").conversation_id != first.conversation_id


def test_retried_post_is_stored_once(email_post, customer):
    fields = parse_fields(message_id=FIRST_ID, text="Where is order 88123?")
    assert email_post(fields).status_code == 200
    assert email_post(fields).status_code == 200
    assert Message.objects.filter(provider_id=FIRST_ID).count() == 1


def test_html_only_email_is_read_as_text_without_the_quoted_history(email_post, customer):
    html = (
        "<html><head><style>p{color:red}</style></head><body>"
        "<div dir='ltr'>Please cancel order <b>88123</b>.<br>I found it cheaper elsewhere.</div>"
        "<div class='gmail_quote'><div>On Mon, Support wrote:</div>"
        "<blockquote type='cite'>Your order has shipped.</blockquote></div></body></html>"
    )
    email_post(parse_fields(message_id=FIRST_ID, html=html))
    message = Message.objects.get(provider_id=FIRST_ID)
    assert message.text == "Please cancel order 88123.\nI found it cheaper elsewhere."
    assert "color:red" not in message.text


def test_non_utf8_charset_is_decoded_as_declared(email_post, customer):
    text = "Bonjour, la commande 88123 est arrivée abîmée. Merci de me répondre.".encode("latin-1")
    fields = parse_fields(
        message_id=FIRST_ID,
        subject="Commande abîmée",
        charsets={"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "iso-8859-1"},
    )
    fields["text"] = text
    assert email_post(fields).status_code == 200
    message = Message.objects.get(provider_id=FIRST_ID)
    assert message.text == "Bonjour, la commande 88123 est arrivée abîmée. Merci de me répondre."
    assert message.conversation.subject == "Commande abîmée"


def test_raw_multipart_mime_uses_the_plain_part_and_decodes_its_charset(email_post, customer):
    raw = (
        "Message-ID: <mime-1@mail.example.com>\r\n"
        "From: Ana Ruiz <ana@example.com>\r\nTo: support@shop.example\r\n"
        "Subject: =?iso-8859-1?q?Livraison_retard=E9e?=\r\n"
        f"In-Reply-To: {FIRST_ID}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
        "--alt\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Le colis est toujours en retard, d=E9sol=E9e.\r\n\r\n"
        "-- \r\nAna Ruiz\r\n+1 415 555 0101\r\n"
        "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>Le colis est toujours en retard.</p>\r\n--alt--\r\n"
    ).encode("ascii")
    assert email_post({"email": raw, "to": "support@shop.example"}).status_code == 200
    message = Message.objects.get(provider_id="<mime-1@mail.example.com>")
    assert message.text == "Le colis est toujours en retard, désolée."
    assert message.conversation.subject == "Livraison retardée"
    assert message.conversation.thread_key == FIRST_ID


@pytest.mark.parametrize(
    ("raw", "new"),
    [
        ("Yes please.\n\nSent from my iPhone\n\n> Do you want a refund?", "Yes please."),
        (
            "Fine by me.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nBlah",
            "Fine by me.",
        ),
        (
            "Ok.\n\nFrom: Support <s@shop.example>\nSent: Monday, 3 PM\nTo: Ana\nOld text",
            "Ok.",
        ),
        ("Please freeze until June 10.\n\nTheo", "Please freeze until June 10."),
        (
            "Confirming move MV-30417.\n\nRegards,\nPriya Venkataraman\n"
            "This message is confidential.",
            "Confirming move MV-30417.",
        ),
        (
            "Deliver to 44 Cormorant Rd? Thank you, June",
            "Deliver to 44 Cormorant Rd? Thank you, June",
        ),
    ],
)
def test_reply_new_part(raw, new):
    assert reply_new_part(raw) == new


def test_missing_credentials_get_401_and_wrong_ones_403(email_post):
    fields = parse_fields(message_id=FIRST_ID, text="hello")
    assert email_post(fields, auth="").status_code == 401
    assert email_post(fields, auth=basic_auth(password="guess")).status_code == 403
    assert email_post(fields, auth=basic_auth(user="other")).status_code == 403
    assert not Message.objects.exists()


def test_missing_sender_gets_400(email_post):
    fields = parse_fields(message_id=FIRST_ID, text="hello")
    del fields["from"]
    assert email_post(fields).status_code == 400


def test_oversized_email_gets_413(email_post, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 4096
    response = email_post(parse_fields(message_id=FIRST_ID, text="x" * 5000))
    assert response.status_code == 413
    assert not Message.objects.exists()


class TestSignedWebhook:
    """SendGrid's signed-webhook policy: ECDSA P-256 over timestamp + body."""

    @pytest.fixture
    def private_key(self, settings):
        key = ec.generate_private_key(ec.SECP256R1())
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        settings.SENDGRID_WEBHOOK_PUBLIC_KEY = base64.b64encode(der).decode()
        return key

    def signed_post(self, client, key, body: bytes, timestamp: str, tamper: bytes = b""):
        signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return client.generic(
            "POST",
            "/email/inbound/",
            body + tamper,
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
            headers={
                "Authorization": basic_auth(),
                "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            },
        )

    def test_valid_signature_is_accepted(self, client, private_key, customer):
        body = multipart_body(parse_fields(message_id=FIRST_ID, text="signed hello"))
        assert self.signed_post(client, private_key, body, str(int(time.time()))).status_code == 200
        assert Message.objects.filter(provider_id=FIRST_ID).exists()

    def test_tampered_body_is_refused(self, client, private_key):
        body = multipart_body(parse_fields(message_id=FIRST_ID, text="signed hello"))
        response = self.signed_post(client, private_key, body, str(int(time.time())), b"x")
        assert response.status_code == 403

    def test_stale_timestamp_is_refused(self, client, private_key):
        body = multipart_body(parse_fields(message_id=FIRST_ID, text="signed hello"))
        stale = str(int(time.time()) - 3600)
        assert self.signed_post(client, private_key, body, stale).status_code == 403

    def test_other_key_is_refused(self, client, private_key):
        body = multipart_body(parse_fields(message_id=FIRST_ID, text="signed hello"))
        other = ec.generate_private_key(ec.SECP256R1())
        assert self.signed_post(client, other, body, str(int(time.time()))).status_code == 403

    def test_unsigned_post_is_refused_when_the_policy_is_on(self, email_post, private_key):
        assert email_post(parse_fields(message_id=FIRST_ID, text="hello")).status_code == 403
        assert not Message.objects.exists()
