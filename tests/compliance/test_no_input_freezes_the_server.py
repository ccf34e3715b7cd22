"""No input freezes the server: a 200,000-character e-mail goes through the SendGrid webhook, the
pipeline and a masked context read in linear time, and a 2 MB fact written over the API is read
back at once. The timings are generous; what they prove is the shape: four times the input never
costs anywhere near sixteen times the time, as the quadratic e-mail pattern did.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.test import Client
from rest_framework.test import APIClient

from memory.actors import Partition, UserActor
from memory.models import Channel, Customer, Fact, Message
from memory.selectors import context_read
from memory.services.clients import api_client_create
from memory.text_limits import CUT_MARK
from tests.channels_app.conftest import BOUNDARY, basic_auth, multipart_body

pytestmark = pytest.mark.django_db

# Generous for a loaded two-core machine: the pattern this replaces took about a minute on the
# 200,000-character e-mail alone.
BOUND_SECONDS = 15.0
# Linear work on four times the input takes about four times as long (less, with the caps);
# quadratic work takes sixteen.
RATIO_BOUND = 8.0

ADVERSARIAL_BODIES = {
    "one long token": lambda n: "token:" + "A" * n,
    "dotted letters": lambda n: "a." * (n // 2),
    "digits": lambda n: "4" * n,
    "spaced digits": lambda n: "1 " * (n // 2),
}
NO_PII = frozenset(Partition) - {Partition.PII}


def _fields(body: str) -> dict[str, str]:
    message_id = f"<{uuid.uuid4().hex}@mail.example>"
    return {
        "headers": (
            f"Message-ID: {message_id}\nDate: Tue, 24 Nov 2026 09:12:00 +0000\n"
            "From: Ana Ruiz <ana@example.com>\nTo: support@shop.example\nSubject: long"
        ),
        "from": "Ana Ruiz <ana@example.com>",
        "to": "support@shop.example",
        "subject": "long",
        "envelope": json.dumps({"to": ["support@shop.example"], "from": "ana@example.com"}),
        "charsets": json.dumps(
            {"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "UTF-8"}
        ),
        "text": body,
    }


@pytest.fixture
def email_post(client: Client) -> Callable[[dict[str, str]], Any]:
    """POST an Inbound Parse body to the webhook, with the configured basic auth."""

    def post(fields: dict[str, str]) -> Any:
        return client.generic(
            "POST",
            "/email/inbound/",
            multipart_body(dict(fields)),
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
            headers={"Authorization": basic_auth()},
        )

    return post


@pytest.fixture
def reader(db) -> UserActor:
    """A person who may read every partition but `pii`: contact details reach them masked."""
    person = User.objects.create_user("lee", password="correct horse battery")
    person.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="memory",
            codename__in=[f"read_context_{p.value}" for p in NO_PII],
        )
    )
    return UserActor.of(User.objects.get(pk=person.pk))  # permissions freshly cached


def _deliver_and_read(
    email_post, reader: UserActor, customer: Customer, body: str, capture
) -> tuple[float, str]:
    """Seconds from the webhook to a masked context read, with the pipeline run inline."""
    started = time.perf_counter()
    with capture(execute=True):
        response = email_post(_fields(body))
    assert response.status_code == 200
    pack = context_read(
        actor=reader,
        customer=customer,
        partitions=[p.value for p in NO_PII],
        purpose="read after a very long e-mail",
    )
    rendered = pack.render_text() + json.dumps(pack.to_json())
    return time.perf_counter() - started, rendered


@pytest.mark.parametrize("shape", list(ADVERSARIAL_BODIES))
def test_a_200k_character_email_is_stored_answered_and_read_in_linear_time(
    email_post, reader, customer, django_capture_on_commit_callbacks, shape
):
    make = ADVERSARIAL_BODIES[shape]
    small, _ = _deliver_and_read(
        email_post, reader, customer, make(50_000), django_capture_on_commit_callbacks
    )
    large, rendered = _deliver_and_read(
        email_post, reader, customer, make(200_000), django_capture_on_commit_callbacks
    )

    assert large < BOUND_SECONDS, f"{shape}: 200k characters took {large:.1f}s"
    assert large < RATIO_BOUND * max(small, 0.25), f"{shape}: {small:.2f}s -> {large:.2f}s"
    message = Message.objects.filter(
        channel=Channel.EMAIL, direction=Message.Direction.INBOUND
    ).latest("pk")
    # Agents read the first RAPPORT_MAX_MESSAGE_CHARS; the e-mail as it came is kept whole.
    assert len(message.text) <= settings.RAPPORT_MAX_MESSAGE_CHARS + len(CUT_MARK)
    assert message.raw_text == make(200_000).strip()
    # The pipeline answered it, and the read was a real one over the long turn.
    assert message.conversation.messages.filter(direction=Message.Direction.OUTBOUND).exists()
    assert "Ana" in rendered


def test_an_email_address_in_a_long_email_is_still_masked(
    email_post, reader, customer, django_capture_on_commit_callbacks
):
    body = "x " * 5_000 + "write to bo.rivera@example.net about it " + "y " * 5_000
    _, rendered = _deliver_and_read(
        email_post, reader, customer, body, django_capture_on_commit_callbacks
    )
    assert "bo.rivera@example.net" not in rendered and "b***@example.net" in rendered


def test_a_2mb_fact_written_over_the_api_is_cut_and_read_back_at_once(customer):
    http = APIClient()
    token = api_client_create(name="crm", scopes="business", created_by="system:test").token
    http.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    url = f"/api/customers/{customer.pk}/facts/"
    etag = http.get(url).headers["ETag"]
    huge = "token:" + "A" * 2_000_000

    written = http.post(url, {"key": "note", "value": huge}, format="json", HTTP_IF_MATCH=etag)

    assert written.status_code == 201
    stored = Fact.objects.get(customer=customer, key="note", valid_until=None).value
    assert len(stored) <= settings.RAPPORT_MAX_FACT_CHARS + len(CUT_MARK)
    started = time.perf_counter()
    context = http.get(f"/api/customers/{customer.pk}/context?partitions=business")
    assert context.status_code == 200
    assert time.perf_counter() - started < BOUND_SECONDS / 4
