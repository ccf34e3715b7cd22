"""A sender whose From header carries no name is known by the full name they sign with."""

from __future__ import annotations

import pytest

from channels_app.services import signed_full_name
from memory.models import Channel, Message

pytestmark = pytest.mark.django_db


def mail(text: str) -> dict[str, str]:
    return {
        "from": "bpettersen@example.net",
        "to": "support@school.example",
        "subject": "locker",
        "text": text,
        "headers": "Message-ID: <bram-1@example.net>\n",
    }


def test_an_email_signed_with_a_full_name_names_the_new_customer(
    email_post, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        body = "Hello,\n\nThe locker is still not sorted.\n\nSpeak soon,\nBram Pettersen\nParent"
        assert email_post(mail(body)).status_code == 200

    message = Message.objects.get(channel=Channel.EMAIL, direction=Message.Direction.INBOUND)
    assert message.customer.display_name == "Bram Pettersen"


@pytest.mark.parametrize(
    ("sign_off", "name"),
    [
        ("Thanks in advance,\nIda Lund\nParalegal | North Analytics", "Ida Lund"),
        ("Ta,\nJoaquin Valdivia", "Joaquin Valdivia"),
        ("Best wishes,\nBram", ""),  # a first name alone says too little
        ("Sent from my iPad", ""),
        ("Regards,\nthe accounts team at North Analytics", ""),
    ],
)
def test_only_a_first_and_last_name_under_the_closing_counts(sign_off: str, name: str) -> None:
    assert signed_full_name(sign_off) == name
